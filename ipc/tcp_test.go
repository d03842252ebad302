package ipc

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestTCP(t *testing.T) {
	t.Run("round trips up to 1 MiB", func(t *testing.T) {
		creator, peer, _ := connectInProcess(t, "tcp", MaxMessage, time.Second)
		for _, size := range []int{1, 64, MaxMessage} {
			roundTrip(t, creator, peer, pattern(size))
			roundTrip(t, peer, creator, pattern(size))
		}
	})
	t.Run("receive times out", func(t *testing.T) { checkRecvDeadline(t, "tcp", 64) })
	t.Run("peer closed", func(t *testing.T) { checkPeerClosed(t, "tcp") })
	t.Run("no allocation", func(t *testing.T) { checkNoGarbage(t, "tcp", 64) })
	t.Run("loopback without Nagle", func(t *testing.T) {
		creator, peer, _ := connectInProcess(t, "tcp", 64, time.Second)
		for end, fd := range map[string]int{"creator": creator.(*streamConn).fd, "peer": peer.(*socketStream).fd} {
			if v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY); err != nil || v == 0 {
				t.Errorf("%s: TCP_NODELAY %d (%v)", end, v, err)
			}
			for _, get := range []func(int) (unix.Sockaddr, error){unix.Getsockname, unix.Getpeername} {
				sa, err := get(fd)
				if in, ok := sa.(*unix.SockaddrInet4); err != nil || !ok || in.Addr != loopback {
					t.Errorf("%s: address %+v (%v), want 127.0.0.1", end, sa, err)
				}
			}
		}
	})
	t.Run("accepts only the peer", func(t *testing.T) {
		m, _ := Lookup("tcp")
		ch, err := newChannel("tcp", 64, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		creator, err := m.Create(ch)
		if err != nil {
			t.Fatal(err)
		}
		defer creator.Close()
		intruder, err := m.Join(ch)
		if err != nil {
			t.Fatal(err)
		}
		defer intruder.Close()
		ch.Params["peer_port"] = "1"
		if err := creator.(Accepter).Accept(ch); err == nil || !strings.Contains(err.Error(), "not from the peer") {
			t.Errorf("accepting a connection from another port than the peer's: %v", err)
		}
	})
}
