package ipc

import (
	"testing"
	"time"
	"unsafe"
)

// shortTimeout is the channel timeout of the tests that wait for it to pass.
const shortTimeout = 200 * time.Millisecond

// TestMailboxLayout pins the layout that the C reference shares.
func TestMailboxLayout(t *testing.T) {
	for _, c := range []struct{ size, stride int }{{1, 64}, {56, 64}, {57, 128}, {64, 128}, {1 << 20, 1<<20 + 64}} {
		if got := mailboxStride(c.size); got != c.stride {
			t.Errorf("size %d: stride %d, want %d", c.size, got, c.stride)
		}
		if got := mailboxMapSize(c.size); got != 2*c.stride {
			t.Errorf("size %d: mapping %d, want %d", c.size, got, 2*c.stride)
		}
	}
	mem := make([]byte, mailboxMapSize(64))
	base := uintptr(unsafe.Pointer(&mem[0]))
	for i, off := range []uintptr{0, 128} {
		b := mailboxAt(mem, i, 64)
		if got := uintptr(unsafe.Pointer(b.state)) - base; got != off {
			t.Errorf("mailbox %d: state at %d, want %d", i, got, off)
		}
		if got := uintptr(unsafe.Pointer(b.length)) - base; got != off+4 {
			t.Errorf("mailbox %d: length at %d, want %d", i, got, off+4)
		}
		if got := uintptr(unsafe.Pointer(&b.data[0])) - base; got != off+8 || len(b.data) != 64 {
			t.Errorf("mailbox %d: data at %d (%d bytes), want %d (64)", i, got, len(b.data), off+8)
		}
	}
}
