package ipc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

// The test binary serves as the peer (and as an orphaned creator, see
// TestSweepAfterKill) when re-executed with the right arguments.
func TestMain(m *testing.M) {
	if IsPeer(os.Args[1:]) {
		os.Exit(ServePeer())
	}
	if len(os.Args) > 1 && os.Args[1] == orphanArg {
		os.Exit(serveOrphan(os.Args[2]))
	}
	os.Exit(m.Run())
}

func testOptions(size int) SessionOptions {
	return SessionOptions{Size: size, CPU: AnyCPU, Timeout: 3 * time.Second,
		PeerCommand: []string{os.Args[0], PeerArg}}
}

// ownLeftovers lists the ipcwatch objects on the host created by pids.
func ownLeftovers(t *testing.T, pids ...int) []Leftover {
	t.Helper()
	objs, err := Objects()
	if err != nil && os.Geteuid() == 0 {
		t.Fatalf("listing ipcwatch objects: %v", err)
	}
	var mine []Leftover
	for _, o := range objs {
		for _, p := range pids {
			if o.PID == p {
				mine = append(mine, o)
			}
		}
	}
	return mine
}

func TestEveryMechanismBetweenTwoProcesses(t *testing.T) {
	testutil.RequirePrivileged(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			m, _ := Lookup(name)
			sizes := []int{64}
			if max, _ := m.MaxSize(); max < 64 {
				sizes = []int{max}
			} else {
				sizes = append(sizes, min(max, 256<<10))
			}
			for _, size := range sizes {
				fds := testutil.CountFDs(t)
				r, err := Run(context.Background(), name, Options{SessionOptions: testOptions(size), Count: 300})
				if err != nil {
					t.Fatalf("size %d: %v", size, err)
				}
				if r.Count != 300 || r.Size != size || r.Mechanism != name || len(r.Samples) != 300 {
					t.Errorf("size %d: result %+v", size, r)
				}
				if !(r.P50NS > 0 && r.P50NS <= r.P90NS && r.P90NS <= r.P99NS && r.P99NS <= r.MaxNS) {
					t.Errorf("size %d: percentiles out of order: %+v", size, r)
				}
				if r.MsgsPerSec <= 0 || r.BytesPerSec != r.MsgsPerSec*float64(size) {
					t.Errorf("size %d: throughput %v msgs/s %v B/s", size, r.MsgsPerSec, r.BytesPerSec)
				}
				if left := ownLeftovers(t, os.Getpid()); len(left) > 0 {
					t.Errorf("size %d: left behind: %v", size, left)
				}
				if got := testutil.CountFDs(t); got != fds {
					t.Errorf("size %d: %d fds open after the run, %d before", size, got, fds)
				}
			}
		})
	}
}

func TestPeerKilledMidRun(t *testing.T) {
	testutil.RequirePrivileged(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			m, _ := Lookup(name)
			max, _ := m.MaxSize()
			s, err := Start(context.Background(), name, testOptions(min(64, max)))
			if err != nil {
				t.Fatal(err)
			}
			peer := s.PeerPID()
			time.AfterFunc(50*time.Millisecond, func() { syscall.Kill(peer, syscall.SIGKILL) })
			start := time.Now()
			// Enough round trips to outlast the kill; PingPong keeps a
			// sample per round trip, so no more than that.
			_, err = s.PingPong(1<<22, nil)
			if err == nil {
				t.Fatal("ping-pong with a killed peer succeeded")
			}
			if !errors.Is(err, ErrPeer) {
				t.Errorf("error %q does not say the peer failed", err)
			}
			if waited := time.Since(start); waited > 10*time.Second {
				t.Errorf("noticing the dead peer took %v", waited)
			}
			s.Close()
			if left := ownLeftovers(t, os.Getpid(), peer); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

func TestCorruptMessageIsAnError(t *testing.T) {
	p := newPayload(64)
	msg := make([]byte, 64)
	p.stamp(msg, 7)
	if err := p.check(msg, 7); err != nil {
		t.Fatalf("intact message: %v", err)
	}
	for name, bad := range map[string][]byte{
		"flipped byte": func() []byte { b := append([]byte(nil), msg...); b[30] ^= 1; return b }(),
		"wrong seq":    msg,
		"short":        msg[:63],
	} {
		seq := uint64(7)
		if name == "wrong seq" {
			seq = 8
		}
		if err := p.check(bad, seq); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
}

func TestSizeLimits(t *testing.T) {
	for _, name := range Names() {
		m, _ := Lookup(name)
		max, limit := m.MaxSize()
		if max <= 0 || max > MaxMessage || limit == "" {
			t.Errorf("%s: MaxSize %d %q", name, max, limit)
		}
		if err := CheckSize(m, max+1); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), limit) {
			t.Errorf("%s: size %d: error %v does not name the limit %q", name, max+1, err, limit)
		}
		if err := CheckSize(m, 0); err == nil {
			t.Errorf("%s: size 0 accepted", name)
		}
	}
	if _, err := Lookup("carrier_pigeon"); !errors.Is(err, ErrUnknownMechanism) {
		t.Errorf("unknown mechanism: %v", err)
	}
}

const orphanArg = "__ipc-test-orphan"

// serveOrphan creates a channel, reports its peer's pid, and waits to be killed.
func serveOrphan(name string) int {
	s, err := Start(context.Background(), name, testOptions(8))
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		return 1
	}
	_ = s
	os.Stdout.WriteString("ready\n")
	time.Sleep(time.Minute)
	return 0
}

func TestSweepAfterKill(t *testing.T) {
	testutil.RequirePrivileged(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], orphanArg, name)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 256)
			n, _ := out.Read(buf)
			if got := string(buf[:n]); got != "ready\n" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("orphan said %q", got)
			}
			pid := cmd.Process.Pid
			cmd.Process.Kill()
			cmd.Wait()
			left := ownLeftovers(t, pid)
			if len(left) == 0 {
				t.Fatalf("a killed creator left nothing to sweep: the test sees no objects of pid %d", pid)
			}
			swept, err := Sweep()
			if err != nil {
				t.Fatalf("sweep: %v", err)
			}
			for _, l := range left {
				found := false
				for _, s := range swept {
					found = found || s == l
				}
				if !found {
					t.Errorf("sweep did not remove %v", l)
				}
			}
			if again := ownLeftovers(t, pid); len(again) > 0 {
				t.Errorf("after sweep: %v", again)
			}
		})
	}
}

func TestPercentiles(t *testing.T) {
	s := make([]int64, 100)
	for i := range s {
		s[i] = int64(100 - i)
	}
	l := summarize(s)
	if l.P50 != 50 || l.P90 != 90 || l.P99 != 99 || l.Max != 100 || l.N != 100 {
		t.Errorf("got %+v", l)
	}
}

func TestSysVKeyCarriesPID(t *testing.T) {
	for _, pid := range []int{1, 4242, 1<<22 - 1} {
		for slot := 0; slot < sysvSlots; slot++ {
			got, ok := sysvKeyPID(sysvMagic<<sysvKeyShift | pid<<4 | slot)
			if !ok || got != pid {
				t.Errorf("pid %d slot %d: got %d %v", pid, slot, got, ok)
			}
		}
	}
	if _, ok := sysvKeyPID(0x1234); ok {
		t.Error("a foreign key was taken for ipcwatch's")
	}
}
