package ipc

// The peer process: starting it with the channel's files, the control
// protocol (JSON messages over a socket pair), and watching it so that no
// wait outlives a dead or hung peer.

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
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

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
