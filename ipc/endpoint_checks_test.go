package ipc

// Checks shared by the mechanisms' tests: both ends of one channel driven
// from the test process.

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

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

// checkShortMessage: a message shorter than the receiver expects is corrupt.
func checkShortMessage(t *testing.T, name string) {
	creator, peer, _ := connectInProcess(t, name, 64, time.Second)
	if err := peer.Send(make([]byte, 10)); err != nil {
		t.Fatalf("sending 10 bytes: %v", err)
	}
	if err := creator.Recv(make([]byte, 64)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("receiving a 10-byte message as 64 bytes: got %v, want ErrCorrupt", err)
	}
}

// checkLongMessage: a message longer than the channel's size is refused.
func checkLongMessage(t *testing.T, name string) {
	creator, _, _ := connectInProcess(t, name, 64, time.Second)
	if err := creator.Send(make([]byte, 65)); err == nil {
		t.Fatal("sending 65 bytes on a 64-byte channel succeeded")
	}
}

// checkSendTimesOut: sends that nobody receives end with the timeout once the
// channel is full.
func checkSendTimesOut(t *testing.T, name string) {
	creator, _, _ := connectInProcess(t, name, 64, shortTimeout)
	msg := make([]byte, 64)
	var err error
	sent := 0
	for ; sent <= mqMaxMsg && err == nil; sent++ {
		err = creator.Send(msg)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("after %d sends nobody receives: got %v, want a deadline error", sent, err)
	}
}

// checkInterrupt: Interrupt wakes a Recv blocked on an empty channel whose
// timeout is far away, and the channel still closes cleanly.
func checkInterrupt(t *testing.T, name string) error {
	creator, _, _ := connectInProcess(t, name, 64, time.Hour)
	in, ok := creator.(Interrupter)
	if !ok {
		t.Fatalf("%T is not an Interrupter", creator)
	}
	done := make(chan error, 1)
	go func() { done <- creator.Recv(make([]byte, 64)) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Recv on an empty channel returned before the interrupt: %v", err)
	default:
	}
	in.Interrupt()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("interrupted Recv succeeded")
		}
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Recv still blocked 10s after the interrupt")
	}
	return nil
}
