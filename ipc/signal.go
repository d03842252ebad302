package ipc

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// signal: real-time signals, each carrying one message of up to 8 bytes in
// its sigval. Each side sends to the other's I/O thread with
// rt_tgsigqueueinfo and receives with rt_sigtimedwait, one syscall each.
//
// Kernel and runtime assumptions:
//   - Go installs a handler for every signal and a process-directed signal
//     may reach any thread. So signals go to one thread (rt_tgsigqueueinfo,
//     the thread-directed sigqueue, Linux 2.6.31) and that thread blocks the
//     signal (rt_sigprocmask), so it stays pending there until
//     rt_sigtimedwait takes it, siginfo included. Both ends run on a thread
//     locked for the whole channel: Create, Join, every Send and Recv, and
//     Close, which restores the mask.
//   - Signal 42 (SIGRTMIN+8 in glibc's numbering) is unused by the Go
//     runtime, which drops it should it ever arrive unblocked.
//   - Real-time signals are queued, never merged, and dequeued in the order
//     sent. Each counts against the sender's RLIMIT_SIGPENDING; a full queue
//     makes rt_tgsigqueueinfo fail with EAGAIN, and Send waits.
//   - With si_code SI_QUEUE (negative), the kernel keeps the sender's siginfo
//     as given: si_pid, si_uid and the 8-byte sigval (64-bit systems).
//   - A thread id is checked against its process (tgid), so a reused tid in
//     another process is never signalled.
type signalMech struct{}

func init() { register(signalMech{}) }

func (signalMech) Name() string { return "signal" }

func (signalMech) MaxSize() (int, string) { return 8, "sigval carries 8 bytes" }

const (
	ipcSignal = 42
	siQueue   = -1 // SI_QUEUE: sent by sigqueue
	siTkill   = -6 // SI_TKILL: sent by tgkill
	// sigsetSize is the kernel's sigset_t size, which rt_sig* calls take.
	sigsetSize = 8
)

// sigInfo is the kernel's siginfo_t (128 bytes) as filled for SI_QUEUE.
type sigInfo struct {
	Signo, Errno, Code, _ int32
	PID                   int32
	UID                   uint32
	Value                 uint64
	_                     [96]byte
}

// signalEndpoint signals its peer's thread and waits for signals on its own.
type signalEndpoint struct {
	pid, tid         int // this end's process and thread
	peerPID, peerTID int
	timeout          time.Duration
	set              unix.Sigset_t
	wasBlocked       bool
	out, in          sigInfo
	wait             unix.Timespec
}

// open blocks the signal on the calling thread and records the thread.
func (e *signalEndpoint) open(timeout time.Duration) error {
	e.pid, e.tid, e.timeout = os.Getpid(), unix.Gettid(), timeout
	e.set.Val[0] = 1 << (ipcSignal - 1)
	var old unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &e.set, &old); err != nil {
		return fmt.Errorf("blocking signal %d: %w", ipcSignal, err)
	}
	e.wasBlocked = old.Val[0]&e.set.Val[0] != 0
	e.out = sigInfo{Signo: ipcSignal, Code: siQueue, PID: int32(e.pid), UID: uint32(os.Getuid())}
	return nil
}

func (signalMech) Create(ch *Channel) (Endpoint, error) {
	e := &signalEndpoint{}
	if err := e.open(ch.Timeout); err != nil {
		return nil, err
	}
	ch.Params["pid"], ch.Params["tid"] = strconv.Itoa(e.pid), strconv.Itoa(e.tid)
	return e, nil
}

// Accept learns the peer's thread, which it reported on joining.
func (e *signalEndpoint) Accept(ch *Channel) error {
	var err error
	e.peerPID, e.peerTID, err = threadParams(ch, "peer_pid", "peer_tid")
	return err
}

func (signalMech) Join(ch *Channel) (Endpoint, error) {
	pid, tid, err := threadParams(ch, "pid", "tid")
	if err != nil {
		return nil, err
	}
	e := &signalEndpoint{peerPID: pid, peerTID: tid}
	if err := e.open(ch.Timeout); err != nil {
		return nil, err
	}
	ch.Params["peer_pid"], ch.Params["peer_tid"] = strconv.Itoa(e.pid), strconv.Itoa(e.tid)
	return e, nil
}

func threadParams(ch *Channel, pidKey, tidKey string) (pid, tid int, err error) {
	pid, err = strconv.Atoi(ch.Params[pidKey])
	if err == nil {
		tid, err = strconv.Atoi(ch.Params[tidKey])
	}
	if err != nil {
		return 0, 0, fmt.Errorf("reading the other end's thread: %w", err)
	}
	return pid, tid, nil
}

