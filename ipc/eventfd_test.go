package ipc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// eventfdIDs returns the eventfd-id (fdinfo, Linux 6.3) of each eventfd
// process pid holds, by descriptor number.
func eventfdIDs(t *testing.T, pid int) map[int]string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]string{}
	for _, e := range entries {
		if link, _ := os.Readlink(filepath.Join(dir, e.Name())); link != "anon_inode:[eventfd]" {
			continue
		}
		fd, _ := strconv.Atoi(e.Name())
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "eventfd-id:"); ok {
				ids[fd] = strings.TrimSpace(v)
			}
		}
		if ids[fd] == "" {
			t.Skip("fdinfo shows no eventfd-id (needs Linux 6.3)")
		}
	}
	return ids
}

func TestEventfdCrossesSCMRights(t *testing.T) {
	s, err := Start(context.Background(), "eventfd", testOptions(8))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.PingPong(100, nil); err != nil {
		t.Fatal(err)
	}
	ep := s.ep.(*eventfdEndpoint)
	mine := eventfdIDs(t, os.Getpid())
	theirs := eventfdIDs(t, s.PeerPID())
	for _, fd := range []int{ep.r, ep.w} {
		id := mine[fd]
		found := false
		for peerFD, peerID := range theirs {
			if peerID != id {
				continue
			}
			found = true
			// The peer inherits only the control socket and the socket
			// that carried the rights: the eventfd came over SCM_RIGHTS.
			if peerFD <= firstFile+1 {
				t.Errorf("the peer holds eventfd %s at inherited descriptor %d", id, peerFD)
			}
		}
		if !found {
			t.Errorf("the peer does not hold the creator's eventfd %s (descriptor %d); it holds %v", id, fd, theirs)
		}
	}
}

func TestEventfd(t *testing.T) {
	t.Run("payloads", func(t *testing.T) {
		creator, peer, _ := connectInProcess(t, "eventfd", 8, time.Second)
		for _, p := range []uint64{0, 1, 0xff, 1 << 40, eventfdMaxPayload} {
			msg := binary.LittleEndian.AppendUint64(nil, p)
			roundTrip(t, creator, peer, msg)
			roundTrip(t, peer, creator, msg)
		}
		roundTrip(t, creator, peer, []byte{1, 2, 3})
	})
	t.Run("payload it cannot carry", func(t *testing.T) {
		creator, _, _ := connectInProcess(t, "eventfd", 8, time.Second)
		err := creator.Send(binary.LittleEndian.AppendUint64(nil, eventfdMaxPayload+1))
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "cannot be carried") {
			t.Errorf("sending 2^63-2: got %v, want an error saying it cannot be carried", err)
		}
		if err := creator.Send(make([]byte, 9)); !errors.Is(err, ErrTooLarge) {
			t.Errorf("sending 9 bytes: got %v, want ErrTooLarge", err)
		}
	})
	t.Run("wider than the message", func(t *testing.T) {
		creator, peer, _ := connectInProcess(t, "eventfd", 8, time.Second)
		if err := peer.Send([]byte{1, 2, 3, 4}); err != nil {
			t.Fatal(err)
		}
		if err := creator.Recv(make([]byte, 3)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("receiving a 4-byte payload as 3 bytes: got %v, want ErrCorrupt", err)
		}
	})
	t.Run("counter with no message", func(t *testing.T) {
		creator, peer, _ := connectInProcess(t, "eventfd", 8, time.Second)
		var b [8]byte
		binary.NativeEndian.PutUint64(b[:], 5)
		if _, err := unix.Write(peer.(*eventfdEndpoint).w, b[:]); err != nil {
			t.Fatal(err)
		}
		if err := creator.Recv(make([]byte, 8)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("receiving a bare counter of 5: got %v, want ErrCorrupt", err)
		}
	})
	t.Run("a second message waits for the first to be read", func(t *testing.T) {
		creator, peer, _ := connectInProcess(t, "eventfd", 8, time.Second)
		if err := creator.Send([]byte{1}); err != nil {
			t.Fatal(err)
		}
		second := make(chan error, 1)
		go func() { second <- creator.Send([]byte{2}) }()
		select {
		case err := <-second:
			t.Fatalf("the second send returned before the first message was read: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		buf := make([]byte, 1)
		for want := byte(1); want <= 2; want++ {
			if err := peer.Recv(buf); err != nil || buf[0] != want {
				t.Fatalf("received %v (%v), want %d", buf, err, want)
			}
		}
		if err := <-second; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no allocation", func(t *testing.T) { checkNoGarbage(t, "eventfd", 8) })
	t.Run("interrupt ends a blocked receive", func(t *testing.T) {
		creator, _, _ := connectInProcess(t, "eventfd", 8, time.Second)
		checkInterrupted(t, creator, func() error { return creator.Recv(make([]byte, 8)) })
	})
	t.Run("interrupt ends a blocked send", func(t *testing.T) {
		creator, _, _ := connectInProcess(t, "eventfd", 8, time.Second)
		if err := creator.Send([]byte{1}); err != nil {
			t.Fatal(err)
		}
		checkInterrupted(t, creator, func() error { return creator.Send([]byte{2}) })
	})
}

// checkInterrupted runs call, which must block, interrupts ep and checks that
// call then fails.
func checkInterrupted(t *testing.T, ep Endpoint, call func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		t.Fatalf("returned before the interrupt: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	ep.(Interrupter).Interrupt()
	select {
	case err := <-done:
		if err == nil {
			t.Error("the interrupted call succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still blocked 10s after the interrupt")
	}
}
