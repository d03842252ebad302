package ipc

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// unix_stream: a Unix stream socket bound to a path in the channel's
// directory. The peer connects; the creator accepts once the peer has joined.
// Messages travel as a byte stream (write and read), as over a pipe.
type unixStreamMech struct{}

func init() { register(unixStreamMech{}) }

func (unixStreamMech) Name() string { return "unix_stream" }

func (unixStreamMech) MaxSize() (int, string) { return MaxMessage, "ipcwatch's message cap" }

func (unixStreamMech) Create(ch *Channel) (Endpoint, error) {
	path := ch.Path("stream.sock")
	if err := ch.track(kindPath, path); err != nil {
		return nil, err
	}
	l, err := listenSocket(unix.AF_UNIX, unix.SOCK_STREAM, &unix.SockaddrUnix{Name: path}, ch.Timeout)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	ch.Params["path"] = path
	return &streamConn{socketStream: socketStream{fd: -1, timeout: ch.Timeout}, listener: l}, nil
}

func (unixStreamMech) Join(ch *Channel) (Endpoint, error) {
	path := ch.Params["path"]
	fd, err := dialSocket(unix.AF_UNIX, unix.SOCK_STREAM, &unix.SockaddrUnix{Name: path}, ch.Timeout)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", path, err)
	}
	ch.Params["peer_pid"] = strconv.Itoa(os.Getpid())
	return &socketStream{fd: fd, timeout: ch.Timeout}, nil
}

// socketStream is an endpoint over a connected stream socket (unix_stream,
// tcp): messages are a byte stream, and a call that outlasts the socket's
// timeout fails with os.ErrDeadlineExceeded.
type socketStream struct {
	fd      int
	timeout time.Duration
}

func (e *socketStream) Send(msg []byte) error { return timedOut(writeFull(e.fd, msg), e.timeout) }
func (e *socketStream) Recv(buf []byte) error { return timedOut(readFull(e.fd, buf), e.timeout) }
func (e *socketStream) Close() error          { return closeFD(&e.fd) }

// streamConn is the creator's end of a connected stream socket (unix_stream,
// tcp): a listener until the peer has joined, then the accepted connection.
type streamConn struct {
	socketStream // -1 until Accept
	listener     int
	// verify checks that the accepted connection is the peer's.
	verify func(fd int, ch *Channel) error
}

func (e *streamConn) Accept(ch *Channel) error {
	fd, err := acceptOne(&e.listener, ch.Timeout)
	if err != nil {
		return err
	}
	e.fd = fd
	if e.verify == nil {
		return checkPeerCred(fd, ch)
	}
	return e.verify(fd, ch)
}

func (e *streamConn) Close() error {
	err := closeFD(&e.listener)
	if cerr := e.socketStream.Close(); err == nil {
		err = cerr
	}
	return err
}

// Helpers shared by the socket mechanisms (unix_stream, unix_seqpacket, tcp).

// timedSocket makes a blocking socket whose sends, receives, connect and
// accept give up after timeout (SO_SNDTIMEO, SO_RCVTIMEO).
func timedSocket(domain, typ int, timeout time.Duration) (int, error) {
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("creating socket: %w", err)
	}
	if err := setTimeouts(fd, timeout); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// setTimeouts bounds every blocking call on socket fd by d.
func setTimeouts(fd int, d time.Duration) error {
	tv := unix.NsecToTimeval(d.Nanoseconds())
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			return fmt.Errorf("setting socket timeouts: %w", err)
		}
	}
	return nil
}

// listenSocket makes a socket listening on addr for one connection.
func listenSocket(domain, typ int, addr unix.Sockaddr, timeout time.Duration) (int, error) {
	fd, err := timedSocket(domain, typ, timeout)
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, addr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("binding: %w", err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("listening: %w", err)
	}
	return fd, nil
}

// dialSocket connects a new socket to addr.
func dialSocket(domain, typ int, addr unix.Sockaddr, timeout time.Duration) (int, error) {
	fd, err := timedSocket(domain, typ, timeout)
	if err != nil {
		return -1, err
	}
	for {
		err = unix.Connect(fd, addr)
		// A connect interrupted by a signal goes on in the background;
		// asking again tells whether it is done.
		if err != unix.EINTR && err != unix.EALREADY {
			break
		}
	}
	if err == unix.EISCONN {
		err = nil
	}
	if err != nil {
		unix.Close(fd)
		return -1, timedOut(err, timeout)
	}
	return fd, nil
}

// acceptOne accepts one connection, closes the listener and bounds the
// connection's calls by timeout.
func acceptOne(listener *int, timeout time.Duration) (int, error) {
	var fd int
	var err error
	for {
		fd, _, err = unix.Accept4(*listener, unix.SOCK_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	closeFD(listener)
	if err != nil {
		return -1, fmt.Errorf("accepting the peer's connection: %w", timedOut(err, timeout))
	}
	if err := setTimeouts(fd, timeout); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// checkPeerCred checks that the process at the other end of a connected Unix
// socket is the peer, which put its pid in ch.Params["peer_pid"] on joining:
// anyone allowed to reach the address could have connected first.
func checkPeerCred(fd int, ch *Channel) error {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return fmt.Errorf("reading the connection's peer credentials: %w", err)
	}
	if want := ch.Params["peer_pid"]; strconv.Itoa(int(cred.Pid)) != want {
		return fmt.Errorf("accepted a connection from pid %d, not from the peer (pid %s)", cred.Pid, want)
	}
	return nil
}

// closeFD closes *fd unless it is -1, and sets it to -1.
func closeFD(fd *int) error {
	if *fd < 0 {
		return nil
	}
	err := unix.Close(*fd)
	*fd = -1
	return err
}

// timedOut turns EAGAIN from a socket with SO_RCVTIMEO or SO_SNDTIMEO into
// os.ErrDeadlineExceeded.
func timedOut(err error, d time.Duration) error {
	if err == unix.EAGAIN {
		return fmt.Errorf("nothing moved within %v: %w", d, os.ErrDeadlineExceeded)
	}
	return err
}
