package ipc

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The mailbox protocol of posix_shm and mmap (the C reference in bench/
// follows it too).
//
// A shared mapping of 2*stride bytes, stride = size+8 rounded up to 64, holds
// one mailbox per direction: mailbox 0 (at offset 0) carries messages from
// the creator to the peer, mailbox 1 (at offset stride) from the peer to the
// creator. A mailbox is
//
//	offset 0  uint32 state   0 empty, 1 full
//	offset 4  uint32 length  bytes of data in the message
//	offset 8  data[size]
//
// in native byte order; a new mapping is all zeros, so both mailboxes start
// empty.
//
//	send(msg): wait(state == 0); copy msg into data; length = len(msg);
//	           atomic store state = 1; FUTEX_WAKE(&state, 1)
//	recv(buf): wait(state == 1); length must equal len(buf); copy data into
//	           buf; atomic store state = 0; FUTEX_WAKE(&state, 1)
//	wait(v):   load state up to 64 times (a bounded spin); then, while
//	           state != v, FUTEX_WAIT(&state, current state, time left), a
//	           shared futex (no FUTEX_PRIVATE_FLAG: two processes map the
//	           page); once the channel's timeout has passed the wait fails.

// Futex operations from linux/futex.h, shared between processes.
const (
	futexWait = 0 // FUTEX_WAIT
	futexWake = 1 // FUTEX_WAKE
)

const (
	mailboxHeader = 8  // state and length
	mailboxAlign  = 64 // a cache line
	mailboxSpins  = 64 // loads of state before sleeping on the futex
)

// mailboxStride is the offset of mailbox 1 for messages of size bytes.
func mailboxStride(size int) int {
	return (mailboxHeader + size + mailboxAlign - 1) &^ (mailboxAlign - 1)
}

// mailboxMapSize is the size of the shared mapping for messages of size bytes.
func mailboxMapSize(size int) int { return 2 * mailboxStride(size) }

// mailbox is one direction's mailbox inside the mapping.
type mailbox struct {
	state  *uint32
	length *uint32
	data   []byte
}

func mailboxAt(mem []byte, i, size int) mailbox {
	b := mem[i*mailboxStride(size):]
	return mailbox{
		state:  (*uint32)(unsafe.Pointer(&b[0])),
		length: (*uint32)(unsafe.Pointer(&b[4])),
		data:   b[mailboxHeader : mailboxHeader+size],
	}
}

// mailboxEndpoint sends through mailbox out and receives from mailbox in of a
// shared mapping.
type mailboxEndpoint struct {
	mem         []byte // the mapping, unmapped at Close
	out, in     mailbox
	timeout     time.Duration
	ts          unix.Timespec // reused, so that a message allocates nothing
	interrupted atomic.Bool
	mu          sync.Mutex // orders Interrupt and Close
}

// mapMailboxes maps fd, which must hold mailboxMapSize(size) bytes, and
// returns the endpoint of the creator (mailbox 0 out) or of the peer.
func mapMailboxes(fd, size int, creator bool, timeout time.Duration) (*mailboxEndpoint, error) {
	want := mailboxMapSize(size)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("reading mailbox size: %w", err)
	}
	if st.Size != int64(want) {
		return nil, fmt.Errorf("mapping mailboxes: the file holds %d bytes, want %d", st.Size, want)
	}
	mem, err := unix.Mmap(fd, 0, want, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping mailboxes: %w", err)
	}
	e := &mailboxEndpoint{mem: mem, timeout: timeout,
		out: mailboxAt(mem, 0, size), in: mailboxAt(mem, 1, size)}
	if !creator {
		e.out, e.in = e.in, e.out
	}
	return e, nil
}

func (e *mailboxEndpoint) Send(msg []byte) error {
	if len(msg) > len(e.out.data) {
		return fmt.Errorf("%w: %d bytes on a channel of %d-byte messages", ErrTooLarge, len(msg), len(e.out.data))
	}
	if err := e.wait(e.out.state, 0, "an empty mailbox"); err != nil {
		return err
	}
	copy(e.out.data, msg)
	atomic.StoreUint32(e.out.length, uint32(len(msg)))
	atomic.StoreUint32(e.out.state, 1)
	return futexWakeOne(e.out.state)
}

func (e *mailboxEndpoint) Recv(buf []byte) error {
	if err := e.wait(e.in.state, 1, "a message"); err != nil {
		return err
	}
	if n := atomic.LoadUint32(e.in.length); int(n) != len(buf) {
		return fmt.Errorf("%w: received %d bytes, want %d", ErrCorrupt, n, len(buf))
	}
	copy(buf, e.in.data)
	atomic.StoreUint32(e.in.state, 0)
	return futexWakeOne(e.in.state)
}

// wait returns once *state is want, or fails after the timeout.
func (e *mailboxEndpoint) wait(state *uint32, want uint32, what string) error {
	for range mailboxSpins {
		if atomic.LoadUint32(state) == want {
			return nil
		}
	}
	deadline := time.Now().Add(e.timeout)
	for {
		cur := atomic.LoadUint32(state)
		if cur == want {
			return nil
		}
		if e.interrupted.Load() {
			return fmt.Errorf("waiting for %s: interrupted", what)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("waiting for %s: nothing within %v: %w", what, e.timeout, os.ErrDeadlineExceeded)
		}
		e.ts = unix.NsecToTimespec(int64(left))
		_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(state)), futexWait,
			uintptr(cur), uintptr(unsafe.Pointer(&e.ts)), 0, 0)
		switch errno {
		case 0, unix.EAGAIN, unix.EINTR, unix.ETIMEDOUT:
			// Woken, the state changed already, a signal, or time is up:
			// look again.
		default:
			return fmt.Errorf("futex wait for %s: %w", what, errno)
		}
	}
}

// FUTEX_WAKE never blocks: RawSyscall skips the runtime's bookkeeping.
func futexWakeOne(addr *uint32) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWake, 1, 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("futex wake: %w", errno)
	}
	return nil
}

// Interrupt makes a blocked Send or Recv fail.
func (e *mailboxEndpoint) Interrupt() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mem == nil {
		return
	}
	e.interrupted.Store(true)
	for _, s := range []*uint32{e.out.state, e.in.state} {
		unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(s)), futexWake, 1<<31-1, 0, 0, 0)
	}
}

// Close unmaps the mailboxes; the creator's Channel removes their file.
func (e *mailboxEndpoint) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mem == nil {
		return nil
	}
	err := unix.Munmap(e.mem)
	e.mem = nil
	e.out, e.in = mailbox{}, mailbox{}
	return err
}
