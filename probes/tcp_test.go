package probes

import (
	"fmt"
	"net"
	"runtime"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The TCP workloads: connections to loopback addresses count as tcp;
// connections to the other addresses of the host do not. Those addresses
// live on the loopback device of a private network namespace, so no packet
// ever leaves it.
var (
	loop4   = [4]byte{127, 0, 0, 1}
	loop6   = [16]byte{15: 1}                         // ::1
	remote4 = [4]byte{192, 0, 2, 1}                   // 192.0.2.1, TEST-NET-1 (RFC 5737)
	remote6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1} // 2001:db8::1 (RFC 3849)
)

func init() {
	workloads["tcp"] = tcpWork
	workloads["tcp6"] = tcp6Work
	workloads["tcp_remote"] = tcpRemoteWork
	all := map[[2]string]want{
		{"tcp", "write"}: {n, n * sz}, {"tcp", "read"}: {n, n * sz},
		{"tcp", "send"}: {n, n * sz}, {"tcp", "recv"}: {n, n * sz},
		{"tcp", "sendmsg"}: {n, n * sz}, {"tcp", "recvmsg"}: {n, n * sz},
	}
	expected["tcp"] = all
	expected["tcp6"] = all
	// Only the one connection over 127.0.0.1 counts.
	expected["tcp_remote"] = map[[2]string]want{{"tcp", "write"}: {n, n * sz}, {"tcp", "read"}: {n, n * sz}}
}

// tcpWork moves data both ways over a 127.0.0.1 connection, with
// write/read, sendto/recvfrom and sendmsg/recvmsg.
func tcpWork() error {
	c, s, err := tcpConn(in4(loop4), in4(loop4))
	if err != nil {
		return err
	}
	if err := moveN(c, s); err != nil {
		return err
	}
	return sendRecvN(s, c)
}

// tcp6Work moves data with write/read over ::1, and with sendto/recvfrom and
// sendmsg/recvmsg from an IPv6 socket connected to ::ffff:127.0.0.1.
func tcp6Work() error {
	c, s, err := tcpConn(in6(loop6), in6(loop6))
	if err != nil {
		return err
	}
	if err := moveN(c, s); err != nil {
		return err
	}
	c, s, err = tcpConn(in4(loop4), mapped(loop4))
	if err != nil {
		return err
	}
	return sendRecvN(c, s)
}

// tcpRemoteWork, in a private network namespace, moves data over
// connections to 192.0.2.1, 2001:db8::1 and ::ffff:192.0.2.1 and over a UDP
// socket pair on 127.0.0.1, none of which counts, and over one 127.0.0.1 TCP
// connection, which shows that the namespace's traffic is seen.
func tcpRemoteWork() error {
	return inPrivateNetns(func() error {
		c, s, err := tcpConn(in4(loop4), in4(loop4))
		if err != nil {
			return err
		}
		if err := moveN(c, s); err != nil {
			return err
		}
		for _, ends := range [][2]func(int) unix.Sockaddr{
			{in4(remote4), in4(remote4)},
			{in6(remote6), in6(remote6)},
			{in4(remote4), mapped(remote4)},
		} {
			c, s, err := tcpConn(ends[0], ends[1])
			if err != nil {
				return err
			}
			if err := moveN(c, s); err != nil {
				return err
			}
			if err := sendRecvN(c, s); err != nil {
				return err
			}
		}
		a, b, err := udpPair(loop4)
		if err != nil {
			return err
		}
		if err := moveN(a, b); err != nil {
			return err
		}
		return sendRecvN(a, b)
	})
}

func in4(a [4]byte) func(int) unix.Sockaddr {
	return func(port int) unix.Sockaddr { return &unix.SockaddrInet4{Addr: a, Port: port} }
}

func in6(a [16]byte) func(int) unix.Sockaddr {
	return func(port int) unix.Sockaddr { return &unix.SockaddrInet6{Addr: a, Port: port} }
}

