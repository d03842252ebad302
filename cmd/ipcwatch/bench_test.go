package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"github.com/ipcwatch/ipcwatch/ipc"
)

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--mechanism", "carrier_pigeon"},
		{"bench", "--size=0"},
		{"bench", "--size=-1"},
		{"bench", "--size=2000000"},
		{"bench", "--count=0"},
		{"bench", "--count=-3"},
		{"bench", "--cpu", "middle"},
		{"bench", "-m", "signal", "--size", "64"},
		{"bench", "-m", "eventfd", "--size", "9"},
		{"bench", "--timeout=0s"},
	} {
		if code := run(args); code != exitUsage {
			t.Errorf("ipcwatch %s: exit code %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
	}
	objs, _ := ipc.Objects()
	for _, o := range objs {
		if o.PID == os.Getpid() {
			t.Errorf("a refused bench left %v", o)
		}
	}
}

// benchRow is one element of `ipcwatch bench --json`.
type benchRow struct {
	Mechanism   string  `json:"mechanism"`
	Size        int     `json:"size"`
	Count       int     `json:"count"`
	CPU         string  `json:"cpu"`
	P50         int64   `json:"p50_ns"`
	P90         int64   `json:"p90_ns"`
	P99         int64   `json:"p99_ns"`
	Max         int64   `json:"max_ns"`
	MsgsPerSec  float64 `json:"msgs_per_sec"`
	BytesPerSec float64 `json:"bytes_per_sec"`
}

func TestBenchJSON(t *testing.T) {
	testutil.RequirePrivileged(t)
	bin := buildAgent(t)
	cmd := exec.Command(bin, "bench", "-m", "pipe,posix_mq,sysv_shm", "--count", "300", "--size", "128", "--cpu", "same", "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	var rows []benchRow
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rows); err != nil {
		t.Fatalf("decoding bench --json: %v", err)
	}
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3: %+v", len(rows), rows)
	}
	seen := map[string]bool{}
	for i, r := range rows {
		seen[r.Mechanism] = true
		if r.Size != 128 || r.Count != 300 || r.CPU != "same" {
			t.Errorf("row %+v: want size 128, count 300, cpu same", r)
		}
		if !(r.P50 > 0 && r.P50 <= r.P90 && r.P90 <= r.P99 && r.P99 <= r.Max) {
			t.Errorf("row %+v: percentiles out of order", r)
		}
		if r.MsgsPerSec <= 0 || r.BytesPerSec < r.MsgsPerSec*127 || r.BytesPerSec > r.MsgsPerSec*129 {
			t.Errorf("row %+v: bytes/s is not messages/s times the size", r)
		}
		if i > 0 && rows[i-1].P50 > r.P50 {
			t.Errorf("rows not sorted by p50: %d before %d", rows[i-1].P50, r.P50)
		}
	}
	for _, m := range []string{"pipe", "posix_mq", "sysv_shm"} {
		if !seen[m] {
			t.Errorf("no row for %s", m)
		}
	}
}

// TestBenchAllAtTheirLimit runs every mechanism once: those that carry less
// than the default 64 bytes run at their limit and say so.
func TestBenchAllAtTheirLimit(t *testing.T) {
	testutil.RequirePrivileged(t)
	bin := buildAgent(t)
	out, err := exec.Command(bin, "bench", "--count", "100", "--json").Output()
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	var rows []benchRow
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(ipc.Names()) {
		t.Fatalf("%d rows for %d mechanisms", len(rows), len(ipc.Names()))
	}
	for _, r := range rows {
		m, err := ipc.Lookup(r.Mechanism)
		if err != nil {
			t.Fatal(err)
		}
		want := 64
		if max, _ := m.MaxSize(); max < want {
			want = max
		}
		if r.Size != want || r.CPU != "any" {
			t.Errorf("%s: size %d cpu %s, want %d any", r.Mechanism, r.Size, r.CPU, want)
		}
	}
}

// TestBenchSignalsLeaveNothing interrupts a bench with SIGINT and SIGTERM
// mid-run, and kills one with SIGKILL: the first two remove their objects
// before they exit, the third's are swept by the next run.
func TestBenchSignalsLeaveNothing(t *testing.T) {
	testutil.RequirePrivileged(t)
	bin := buildAgent(t)
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, exitInterrupted}, {syscall.SIGTERM, exitInterrupted}, {syscall.SIGKILL, -1}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "bench", "-m", "sysv_shm,posix_mq,fifo", "--duration", "30s", "--cpu", "cross")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := cmd.Process.Pid
			// Wait until the run has objects, so the signal lands mid-run.
			deadline := time.Now().Add(10 * time.Second)
			for len(objectsOf(t, pid)) == 0 {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("bench created no objects within 10s: %s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			start := time.Now()
			cmd.Process.Signal(tc.sig)
			err := cmd.Wait()
			if took := time.Since(start); took > 8*time.Second {
				t.Errorf("bench took %v to stop after %v", took, tc.sig)
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("bench after %v: %v", tc.sig, err)
			}
			if tc.code >= 0 {
				if exit.ExitCode() != tc.code {
					t.Errorf("exit code %d after %v, want %d; stderr: %s", exit.ExitCode(), tc.sig, tc.code, stderr.String())
				}
				if left := objectsOf(t, pid); len(left) > 0 {
					t.Errorf("left behind after %v: %v", tc.sig, left)
				}
				return
			}
			if len(objectsOf(t, pid)) == 0 {
				t.Fatal("a bench killed with SIGKILL left nothing: the sweep is not tested")
			}
			out, err := exec.Command(bin, "bench", "-m", "pipe", "--count", "10").CombinedOutput()
			if err != nil {
				t.Fatalf("next bench: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "removed") {
				t.Errorf("next bench did not say it swept: %s", out)
			}
			if left := objectsOf(t, pid); len(left) > 0 {
				t.Errorf("after the next run's sweep: %v", left)
			}
		})
	}
}

func objectsOf(t *testing.T, pid int) []ipc.Leftover {
	t.Helper()
	objs, err := ipc.Objects()
	if err != nil {
		t.Fatalf("listing ipcwatch objects: %v", err)
	}
	var mine []ipc.Leftover
	for _, o := range objs {
		if o.PID == pid {
			mine = append(mine, o)
		}
	}
	return mine
}
