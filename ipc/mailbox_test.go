package ipc

import (
	"errors"
	"os"
	"testing"
	"time"
	"unsafe"
)

// Checks shared by the tests of posix_mq, sysv_msg, posix_shm, mmap and
// sysv_shm. Each drives both ends of a real channel from this process.

// joinInProcess makes a channel of mechanism name and joins it from this
// same process, so a test can drive both ends (and misuse them) directly.
// The channel is closed, and checked to leave nothing, at the test's end.
func joinInProcess(t *testing.T, name string, size int, timeout time.Duration) (creator, peer Endpoint) {
	t.Helper()
	m, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := newChannel(name, size, timeout)
	if err != nil {
		t.Fatal(err)
	}
	creator, err = m.Create(ch)
	if err != nil {
		ch.Close()
		t.Fatalf("creating %s channel: %v", name, err)
	}
	peer, err = m.Join(ch)
	if err != nil {
		creator.Close()
		ch.Close()
		t.Fatalf("joining %s channel: %v", name, err)
	}
	t.Cleanup(func() {
		if err := peer.Close(); err != nil {
			t.Errorf("closing peer endpoint: %v", err)
		}
		if err := creator.Close(); err != nil {
			t.Errorf("closing creator endpoint: %v", err)
		}
		if err := ch.Close(); err != nil {
			t.Errorf("closing channel: %v", err)
		}
		if left := ownLeftovers(t, os.Getpid()); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	return creator, peer
}

// checkShortMessage: a message shorter than the receiver expects is corrupt.
func checkShortMessage(t *testing.T, name string) {
	creator, peer := joinInProcess(t, name, 64, time.Second)
	if err := peer.Send(make([]byte, 10)); err != nil {
		t.Fatalf("sending 10 bytes: %v", err)
	}
	if err := creator.Recv(make([]byte, 64)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("receiving a 10-byte message as 64 bytes: got %v, want ErrCorrupt", err)
	}
}

// checkLongMessage: a message longer than the channel's size is refused.
func checkLongMessage(t *testing.T, name string) {
	creator, _ := joinInProcess(t, name, 64, time.Second)
	if err := creator.Send(make([]byte, 65)); err == nil {
		t.Fatal("sending 65 bytes on a 64-byte channel succeeded")
	}
}

const shortTimeout = 200 * time.Millisecond

// checkRecvTimesOut: a receive from an empty channel ends with the timeout.
func checkRecvTimesOut(t *testing.T, name string) {
	creator, _ := joinInProcess(t, name, 64, shortTimeout)
	start := time.Now()
	err := creator.Recv(make([]byte, 64))
	waited := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if waited < shortTimeout/2 || waited > 10*shortTimeout {
		t.Errorf("gave up after %v with a timeout of %v", waited, shortTimeout)
	}
}

// checkSendTimesOut: sends that nobody receives end with the timeout once the
// channel is full.
func checkSendTimesOut(t *testing.T, name string) {
	creator, _ := joinInProcess(t, name, 64, shortTimeout)
	msg := make([]byte, 64)
	var err error
	sent := 0
	for ; sent <= mqMaxMsg && err == nil; sent++ {
		err = creator.Send(msg)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("after %d sends nobody receives: got %v, want a deadline error", sent, err)
	}
}

// checkInterrupt: Interrupt wakes a Recv blocked on an empty channel whose
// timeout is far away, and the channel still closes cleanly.
func checkInterrupt(t *testing.T, name string) error {
	creator, _ := joinInProcess(t, name, 64, time.Hour)
	in, ok := creator.(Interrupter)
	if !ok {
		t.Fatalf("%T is not an Interrupter", creator)
	}
	done := make(chan error, 1)
	go func() { done <- creator.Recv(make([]byte, 64)) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Recv on an empty channel returned before the interrupt: %v", err)
	default:
	}
	in.Interrupt()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("interrupted Recv succeeded")
		}
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Recv still blocked 10s after the interrupt")
	}
	return nil
}

// checkNoAllocation: the measured loop makes no garbage.
func checkNoAllocation(t *testing.T, name string) {
	creator, peer := joinInProcess(t, name, 64, time.Second)
	msg, buf := make([]byte, 64), make([]byte, 64)
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		if err == nil {
			err = errors.Join(creator.Send(msg), peer.Recv(buf), peer.Send(buf), creator.Recv(buf))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per round trip", allocs)
	}
}

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
