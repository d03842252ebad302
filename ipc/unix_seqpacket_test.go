package ipc

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUnixSeqpacket(t *testing.T) {
	t.Run("round trips up to the limit", func(t *testing.T) {
		max, _ := unixSeqpacketMech{}.MaxSize()
		creator, peer, _ := connectInProcess(t, "unix_seqpacket", max, time.Second)
		for _, size := range []int{max, 256 << 10} {
			roundTrip(t, creator, peer, pattern(size))
			roundTrip(t, peer, creator, pattern(size))
		}
	})
	t.Run("short message", func(t *testing.T) {
		creator, peer, _ := connectInProcess(t, "unix_seqpacket", 64, time.Second)
		if err := peer.Send(make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
		if err := creator.Recv(make([]byte, 64)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("receiving a 10-byte message as 64 bytes: got %v, want ErrCorrupt", err)
		}
	})
	t.Run("long message", func(t *testing.T) {
		creator, peer, _ := connectInProcess(t, "unix_seqpacket", 64, time.Second)
		if err := peer.Send(make([]byte, 65)); err != nil {
			t.Fatal(err)
		}
		err := creator.Recv(make([]byte, 64))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("receiving a 65-byte message as 64 bytes: got %v, want a truncated ErrCorrupt", err)
		}
	})
	t.Run("receive times out", func(t *testing.T) { checkRecvDeadline(t, "unix_seqpacket", 64) })
	t.Run("peer closed", func(t *testing.T) { checkPeerClosed(t, "unix_seqpacket") })
	t.Run("no allocation", func(t *testing.T) { checkNoGarbage(t, "unix_seqpacket", 64) })
	t.Run("abstract address", func(t *testing.T) {
		_, _, ch := connectInProcess(t, "unix_seqpacket", 64, time.Second)
		want := "@" + ch.ID + "-seqpacket"
		if got := ch.Params["address"]; got != "\x00"+want[1:] {
			t.Errorf("address %q, want the abstract name %q", got, want)
		}
		if !unixSocketListed(t, want) {
			t.Errorf("/proc/net/unix shows no socket bound to %s", want)
		}
	})
}
