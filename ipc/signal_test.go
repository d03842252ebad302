package ipc

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// osThread runs functions on one locked OS thread, as a session's end does.
type osThread chan func()

func newOSThread(t *testing.T) osThread {
	th := make(osThread)
	go func() {
		// Never unlocked: the thread ends with the goroutine, whatever
		// mask a failed test left on it.
		runtime.LockOSThread()
		for f := range th {
			f()
		}
	}()
	t.Cleanup(func() { close(th) })
	return th
}

// do runs f on the thread and waits for it.
func (th osThread) do(f func()) {
	done := make(chan struct{})
	th <- func() { defer close(done); f() }
	<-done
}

// signalPair opens the two ends of a signal channel on two threads of this
// process, each as its side of a session would.
func signalPair(t *testing.T, timeout time.Duration) (creator, peer *signalEndpoint, ct, pt osThread) {
	t.Helper()
	ct, pt = newOSThread(t), newOSThread(t)
	ch, err := newChannel("signal", 8, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	var c, p Endpoint
	ct.do(func() { c, err = signalMech{}.Create(ch) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ct.do(func() { err = c.Close() }); checkClosed(t, err) })
	pt.do(func() { p, err = signalMech{}.Join(ch) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pt.do(func() { err = p.Close() }); checkClosed(t, err) })
	ct.do(func() { err = c.(Accepter).Accept(ch) })
	if err != nil {
		t.Fatal(err)
	}
	return c.(*signalEndpoint), p.(*signalEndpoint), ct, pt
}

func checkClosed(t *testing.T, err error) {
	if err != nil {
		t.Errorf("closing: %v", err)
	}
}

// signalBlocked tells whether the calling thread blocks the channel's signal.
func signalBlocked() (bool, error) {
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigBlk:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return mask&(1<<(ipcSignal-1)) != 0, err
		}
	}
	return false, errors.New("no SigBlk in /proc/thread-self/status")
}

func TestSignal(t *testing.T) {
	t.Run("payloads", func(t *testing.T) {
		creator, peer, ct, pt := signalPair(t, time.Second)
		for _, p := range []uint64{0, 1, 1<<64 - 1, 0x0123456789abcdef} {
			msg := binary.LittleEndian.AppendUint64(nil, p)
			for _, dir := range []struct {
				from, to   *signalEndpoint
				fromT, toT osThread
			}{{creator, peer, ct, pt}, {peer, creator, pt, ct}} {
				var err error
				buf := make([]byte, 8)
				dir.fromT.do(func() { err = dir.from.Send(msg) })
				if err == nil {
					dir.toT.do(func() { err = dir.to.Recv(buf) })
				}
				if err != nil || string(buf) != string(msg) {
					t.Errorf("payload %#x: received %x (%v)", p, buf, err)
				}
			}
		}
		var err error
		buf := make([]byte, 3)
		ct.do(func() { err = creator.Send([]byte{1, 2, 3}) })
		pt.do(func() { err = errors.Join(err, peer.Recv(buf)) })
		if err != nil || string(buf) != "\x01\x02\x03" {
			t.Errorf("3-byte message: received %x (%v)", buf, err)
		}
	})
	t.Run("signal from elsewhere", func(t *testing.T) {
		_, peer, _, pt := signalPair(t, time.Second)
		// A sigqueue that claims to come from pid 1.
		info := sigInfo{Signo: ipcSignal, Code: siQueue, PID: 1, Value: 7}
		_, _, errno := unix.Syscall6(unix.SYS_RT_TGSIGQUEUEINFO, uintptr(peer.pid), uintptr(peer.tid),
			ipcSignal, uintptr(unsafe.Pointer(&info)), 0, 0)
		if errno != 0 {
			t.Fatal(errno)
		}
		var err error
		pt.do(func() { err = peer.Recv(make([]byte, 8)) })
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("got %v, want ErrCorrupt", err)
		}
	})
	t.Run("receive times out", func(t *testing.T) {
		creator, _, ct, _ := signalPair(t, shortTimeout)
		var err error
		start := time.Now()
		ct.do(func() { err = creator.Recv(make([]byte, 8)) })
		if waited := time.Since(start); !errors.Is(err, os.ErrDeadlineExceeded) || waited < shortTimeout/2 || waited > 10*shortTimeout {
			t.Errorf("after %v with a timeout of %v: got %v, want os.ErrDeadlineExceeded", waited, shortTimeout, err)
		}
	})
	t.Run("interrupt", func(t *testing.T) {
		creator, _, ct, _ := signalPair(t, time.Hour)
		done := make(chan error, 1)
		go ct.do(func() { done <- creator.Recv(make([]byte, 8)) })
		time.Sleep(50 * time.Millisecond)
		creator.Interrupt()
		select {
		case err := <-done:
			if !errors.Is(err, errInterrupted) {
				t.Errorf("got %v, want the interruption", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Recv still blocked 10s after the interrupt")
		}
	})
	t.Run("peer thread gone", func(t *testing.T) {
		creator, _, ct, _ := signalPair(t, time.Second)
		var err error
		ct.do(func() {
			creator.peerTID = unix.Gettid() + 1<<20 // no such thread in this process
			err = creator.Send([]byte{1})
		})
		if !errors.Is(err, unix.ESRCH) {
			t.Errorf("got %v, want ESRCH", err)
		}
	})
	t.Run("mask restored", func(t *testing.T) {
		th := newOSThread(t)
		var before, open, after bool
		var err error
		th.do(func() {
			var errs [3]error
			defer func() { err = errors.Join(err, errors.Join(errs[:]...)) }()
			before, errs[0] = signalBlocked()
			ch := &Channel{Params: map[string]string{}, Timeout: time.Second}
			var ep Endpoint
			if ep, err = (signalMech{}).Create(ch); err != nil {
				return
			}
			open, errs[1] = signalBlocked()
			// A signal still pending at Close is discarded, not delivered.
			unix.Tgkill(os.Getpid(), unix.Gettid(), ipcSignal)
			err = ep.Close()
			after, errs[2] = signalBlocked()
		})
		if err != nil {
			t.Fatal(err)
		}
		if before || !open || after {
			t.Errorf("signal %d blocked before %v, while open %v, after close %v", ipcSignal, before, open, after)
		}
	})
	t.Run("no allocation", func(t *testing.T) {
		creator, peer, ct, pt := signalPair(t, time.Second)
		msg, buf := make([]byte, 8), make([]byte, 8)
		var allocs float64
		var err error
		// Both ends queue to each other; each runs AllocsPerRun on its thread.
		ct.do(func() {
			allocs = testing.AllocsPerRun(100, func() { err = errors.Join(err, creator.Send(msg)) })
		})
		pt.do(func() {
			allocs += testing.AllocsPerRun(100, func() { err = errors.Join(err, peer.Recv(buf)) })
		})
		if err != nil {
			t.Fatal(err)
		}
		if allocs != 0 {
			t.Errorf("%v allocations per message", allocs)
		}
	})
}
