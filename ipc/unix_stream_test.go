package ipc

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// Checks shared by the tests of the socket mechanisms (unix_stream,
// unix_dgram, unix_seqpacket, tcp) and eventfd. Each drives both ends of a
// real channel from this process.

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
