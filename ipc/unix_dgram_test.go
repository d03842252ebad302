package ipc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestUnixDgram(t *testing.T) {
	t.Run("round trips up to the limit", func(t *testing.T) {
		max, _ := unixDgramMech{}.MaxSize()
		creator, peer, _ := connectInProcess(t, "unix_dgram", max, time.Second)
		for _, size := range []int{1, 64, 256 << 10, max} {
			roundTrip(t, creator, peer, pattern(size))
			roundTrip(t, peer, creator, pattern(size))
		}
	})
	t.Run("short message", func(t *testing.T) {
		creator, peer, _ := connectInProcess(t, "unix_dgram", 64, time.Second)
		if err := peer.Send(make([]byte, 63)); err != nil {
			t.Fatal(err)
		}
		if err := creator.Recv(make([]byte, 64)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("receiving a 63-byte datagram as 64 bytes: got %v, want ErrCorrupt", err)
		}
	})
	t.Run("truncated message", func(t *testing.T) {
		creator, peer, _ := connectInProcess(t, "unix_dgram", 64, time.Second)
		if err := peer.Send(make([]byte, 65)); err != nil {
			t.Fatal(err)
		}
		err := creator.Recv(make([]byte, 64))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("receiving a 65-byte datagram as 64 bytes: got %v, want a truncated ErrCorrupt", err)
		}
		// The datagram is gone; the next one is read whole.
		roundTrip(t, peer, creator, pattern(64))
	})
	t.Run("receive times out", func(t *testing.T) { checkRecvDeadline(t, "unix_dgram", 64) })
	t.Run("no allocation", func(t *testing.T) { checkNoGarbage(t, "unix_dgram", 64) })
	t.Run("interrupt", func(t *testing.T) {
		// A datagram socket does not see its peer die; Interrupt ends a
		// receive that would otherwise wait for its timeout.
		creator, _, _ := connectInProcess(t, "unix_dgram", 64, time.Hour)
		done := make(chan error, 1)
		go func() { done <- creator.Recv(make([]byte, 64)) }()
		time.Sleep(50 * time.Millisecond)
		creator.(Interrupter).Interrupt()
		select {
		case err := <-done:
			if err == nil {
				t.Error("interrupted Recv succeeded")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Recv still blocked 10s after the interrupt")
		}
	})
	t.Run("limit follows wmem_max", func(t *testing.T) {
		saved := wmemMaxPath
		defer func() { wmemMaxPath = saved }()
		wmemMaxPath = filepath.Join(t.TempDir(), "wmem_max")
		if err := os.WriteFile(wmemMaxPath, []byte("65536\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		max, limit := unixDgramMech{}.MaxSize()
		if max != 2*65536-32 || !strings.Contains(limit, wmemMaxPath) {
			t.Errorf("with wmem_max 65536: MaxSize %d %q, want %d naming %s", max, limit, 2*65536-32, wmemMaxPath)
		}
		os.WriteFile(wmemMaxPath, []byte("4194304\n"), 0o600)
		if max, limit := (unixDgramMech{}).MaxSize(); max != MaxMessage || limit != "ipcwatch's message cap" {
			t.Errorf("with wmem_max 4 MiB: MaxSize %d %q, want ipcwatch's cap", max, limit)
		}
	})
	t.Run("send buffer raised for large messages", func(t *testing.T) {
		max, _ := unixDgramMech{}.MaxSize()
		creator, _, _ := connectInProcess(t, "unix_dgram", max, time.Second)
		got, err := unix.GetsockoptInt(creator.(*dgramPair).fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
		if err != nil {
			t.Fatal(err)
		}
		if got < max+unixDgramOverhead {
			t.Errorf("SO_SNDBUF %d for %d-byte datagrams", got, max)
		}
	})
}
