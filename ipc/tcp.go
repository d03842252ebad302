package ipc

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// tcp: a loopback TCP connection, the baseline users compare against. The
// creator listens on 127.0.0.1 on a port the kernel picks; the peer connects
// and the creator accepts. Nagle's algorithm is off at both ends
// (TCP_NODELAY), so each message leaves at once.
type tcpMech struct{}

func init() { register(tcpMech{}) }

func (tcpMech) Name() string { return "tcp" }

func (tcpMech) MaxSize() (int, string) { return MaxMessage, "ipcwatch's message cap" }

var loopback = [4]byte{127, 0, 0, 1}

func (tcpMech) Create(ch *Channel) (Endpoint, error) {
	l, err := listenSocket(unix.AF_INET, unix.SOCK_STREAM, &unix.SockaddrInet4{Addr: loopback}, ch.Timeout)
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	port, err := localPort(l)
	if err != nil {
		unix.Close(l)
		return nil, err
	}
	ch.Params["port"] = strconv.Itoa(port)
	return &streamConn{socketStream: socketStream{fd: -1, timeout: ch.Timeout}, listener: l, verify: checkTCPPeer}, nil
}

func (tcpMech) Join(ch *Channel) (Endpoint, error) {
	port, err := strconv.Atoi(ch.Params["port"])
	if err != nil {
		return nil, fmt.Errorf("reading the creator's port: %w", err)
	}
	fd, err := dialSocket(unix.AF_INET, unix.SOCK_STREAM, &unix.SockaddrInet4{Addr: loopback, Port: port}, ch.Timeout)
	if err != nil {
		return nil, fmt.Errorf("connecting to 127.0.0.1:%d: %w", port, err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("setting TCP_NODELAY: %w", err)
	}
	own, err := localPort(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ch.Params["peer_port"] = strconv.Itoa(own)
	return &socketStream{fd: fd, timeout: ch.Timeout}, nil
}

// checkTCPPeer checks that an accepted connection comes from the port the
// peer reported (anyone on the host may connect to a loopback port) and turns
// Nagle's algorithm off.
func checkTCPPeer(fd int, ch *Channel) error {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return fmt.Errorf("reading the connection's remote address: %w", err)
	}
	in, ok := sa.(*unix.SockaddrInet4)
	if !ok || in.Addr != loopback {
		return fmt.Errorf("accepted a connection that is not from 127.0.0.1")
	}
	if strconv.Itoa(in.Port) != ch.Params["peer_port"] {
		return fmt.Errorf("accepted a connection from 127.0.0.1:%d, not from the peer (127.0.0.1:%s)", in.Port, ch.Params["peer_port"])
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return fmt.Errorf("setting TCP_NODELAY: %w", err)
	}
	return nil
}

func localPort(fd int) (int, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, fmt.Errorf("reading the socket's address: %w", err)
	}
	in, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		return 0, fmt.Errorf("socket address %v is not IPv4", sa)
	}
	return in.Port, nil
}