// mapped is the IPv4-mapped IPv6 address of a (::ffff:a).
func mapped(a [4]byte) func(int) unix.Sockaddr {
	var m [16]byte
	m[10], m[11] = 0xff, 0xff
	copy(m[12:], a[:])
	return in6(m)
}

func family(sa unix.Sockaddr) int {
	if _, ok := sa.(*unix.SockaddrInet6); ok {
		return unix.AF_INET6
	}
	return unix.AF_INET
}

func port(fd int) (int, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, fmt.Errorf("reading the socket's address: %w", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return sa.Port, nil
	case *unix.SockaddrInet6:
		return sa.Port, nil
	}
	return 0, fmt.Errorf("socket address %v is not IP", sa)
}

// tcpConn listens at listen(0), connects a socket of dial's family to
// dial(the listener's port) and returns the connected socket and the
// accepted one, both with Nagle's algorithm off.
func tcpConn(listen, dial func(int) unix.Sockaddr) (client, server int, err error) {
	laddr := listen(0)
	l, err := unix.Socket(family(laddr), unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("creating a TCP socket: %w", err)
	}
	defer unix.Close(l)
	if err := unix.Bind(l, laddr); err != nil {
		return -1, -1, fmt.Errorf("binding to %v: %w", laddr, err)
	}
	if err := unix.Listen(l, 1); err != nil {
		return -1, -1, fmt.Errorf("listening: %w", err)
	}
	p, err := port(l)
	if err != nil {
		return -1, -1, err
	}
	daddr := dial(p)
	if client, err = unix.Socket(family(daddr), unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
		return -1, -1, fmt.Errorf("creating a TCP socket: %w", err)
	}
	if err := unix.Connect(client, daddr); err != nil {
		unix.Close(client)
		return -1, -1, fmt.Errorf("connecting to %v: %w", daddr, err)
	}
	if server, _, err = unix.Accept4(l, unix.SOCK_CLOEXEC); err != nil {
		unix.Close(client)
		return -1, -1, fmt.Errorf("accepting: %w", err)
	}
	for _, fd := range []int{client, server} {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			unix.Close(client)
			unix.Close(server)
			return -1, -1, fmt.Errorf("setting TCP_NODELAY: %w", err)
		}
	}
	return client, server, nil
}

// udpPair returns two UDP sockets on addr connected to each other.
func udpPair(addr [4]byte) (int, int, error) {
	var fds [2]int
	for i := range fds {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return -1, -1, fmt.Errorf("creating a UDP socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: addr}); err != nil {
			return -1, -1, fmt.Errorf("binding a UDP socket: %w", err)
		}
		fds[i] = fd
	}
	for i, fd := range fds {
		p, err := port(fds[1-i])
		if err != nil {
			return -1, -1, err
		}
		if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: addr, Port: p}); err != nil {
			return -1, -1, fmt.Errorf("connecting a UDP socket: %w", err)
		}
	}
	return fds[0], fds[1], nil
}

// inPrivateNetns runs f on an OS thread of its own in a new network
// namespace whose loopback device is up and also holds 192.0.2.1 and
// 2001:db8::1, addresses that are not loopback ones. The sockets f creates
// stay in that namespace, usable from any thread; the thread ends with f.
func inPrivateNetns(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the runtime ends the thread with the goroutine.
		runtime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("unsharing the network namespace: %w", err)
			}
			lo, err := netlink.LinkByName("lo")
			if err != nil {
				return fmt.Errorf("finding lo: %w", err)
			}
			if err := netlink.LinkSetUp(lo); err != nil {
				return fmt.Errorf("setting lo up: %w", err)
			}
			for _, ip := range []net.IP{remote4[:], remote6[:]} {
				bits := 8 * len(ip)
				a := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, Flags: unix.IFA_F_NODAD}
				if err := netlink.AddrAdd(lo, a); err != nil {
					return fmt.Errorf("adding %v to lo: %w", ip, err)
				}
			}
			return f()
		}()
	}()
	return <-errc
}
