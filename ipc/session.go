package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// PeerArg is the hidden subcommand that makes a re-executed binary serve as
// the peer of a channel. A binary that starts sessions must call ServePeer
// when it sees it.
const PeerArg = "__ipc-peer"

// specEnv carries the channel's description to the peer.
const specEnv = "IPCWATCH_PEER_SPEC"

// DefaultTimeout bounds each wait for the peer unless Options says otherwise.
const DefaultTimeout = 5 * time.Second

// ErrPeer reports that the peer died, hung or failed.
var ErrPeer = errors.New("peer failed")

// SessionOptions configure a session.
type SessionOptions struct {
	Size    int           // message size in bytes
	CPU     Placement     // where the two ends run
	Timeout time.Duration // how long any wait for the peer may last; DefaultTimeout if 0
	// PeerCommand is the argv that re-executes this binary as the peer;
	// {os.Executable(), PeerArg} if empty.
	PeerCommand []string
}

// Session is a live channel between this process and a peer process. Its
// methods must be called from the goroutine that called Start: that goroutine
// is locked to its OS thread (and pinned to a CPU) until Close.
type Session struct {
	mech    Mechanism
	ch      *Channel
	ep      Endpoint
	cmd     *exec.Cmd
	ctl     *os.File
	ctlDec  *json.Decoder
	stderr  *boundedBuffer
	unpin   func()
	payload *payload
	msg     []byte
	buf     []byte
	cpu     Placement
	peerPID int

	progress atomic.Int64 // messages moved; the watchdog looks for change
	busy     atomic.Bool  // a phase is under way
	failed   atomic.Bool  // the watchdog gave up on the peer
	exited   chan struct{}
	waitErr  error
	stop     chan struct{}
	wg       sync.WaitGroup
	closed   bool
}

// Accepter is implemented by creator endpoints that finish connecting after
// the peer has joined (accepting a connection, learning the peer's thread).
type Accepter interface {
	Accept(ch *Channel) error
}

// Start creates a channel of the named mechanism and a peer process joined to
// it. The calling goroutine stays locked to its thread until Close.
func Start(ctx context.Context, name string, o SessionOptions) (s *Session, err error) {
	m, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if err := CheckSize(m, o.Size); err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	selfCPU, peerCPU, err := o.CPU.cpus()
	if err != nil {
		return nil, err
	}
	ch, err := newChannel(name, o.Size, o.Timeout)
	if err != nil {
		return nil, err
	}
	s = &Session{mech: m, ch: ch, cpu: o.CPU, payload: newPayload(o.Size),
		msg: make([]byte, o.Size), buf: make([]byte, o.Size),
		exited: make(chan struct{}), stop: make(chan struct{})}
	if s.cpu == "" {
		s.cpu = AnyCPU
	}
	// The thread that forks the peer must outlive it (the peer's parent-death
	// signal follows that thread), and Create may bind objects to it.
	s.unpin, err = pinThread(-1)
	if err != nil {
		ch.Close()
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	if s.ep, err = m.Create(ch); err != nil {
		return s, fmt.Errorf("creating %s channel: %w", name, err)
	}
	if err = s.startPeer(ctx, o, peerCPU); err != nil {
		return s, err
	}
	if err = s.pinSelf(selfCPU); err != nil {
		return s, err
	}
	return s, nil
}

func (s *Session) pinSelf(cpu int) error {
	if cpu < 0 {
		return nil
	}
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("reading CPU affinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pinning to CPU %d: %w", cpu, err)
	}
	unlock := s.unpin
	s.unpin = func() {
		// A thread whose affinity cannot be restored stays locked and
		// ends with its goroutine rather than serve others pinned.
		if unix.SchedSetaffinity(0, &old) == nil {
			unlock()
		}
	}
	return nil
}

// PeerPID is the peer process's pid.
func (s *Session) PeerPID() int { return s.peerPID }

// Channel returns the session's channel (its ID and object names).
func (s *Session) Channel() *Channel { return s.ch }

// PingPong sends n messages, each echoed back by the peer, and returns each
// round trip's duration in nanoseconds, in order.
func (s *Session) PingPong(n int, progress func(done int)) ([]int64, error) {
	samples := make([]int64, n)
	if err := s.sendCtl(ctlMsg{Op: "echo", N: n}); err != nil {
		return nil, err
	}
	s.busy.Store(true)
	defer s.busy.Store(false)
	for i := 0; i < n; i++ {
		seq := uint64(i)
		s.payload.stamp(s.msg, seq)
		t0 := time.Now()
		if err := s.ep.Send(s.msg); err != nil {
			return nil, s.peerError(fmt.Sprintf("sending message %d", i), err)
		}
		if err := s.ep.Recv(s.buf); err != nil {
			return nil, s.peerError(fmt.Sprintf("receiving echo %d", i), err)
		}
		samples[i] = int64(time.Since(t0))
		if err := s.payload.check(s.buf, seq); err != nil {
			return nil, fmt.Errorf("checking echo: %w", err)
		}
		s.progress.Add(1)
		if progress != nil && i&1023 == 1023 {
			progress(i + 1)
		}
	}
	return samples, s.awaitOK("echo")
}

// Stream sends n messages one way and returns the time until the peer had
// received and checked them all.
func (s *Session) Stream(n int, progress func(done int)) (time.Duration, error) {
	if err := s.sendCtl(ctlMsg{Op: "sink", N: n}); err != nil {
		return 0, err
	}
	s.busy.Store(true)
	defer s.busy.Store(false)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		s.payload.stamp(s.msg, uint64(i))
		if err := s.ep.Send(s.msg); err != nil {
			return 0, s.peerError(fmt.Sprintf("sending message %d", i), err)
		}
		s.progress.Add(1)
		if progress != nil && i&1023 == 1023 {
			progress(i + 1)
		}
	}
	if err := s.awaitOK("sink"); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// Close ends the peer, removes every object of the channel and unlocks the
// calling goroutine's thread.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.cmd != nil {
		if s.sendCtl(ctlMsg{Op: "exit"}) != nil {
			s.cmd.Process.Kill()
		}
		select {
		case <-s.exited:
		case <-time.After(s.ch.Timeout):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	close(s.stop)
	s.wg.Wait()
	if s.ep != nil {
		if err := s.ep.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing endpoint: %w", err))
		}
	}
	if s.ctl != nil {
		s.ctl.Close()
	}
	if err := s.ch.Close(); err != nil {
		errs = append(errs, err)
	}
	if s.unpin != nil {
		s.unpin()
		s.unpin = nil
	}
	return errors.Join(errs...)
}