func (e *signalEndpoint) Send(msg []byte) error {
	if len(msg) > 8 {
		return fmt.Errorf("%w: %d bytes, sigval carries 8", ErrTooLarge, len(msg))
	}
	var b [8]byte
	copy(b[:], msg)
	e.out.Value = binary.LittleEndian.Uint64(b[:])
	var deadline time.Time
	for {
		_, _, errno := unix.Syscall6(unix.SYS_RT_TGSIGQUEUEINFO, uintptr(e.peerPID), uintptr(e.peerTID),
			ipcSignal, uintptr(unsafe.Pointer(&e.out)), 0, 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		case unix.ESRCH:
			return fmt.Errorf("signalling thread %d of pid %d: the thread is gone: %w", e.peerTID, e.peerPID, errno)
		case unix.EAGAIN:
			// The signal queue is full (RLIMIT_SIGPENDING): wait for
			// the receiver to take some.
			if deadline.IsZero() {
				deadline = time.Now().Add(e.timeout)
			} else if time.Now().After(deadline) {
				return fmt.Errorf("signal queue full (RLIMIT_SIGPENDING) for %v: %w", e.timeout, errno)
			}
			time.Sleep(20 * time.Microsecond)
			continue
		}
		return fmt.Errorf("signalling thread %d of pid %d: %w", e.peerTID, e.peerPID, errno)
	}
}

func (e *signalEndpoint) Recv(buf []byte) error {
	deadline := time.Time{}
	wait := e.timeout
	for {
		e.wait = unix.NsecToTimespec(wait.Nanoseconds())
		_, _, errno := unix.Syscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&e.set)),
			uintptr(unsafe.Pointer(&e.in)), uintptr(unsafe.Pointer(&e.wait)), sigsetSize, 0, 0)
		switch errno {
		case 0:
			return e.take(buf)
		case unix.EINTR:
			// Another signal's handler ran; wait for what is left.
			if deadline.IsZero() {
				deadline = time.Now().Add(e.timeout)
			}
			if wait = time.Until(deadline); wait > 0 {
				continue
			}
			fallthrough
		case unix.EAGAIN:
			return fmt.Errorf("no signal within %v: %w", e.timeout, os.ErrDeadlineExceeded)
		}
		return fmt.Errorf("waiting for signal %d: %w", ipcSignal, errno)
	}
}

// take checks the received signal's origin and copies its payload to buf.
func (e *signalEndpoint) take(buf []byte) error {
	in := &e.in
	switch {
	case in.Code == siTkill && int(in.PID) == e.pid:
		return errInterrupted
	case in.Code != siQueue || int(in.PID) != e.peerPID:
		return fmt.Errorf("%w: signal %d from pid %d (si_code %d), not from the peer (pid %d)",
			ErrCorrupt, in.Signo, in.PID, in.Code, e.peerPID)
	case len(buf) < 8 && in.Value>>(8*len(buf)) != 0:
		return fmt.Errorf("%w: sigval %#x is wider than %d bytes", ErrCorrupt, in.Value, len(buf))
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], in.Value)
	copy(buf, b[:])
	return nil
}

// Interrupt ends a blocked Recv: a signal wait neither notices the peer's
// death nor ends before its timeout. It sends the signal to this end's own
// thread with tgkill, which take recognises by its si_code.
func (e *signalEndpoint) Interrupt() { unix.Tgkill(e.pid, e.tid, ipcSignal) }

// Close discards signals still pending on the thread and restores its mask.
// It must run on the thread that opened the endpoint.
func (e *signalEndpoint) Close() error {
	if tid := unix.Gettid(); tid != e.tid {
		return fmt.Errorf("closing the signal endpoint on thread %d, opened on thread %d: mask left as is", tid, e.tid)
	}
	e.wait = unix.Timespec{}
	for {
		_, _, errno := unix.Syscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&e.set)),
			uintptr(unsafe.Pointer(&e.in)), uintptr(unsafe.Pointer(&e.wait)), sigsetSize, 0, 0)
		if errno != 0 && errno != unix.EINTR {
			break
		}
	}
	if e.wasBlocked {
		return nil
	}
	if err := unix.PthreadSigmask(unix.SIG_UNBLOCK, &e.set, nil); err != nil {
		return fmt.Errorf("unblocking signal %d: %w", ipcSignal, err)
	}
	return nil
}
