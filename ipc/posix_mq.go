package ipc

import (
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// posix_mq: two POSIX message queues, one each way, named
// /ipcwatch-PID-N-to-peer and /ipcwatch-PID-N-from-peer. Each holds up to
// min(10, msg_max) messages of exactly the message size; every send and
// receive waits at most the channel's timeout (mq_timedsend and
// mq_timedreceive with an absolute CLOCK_REALTIME deadline).
type posixMQMech struct{}

func init() { register(posixMQMech{}) }

func (posixMQMech) Name() string { return "posix_mq" }

// MaxSize is msgsize_max: the largest mq_msgsize an unprivileged process may ask for.
func (posixMQMech) MaxSize() (int, string) {
	return limitOr("/proc/sys/fs/mqueue/msgsize_max", 8192)
}

// mqAttr is struct mq_attr.
type mqAttr struct {
	flags, maxmsg, msgsize, curmsgs int64
	_                               [4]int64
}

// mqMaxMsg is how many messages each queue holds, at most.
const mqMaxMsg = 10

func (posixMQMech) Create(ch *Channel) (Endpoint, error) {
	maxmsg := mqMaxMsg
	if n, err := kernelLimit("/proc/sys/fs/mqueue/msg_max"); err == nil && n > 0 {
		maxmsg = min(maxmsg, n)
	}
	attr := mqAttr{maxmsg: int64(maxmsg), msgsize: int64(ch.Size)}
	e := &mqEndpoint{r: -1, w: -1, timeout: ch.Timeout}
	var err error
	flags := unix.O_CREAT | unix.O_EXCL
	if e.w, err = mqCreate(ch, "to-peer", unix.O_WRONLY|flags, &attr); err != nil {
		return nil, err
	}
	if e.r, err = mqCreate(ch, "from-peer", unix.O_RDONLY|flags, &attr); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (posixMQMech) Join(ch *Channel) (Endpoint, error) {
	e := &mqEndpoint{r: -1, w: -1, timeout: ch.Timeout}
	var err error
	if e.r, err = mqOpen(ch.Name("to-peer"), unix.O_RDONLY, nil); err != nil {
		return nil, err
	}
	if e.w, err = mqOpen(ch.Name("from-peer"), unix.O_WRONLY, nil); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// mqCreate journals and creates the channel's queue called suffix.
func mqCreate(ch *Channel, suffix string, flags int, attr *mqAttr) (int, error) {
	name := ch.Name(suffix)
	if err := ch.track(kindPosixMQ, name); err != nil {
		return -1, err
	}
	return mqOpen(name, flags, attr)
}

// mqOpen calls mq_open; the kernel always sets close-on-exec.
func mqOpen(name string, flags int, attr *mqAttr) (int, error) {
	p, err := unix.BytePtrFromString(trimSlash(name))
	if err != nil {
		return -1, err
	}
	fd, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), uintptr(flags),
		0o600, uintptr(unsafe.Pointer(attr)), 0, 0)
	if errno != 0 {
		return -1, fmt.Errorf("opening message queue %s: %w", name, errno)
	}
	return int(fd), nil
}

// mqEndpoint receives on r and sends on w, both message queue descriptors.
type mqEndpoint struct {
	r, w     int
	timeout  time.Duration
	deadline unix.Timespec // reused, so that a message allocates nothing
}

// setDeadline sets the absolute CLOCK_REALTIME deadline of the next call.
func (e *mqEndpoint) setDeadline() *unix.Timespec {
	e.deadline = unix.NsecToTimespec(time.Now().Add(e.timeout).UnixNano())
	return &e.deadline
}

func (e *mqEndpoint) Send(msg []byte) error {
	for {
		_, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDSEND, uintptr(e.w), uintptr(unsafe.Pointer(&msg[0])),
			uintptr(len(msg)), 0, uintptr(unsafe.Pointer(e.setDeadline())), 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		case unix.ETIMEDOUT:
			return fmt.Errorf("mq_timedsend: queue still full after %v: %w", e.timeout, os.ErrDeadlineExceeded)
		}
		return fmt.Errorf("mq_timedsend: %w", errno)
	}
}

func (e *mqEndpoint) Recv(buf []byte) error {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDRECEIVE, uintptr(e.r), uintptr(unsafe.Pointer(&buf[0])),
			uintptr(len(buf)), 0, uintptr(unsafe.Pointer(e.setDeadline())), 0)
		switch errno {
		case 0:
			if int(n) != len(buf) {
				return fmt.Errorf("%w: received %d bytes, want %d", ErrCorrupt, n, len(buf))
			}
			return nil
		case unix.EINTR:
			continue
		case unix.ETIMEDOUT:
			return fmt.Errorf("mq_timedreceive: no message within %v: %w", e.timeout, os.ErrDeadlineExceeded)
		}
		return fmt.Errorf("mq_timedreceive: %w", errno)
	}
}

// Close closes the descriptors; the creator's Channel unlinks the queues.
func (e *mqEndpoint) Close() error {
	var err error
	for _, fd := range []int{e.r, e.w} {
		if fd >= 0 {
			if cerr := unix.Close(fd); err == nil {
				err = cerr
			}
		}
	}
	e.r, e.w = -1, -1
	return err
}
