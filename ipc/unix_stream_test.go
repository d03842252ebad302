package ipc

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// Checks shared by the tests of the socket mechanisms (unix_stream,
// unix_dgram, unix_seqpacket, tcp) and eventfd. Each drives both ends of a
// real channel from this process.

// connectInProcess makes a channel of mechanism name, joins it from this same
// process and, where the mechanism needs it, accepts the connection. The
// channel is closed, and checked to leave nothing, at the test's end.
func connectInProcess(t *testing.T, name string, size int, timeout time.Duration) (creator, peer Endpoint, ch *Channel) {
	t.Helper()
	m, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	if ch, err = newChannel(name, size, timeout); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, ep := range []Endpoint{peer, creator} {
			if ep != nil {
				if err := ep.Close(); err != nil {
					t.Errorf("closing endpoint: %v", err)
				}
			}
		}
		if err := ch.Close(); err != nil {
			t.Errorf("closing channel: %v", err)
		}
		if left := ownLeftovers(t, os.Getpid()); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	if creator, err = m.Create(ch); err != nil {
		t.Fatalf("creating %s channel: %v", name, err)
	}
	if peer, err = m.Join(ch); err != nil {
		t.Fatalf("joining %s channel: %v", name, err)
	}
	if a, ok := creator.(Accepter); ok {
		if err := a.Accept(ch); err != nil {
			t.Fatalf("accepting: %v", err)
		}
	}
	return creator, peer, ch
}

// roundTrip sends msg from one end, receives it at the other and checks it.
// The send runs concurrently, as a large message may not fit the channel.
func roundTrip(t *testing.T, from, to Endpoint, msg []byte) {
	t.Helper()
	sent := make(chan error, 1)
	go func() { sent <- from.Send(msg) }()
	buf := make([]byte, len(msg))
	if err := to.Recv(buf); err != nil {
		t.Fatalf("receiving %d bytes: %v", len(msg), err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("sending %d bytes: %v", len(msg), err)
	}
	if string(buf) != string(msg) {
		t.Fatalf("a %d-byte message arrived altered", len(msg))
	}
}

func pattern(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// checkRecvDeadline: a receive on an idle channel fails with
// os.ErrDeadlineExceeded after about the channel's timeout.
func checkRecvDeadline(t *testing.T, name string, size int) {
	creator, _, _ := connectInProcess(t, name, size, shortTimeout)
	start := time.Now()
	err := creator.Recv(make([]byte, size))
	waited := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want os.ErrDeadlineExceeded", err)
	}
	if waited < shortTimeout/2 || waited > 10*shortTimeout {
		t.Errorf("gave up after %v with a timeout of %v", waited, shortTimeout)
	}
}

// checkPeerClosed: once the peer's end is closed, a receive ends at once with
// io.ErrUnexpectedEOF, however far away the timeout.
func checkPeerClosed(t *testing.T, name string) {
	creator, peer, _ := connectInProcess(t, name, 64, time.Hour)
	peer.Close()
	done := make(chan error, 1)
	go func() { done <- creator.Recv(make([]byte, 64)) }()
	select {
	case err := <-done:
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got %v, want io.ErrUnexpectedEOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Recv still blocked 10s after the peer closed its end")
	}
}

// checkNoGarbage: the measured loop allocates nothing.
func checkNoGarbage(t *testing.T, name string, size int) {
	creator, peer, _ := connectInProcess(t, name, size, time.Second)
	msg, buf := make([]byte, size), make([]byte, size)
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		if err == nil {
			err = errors.Join(creator.Send(msg), peer.Recv(buf), peer.Send(buf), creator.Recv(buf))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per round trip", allocs)
	}
}

// unixSocketListed tells whether /proc/net/unix shows a socket bound to name
// (an abstract name starts with "@" there).
func unixSocketListed(t *testing.T, name string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Skipf("reading /proc/net/unix: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 8 && f[7] == name {
			return true
		}
	}
	return false
}

func TestUnixStream(t *testing.T) {
	t.Run("round trips up to 1 MiB", func(t *testing.T) {
		creator, peer, _ := connectInProcess(t, "unix_stream", MaxMessage, time.Second)
		for _, size := range []int{1, 64, MaxMessage} {
			roundTrip(t, creator, peer, pattern(size))
			roundTrip(t, peer, creator, pattern(size))
		}
	})
	t.Run("receive times out", func(t *testing.T) { checkRecvDeadline(t, "unix_stream", 64) })
	t.Run("peer closed", func(t *testing.T) { checkPeerClosed(t, "unix_stream") })
	t.Run("no allocation", func(t *testing.T) { checkNoGarbage(t, "unix_stream", 64) })
	t.Run("socket path in the channel directory", func(t *testing.T) {
		_, _, ch := connectInProcess(t, "unix_stream", 64, time.Second)
		path := ch.Params["path"]
		if !strings.HasPrefix(path, ch.Dir+"/") {
			t.Errorf("socket path %q is not in the channel directory %q", path, ch.Dir)
		}
		if !unixSocketListed(t, path) {
			t.Errorf("/proc/net/unix shows no socket bound to %s", path)
		}
		ch.Close()
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket path after close: %v", err)
		}
	})
	t.Run("accepts only the peer", func(t *testing.T) {
		m, _ := Lookup("unix_stream")
		ch, err := newChannel("unix_stream", 64, time.Second)
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
		ch.Params["peer_pid"] = "1"
		if err := creator.(Accepter).Accept(ch); err == nil || !strings.Contains(err.Error(), "not from the peer") {
			t.Errorf("accepting a connection from pid %d when the peer is pid 1: %v", os.Getpid(), err)
		}
	})
}
