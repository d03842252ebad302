package ipc

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysv_msg: two System V message queues, one each way, with keys that carry
// the creator's pid. A message is one msgsnd and one msgrcv of a buffer
// holding mtype (a long, always 1) and the message. msgrcv has no timed form:
// the creator's endpoint is an Interrupter that removes the queues, which
// wakes a blocked msgsnd or msgrcv with EIDRM.
type sysvMsgMech struct{}

func init() { register(sysvMsgMech{}) }

func (sysvMsgMech) Name() string { return "sysv_msg" }

// MaxSize is msgmax, the largest message msgsnd accepts, unless msgmnb (the
// bytes a new queue holds) is smaller: a larger message would never fit.
func (sysvMsgMech) MaxSize() (int, string) {
	max, limit := limitOr("/proc/sys/kernel/msgmax", 8192)
	if mnb, err := kernelLimit("/proc/sys/kernel/msgmnb"); err == nil && mnb > 0 && mnb < max {
		return mnb, "/proc/sys/kernel/msgmnb"
	}
	return max, limit
}

func (sysvMsgMech) Create(ch *Channel) (Endpoint, error) {
	var ids [2]int
	for i, param := range []string{"to_peer", "from_peer"} {
		id, _, err := createSysV(os.Getpid(), func(key int) (int, error) {
			return msgget(key, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
		})
		if err != nil {
			return nil, fmt.Errorf("creating System V message queue: %w", err)
		}
		if err := ch.track(kindSysVMsg, strconv.Itoa(id)); err != nil {
			msgctlRemove(id)
			return nil, err
		}
		ids[i] = id
		ch.Params[param] = strconv.Itoa(id)
	}
	return newSysVMsgEndpoint(ids[1], ids[0], ch.Size), nil
}

func (sysvMsgMech) Join(ch *Channel) (Endpoint, error) {
	r, err := strconv.Atoi(ch.Params["to_peer"])
	if err != nil {
		return nil, fmt.Errorf("reading queue id: %w", err)
	}
	w, err := strconv.Atoi(ch.Params["from_peer"])
	if err != nil {
		return nil, fmt.Errorf("reading queue id: %w", err)
	}
	return newSysVMsgEndpoint(r, w, ch.Size), nil
}

// sysvMsgEndpoint receives from queue r and sends to queue w.
type sysvMsgEndpoint struct {
	r, w       int
	sbuf, rbuf []byte // struct msgbuf: mtype, then the message
	once       sync.Once
}

// msgTypeSize is the size of msgbuf's mtype, a C long.
const msgTypeSize = int(unsafe.Sizeof(int64(0)))

func newSysVMsgEndpoint(r, w, size int) *sysvMsgEndpoint {
	e := &sysvMsgEndpoint{r: r, w: w,
		sbuf: make([]byte, msgTypeSize+size), rbuf: make([]byte, msgTypeSize+size)}
	*(*int64)(unsafe.Pointer(&e.sbuf[0])) = 1
	return e
}

func (e *sysvMsgEndpoint) Send(msg []byte) error {
	if len(msg) > len(e.sbuf)-msgTypeSize {
		return fmt.Errorf("%w: %d bytes on a channel of %d-byte messages", ErrTooLarge, len(msg), len(e.sbuf)-msgTypeSize)
	}
	copy(e.sbuf[msgTypeSize:], msg)
	for {
		_, _, errno := unix.Syscall6(unix.SYS_MSGSND, uintptr(e.w), uintptr(unsafe.Pointer(&e.sbuf[0])),
			uintptr(len(msg)), 0, 0, 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("msgsnd: %w", errno)
	}
}

func (e *sysvMsgEndpoint) Recv(buf []byte) error {
	if len(buf) > len(e.rbuf)-msgTypeSize {
		return fmt.Errorf("receiving into %d bytes on a channel of %d-byte messages", len(buf), len(e.rbuf)-msgTypeSize)
	}
	for {
		n, _, errno := unix.Syscall6(unix.SYS_MSGRCV, uintptr(e.r), uintptr(unsafe.Pointer(&e.rbuf[0])),
			uintptr(len(buf)), 0, 0, 0)
		switch errno {
		case 0:
			if int(n) != len(buf) {
				return fmt.Errorf("%w: received %d bytes, want %d", ErrCorrupt, n, len(buf))
			}
			copy(buf, e.rbuf[msgTypeSize:])
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("msgrcv: %w", errno)
	}
}

// Interrupt removes both queues: a blocked msgsnd or msgrcv fails with EIDRM.
func (e *sysvMsgEndpoint) Interrupt() {
	e.once.Do(func() {
		msgctlRemove(e.r)
		msgctlRemove(e.w)
	})
}

// Close has nothing to release: the creator's Channel removes the queues,
// and tolerates that Interrupt did so already.
func (e *sysvMsgEndpoint) Close() error { return nil }
