package ipc

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// unix_dgram: a pair of connected, unnamed Unix datagram sockets
// (socketpair); the peer inherits one of them. Each message is one datagram:
// one send and one receive.
type unixDgramMech struct{}

func init() { register(unixDgramMech{}) }

func (unixDgramMech) Name() string { return "unix_dgram" }

func (unixDgramMech) MaxSize() (int, string) { return unixDatagramMax() }

func (unixDgramMech) Create(ch *Channel) (Endpoint, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("creating socket pair: %w", err)
	}
	for _, fd := range pair {
		if err = setTimeouts(fd, ch.Timeout); err == nil {
			err = fitDatagrams(fd, ch.Size)
		}
		if err != nil {
			unix.Close(pair[0])
			unix.Close(pair[1])
			return nil, err
		}
	}
	handOver(ch, pair[1], "unix-dgram-peer")
	return &dgramPair{datagramFD{fd: pair[0], timeout: ch.Timeout}}, nil
}

func (unixDgramMech) Join(ch *Channel) (Endpoint, error) {
	fd, err := inherited(ch, 0)
	if err != nil {
		return nil, err
	}
	return &datagramFD{fd: fd, timeout: ch.Timeout}, nil
}

// datagramFD is an endpoint over a connected socket that keeps message
// boundaries (datagram, seqpacket): one send and one receive per message. A
// message of any other length than expected is an error.
type datagramFD struct {
	fd      int
	timeout time.Duration
}

func (e *datagramFD) Send(msg []byte) error {
	for {
		// MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE.
		err := unix.Sendto(e.fd, msg, unix.MSG_NOSIGNAL, nil)
		if err == unix.EINTR {
			continue
		}
		return timedOut(err, e.timeout)
	}
}

func (e *datagramFD) Recv(buf []byte) error {
	for {
		// MSG_TRUNC makes recv return the datagram's real length, so a
		// longer message than buf shows; no source address is asked for.
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(e.fd),
			uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)), unix.MSG_TRUNC, 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno != 0:
			return timedOut(errno, e.timeout)
		case n == 0:
			return fmt.Errorf("%w: peer closed its end", io.ErrUnexpectedEOF)
		case int(n) > len(buf):
			return fmt.Errorf("%w: received a %d-byte message, truncated to %d", ErrCorrupt, n, len(buf))
		case int(n) < len(buf):
			return fmt.Errorf("%w: received a %d-byte message, want %d", ErrCorrupt, n, len(buf))
		}
		return nil
	}
}

func (e *datagramFD) Close() error { return closeFD(&e.fd) }

// dgramPair is the creator's end of the socket pair. A datagram socket does
// not learn that its peer died: a receive waits for SO_RCVTIMEO.
type dgramPair struct{ datagramFD }

// Interrupt shuts the socket down: a blocked receive returns end of file.
func (e *dgramPair) Interrupt() { unix.Shutdown(e.fd, unix.SHUT_RDWR) }

// Datagram sizes. af_unix refuses a datagram (or seqpacket message) longer
// than the sender's send buffer less 32 bytes, and charges it to the sender
// until it is read; the receive buffer plays no part. The kernel doubles what
// SO_SNDBUF asks for and caps the request at net.core.wmem_max.
const unixDgramOverhead = 32

// wmemMaxPath is the sysctl that caps SO_SNDBUF.
var wmemMaxPath = "/proc/sys/net/core/wmem_max"

// unixDatagramMax is the largest Unix datagram this machine allows, capped
// at MaxMessage, and the limit that sets it.
func unixDatagramMax() (int, string) {
	limit := "2 × " + wmemMaxPath + " − 32 bytes (the socket send buffer)"
	b, err := os.ReadFile(wmemMaxPath)
	var wmax int
	if err == nil {
		wmax, err = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if err != nil {
		// Without the sysctl, a new socket's default buffer is all that
		// is known to fit.
		wmax, limit = defaultSendBuffer()/2, "a new socket's send buffer (net.core.wmem_default) − 32 bytes"
	}
	if n := 2*wmax - unixDgramOverhead; n < MaxMessage {
		return n, limit
	}
	return MaxMessage, "ipcwatch's message cap"
}

func defaultSendBuffer() int {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	n, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	return n
}

// fitDatagrams raises socket fd's send buffer, if needed, so that a message
// of size bytes fits.
func fitDatagrams(fd, size int) error {
	need := size + unixDgramOverhead
	cur, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil {
		return fmt.Errorf("reading SO_SNDBUF: %w", err)
	}
	if cur >= need {
		return nil
	}
	// The kernel doubles the request: room for two messages in flight.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, need); err != nil {
		return fmt.Errorf("setting SO_SNDBUF: %w", err)
	}
	if cur, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF); err != nil {
		return fmt.Errorf("reading SO_SNDBUF: %w", err)
	}
	if cur < need {
		return fmt.Errorf("%w: a %d-byte message needs a %d-byte send buffer, the socket got %d (limit: %s)",
			ErrTooLarge, size, need, cur, wmemMaxPath)
	}
	return nil
}
