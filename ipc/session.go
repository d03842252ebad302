package ipc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// control messages between the creator and the peer.
type ctlMsg struct {
	Op     string            `json:"op,omitempty"` // echo, sink, exit
	N      int               `json:"n,omitempty"`
	Ready  bool              `json:"ready,omitempty"`
	OK     bool              `json:"ok,omitempty"`
	Error  string            `json:"error,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// peerSpec is what the peer learns from its environment.
type peerSpec struct {
	Mechanism string            `json:"mechanism"`
	Size      int               `json:"size"`
	ID        string            `json:"id"`
	Dir       string            `json:"dir"`
	Params    map[string]string `json:"params"`
	Files     int               `json:"files"`
	CPU       int               `json:"cpu"`
	TimeoutNS int64             `json:"timeout_ns"`
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

func (s *Session) startPeer(ctx context.Context, o SessionOptions, peerCPU int) error {
	argv := o.PeerCommand
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding own executable: %w", err)
		}
		argv = []string{exe, PeerArg}
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("creating control socket: %w", err)
	}
	if err := unix.SetNonblock(pair[0], true); err != nil {
		unix.Close(pair[0])
		unix.Close(pair[1])
		return fmt.Errorf("creating control socket: %w", err)
	}
	s.ctl = os.NewFile(uintptr(pair[0]), "ipc-control")
	s.ctlDec = json.NewDecoder(s.ctl)
	peerCtl := os.NewFile(uintptr(pair[1]), "ipc-control-peer")
	defer peerCtl.Close()

	spec, err := json.Marshal(peerSpec{
		Mechanism: s.ch.Mechanism, Size: s.ch.Size, ID: s.ch.ID, Dir: s.ch.Dir,
		Params: s.ch.Params, Files: len(s.ch.Files), CPU: peerCPU, TimeoutNS: int64(s.ch.Timeout),
	})
	if err != nil {
		return fmt.Errorf("encoding peer spec: %w", err)
	}
	s.stderr = &boundedBuffer{max: 4096}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), specEnv+"="+string(spec))
	cmd.ExtraFiles = append([]*os.File{peerCtl}, s.ch.Files...)
	cmd.Stderr = s.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting peer: %w", err)
	}
	s.cmd = cmd
	s.peerPID = cmd.Process.Pid
	// The peer has its copies now; ours would keep pipes open after it dies.
	s.ch.closeFiles()
	s.wg.Add(2)
	go s.waitPeer()
	go s.watchdog(o.Timeout)

	var ready ctlMsg
	if err := s.readCtl(&ready); err != nil {
		return s.peerError("waiting for peer to join", err)
	}
	if !ready.Ready {
		return fmt.Errorf("%w: joining %s channel: %s", ErrPeer, s.ch.Mechanism, ready.Error)
	}
	for k, v := range ready.Params {
		s.ch.Params[k] = v
	}
	if a, ok := s.ep.(Accepter); ok {
		s.busy.Store(true)
		err := a.Accept(s.ch)
		s.busy.Store(false)
		if err != nil {
			return s.peerError("accepting peer", err)
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

func (s *Session) awaitOK(phase string) error {
	var r ctlMsg
	if err := s.readCtl(&r); err != nil {
		return s.peerError("waiting for peer to finish "+phase, err)
	}
	if !r.OK {
		return fmt.Errorf("%w: %s: %s", ErrPeer, phase, r.Error)
	}
	return nil
}

func (s *Session) sendCtl(m ctlMsg) error {
	b, _ := json.Marshal(m)
	if err := s.ctl.SetWriteDeadline(time.Now().Add(s.ch.Timeout)); err != nil {
		return err
	}
	if _, err := s.ctl.Write(b); err != nil {
		return s.peerError("telling peer "+m.Op, err)
	}
	return nil
}

func (s *Session) readCtl(m *ctlMsg) error {
	if err := s.ctl.SetReadDeadline(time.Now().Add(s.ch.Timeout)); err != nil {
		return err
	}
	return s.ctlDec.Decode(m)
}

// peerError explains a failed call: the peer's own report if it sent one,
// else how it ended.
func (s *Session) peerError(what string, err error) error {
	var r ctlMsg
	ctlErr := os.ErrClosed
	if s.ctl != nil {
		if ctlErr = s.ctl.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); ctlErr == nil {
			ctlErr = s.ctlDec.Decode(&r)
		}
	}
	if ctlErr == nil && r.Error != "" {
		return fmt.Errorf("%w: %s: %s", ErrPeer, what, r.Error)
	}
	// A peer whose control socket is closed is exiting; the channel may
	// report it (EOF, EPIPE, ECONNRESET) before wait does.
	if errors.Is(ctlErr, io.EOF) || errors.Is(ctlErr, io.ErrUnexpectedEOF) {
		select {
		case <-s.exited:
		case <-time.After(s.ch.Timeout):
		}
	}
	select {
	case <-s.exited:
		msg := strings.TrimSpace(s.stderr.String())
		if msg != "" {
			msg = ": " + msg
		}
		return fmt.Errorf("%w: %s: peer exited (%v)%s", ErrPeer, what, s.waitErr, msg)
	default:
	}
	if s.failed.Load() {
		return fmt.Errorf("%w: %s: peer made no progress for %v", ErrPeer, what, s.ch.Timeout)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (s *Session) waitPeer() {
	defer s.wg.Done()
	s.waitErr = s.cmd.Wait()
	close(s.exited)
	s.interrupt()
}

// watchdog kills a peer that makes no progress for timeout while a phase is
// under way, so that no blocking call outlives a hung peer.
func (s *Session) watchdog(timeout time.Duration) {
	defer s.wg.Done()
	tick := time.NewTicker(timeout / 4)
	defer tick.Stop()
	last, since := s.progress.Load(), time.Now()
	for {
		select {
		case <-s.stop:
			return
		case <-s.exited:
			return
		case now := <-tick.C:
			p := s.progress.Load()
			if p != last || !s.busy.Load() {
				last, since = p, now
				continue
			}
			if now.Sub(since) >= timeout {
				s.failed.Store(true)
				s.cmd.Process.Kill()
				s.interrupt()
				return
			}
		}
	}
}

func (s *Session) interrupt() {
	if i, ok := s.ep.(Interrupter); ok {
		i.Interrupt()
	}
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

// boundedBuffer keeps the first max bytes written to it.
type boundedBuffer struct {
	mu  sync.Mutex
	max int
	b   bytes.Buffer
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.b.Len(); room > 0 {
		b.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
