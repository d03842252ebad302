package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// eventfd: two eventfd counters, one each way. The creator makes them and
// passes them to the peer with SCM_RIGHTS over a Unix socket pair whose other
// end the peer inherits; the peer then holds the same kernel objects under
// new descriptor numbers.
//
// An eventfd is a 64-bit counter, not a queue: a write adds to it, a read
// returns it and resets it to 0, and 0 means "nothing to read". A message of
// up to 8 bytes (little-endian) is written as eventfdBias + payload. The
// kernel refuses to let the counter pass 2^64-2 and blocks such a write until
// the counter is read, so with the bias a second message waits until the first
// is read: messages never add up, and a sender never outruns its receiver.
type eventfdMech struct{}

func init() { register(eventfdMech{}) }

func (eventfdMech) Name() string { return "eventfd" }

func (eventfdMech) MaxSize() (int, string) { return 8, "an eventfd counter is 8 bytes" }

const (
	eventfdBias = 1 << 63
	// eventfdMaxPayload leaves room below the counter's maximum, 2^64-2,
	// for the 1 that Interrupt adds.
	eventfdMaxPayload = 1<<63 - 3
)

func (eventfdMech) Create(ch *Channel) (Endpoint, error) {
	e := &eventfdEndpoint{r: -1, w: -1}
	var err error
	// e.w carries messages to the peer, e.r brings them back.
	if e.w, err = unix.Eventfd(0, unix.EFD_CLOEXEC); err == nil {
		e.r, err = unix.Eventfd(0, unix.EFD_CLOEXEC)
	}
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("creating eventfd: %w", err)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("creating socket pair for SCM_RIGHTS: %w", err)
	}
	defer unix.Close(pair[0])
	if err = setTimeouts(pair[1], ch.Timeout); err == nil {
		// The message waits in the peer's socket until it joins.
		err = unix.Sendmsg(pair[0], []byte("eventfd"), unix.UnixRights(e.w, e.r), nil, unix.MSG_NOSIGNAL)
	}
	if err != nil {
		unix.Close(pair[1])
		e.Close()
		return nil, fmt.Errorf("passing eventfds with SCM_RIGHTS: %w", err)
	}
	handOver(ch, pair[1], "eventfd-rights")
	return e, nil
}

func (eventfdMech) Join(ch *Channel) (Endpoint, error) {
	sock, err := inherited(ch, 0)
	if err != nil {
		return nil, err
	}
	fds, err := receiveRights(sock, 2)
	if err != nil {
		return nil, fmt.Errorf("receiving eventfds over SCM_RIGHTS: %w", err)
	}
	// The creator writes to the first and reads the second.
	e := &eventfdEndpoint{r: fds[0], w: fds[1]}
	for _, fd := range fds {
		// Where /proc is missing, the check is skipped.
		if link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); err == nil && link != "anon_inode:[eventfd]" {
			e.Close()
			return nil, fmt.Errorf("received descriptor %d is %q, not an eventfd", fd, link)
		}
	}
	return e, nil
}

// receiveRights receives one message on a Unix socket carrying exactly n
// descriptors.
func receiveRights(sock, n int) ([]int, error) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(n*4))
	var flags, oobn int
	var err error
	for {
		_, oobn, flags, _, err = unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("parsing control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	if flags&unix.MSG_CTRUNC != 0 || len(fds) != n {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("got %d descriptors, want %d (control data truncated: %v)", len(fds), n, flags&unix.MSG_CTRUNC != 0)
	}
	return fds, nil
}

// eventfdEndpoint reads messages from r and writes them to w.
type eventfdEndpoint struct {
	r, w        int
	buf         [8]byte
	interrupted atomic.Bool
	once        sync.Once
}

func (e *eventfdEndpoint) Send(msg []byte) error {
	if len(msg) > 8 {
		return fmt.Errorf("%w: %d bytes, an eventfd counter is 8 bytes", ErrTooLarge, len(msg))
	}
	var b [8]byte
	copy(b[:], msg)
	p := binary.LittleEndian.Uint64(b[:])
	if p > eventfdMaxPayload {
		return fmt.Errorf("%w: payload %#016x cannot be carried: an eventfd message is 2^63 + payload, at most 2^64-3",
			ErrTooLarge, p)
	}
	binary.NativeEndian.PutUint64(e.buf[:], eventfdBias+p)
	if err := eventfdIO(unix.Write, e.w, e.buf[:]); err != nil {
		return err
	}
	if e.interrupted.Load() {
		return errInterrupted
	}
	return nil
}

func (e *eventfdEndpoint) Recv(buf []byte) error {
	if err := eventfdIO(unix.Read, e.r, e.buf[:]); err != nil {
		return err
	}
	if e.interrupted.Load() {
		return errInterrupted
	}
	v := binary.NativeEndian.Uint64(e.buf[:])
	if v < eventfdBias {
		return fmt.Errorf("%w: eventfd counter %#x holds no message", ErrCorrupt, v)
	}
	p := v - eventfdBias
	if len(buf) < 8 && p>>(8*len(buf)) != 0 {
		return fmt.Errorf("%w: eventfd payload %#x is wider than %d bytes", ErrCorrupt, p, len(buf))
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], p)
	copy(buf, b[:])
	return nil
}

// eventfdIO reads or writes the 8 bytes of a counter.
func eventfdIO(op func(int, []byte) (int, error), fd int, b []byte) error {
	for {
		n, err := op(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n != len(b) {
			return fmt.Errorf("%w: eventfd moved %d bytes, not 8", ErrCorrupt, n)
		}
		return nil
	}
}

var errInterrupted = errors.New("interrupted: the peer is gone")

// Interrupt wakes a blocked Recv or Send: a blocked eventfd call does not end
// when the peer dies. It runs once the peer is dead or being killed, so no one
// else reads the counters: adding 1 to the receive counter ends a Recv, and
// draining the send counter, if it holds a message, ends a Send waiting for
// room.
func (e *eventfdEndpoint) Interrupt() {
	e.once.Do(func() {
		e.interrupted.Store(true)
		var b [8]byte
		binary.NativeEndian.PutUint64(b[:], 1)
		unix.Write(e.r, b[:])
		fds := []unix.PollFd{{Fd: int32(e.w), Events: unix.POLLIN}}
		if n, _ := unix.Poll(fds, 0); n == 1 && fds[0].Revents&unix.POLLIN != 0 {
			unix.Read(e.w, b[:])
		}
	})
}

func (e *eventfdEndpoint) Close() error {
	err := closeFD(&e.r)
	if werr := closeFD(&e.w); err == nil {
		err = werr
	}
	return err
}
