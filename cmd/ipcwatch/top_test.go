package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"github.com/ipcwatch/ipcwatch/top"
)

// runIpcwatch runs the test binary as ipcwatch, as uid (-1: as this
// process), and returns its stdout, stderr and exit code.
func runIpcwatch(t *testing.T, bin string, uid int, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), topTestEnv+"=main")
	if uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// section returns the lines of one section of a batch iteration, header
// included, up to the next blank line.
func section(iteration, name string) []string {
	_, rest, ok := strings.Cut(iteration, "\n"+name+"\n")
	if !ok {
		return nil
	}
	body, _, _ := strings.Cut(rest, "\n\n")
	return strings.Split(body, "\n")
}

// rowOf returns the fields of the first line whose fields start with want.
func rowOf(lines []string, want ...string) []string {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= len(want) && strings.Join(f[:len(want)], " ") == strings.Join(want, " ") {
			return f
		}
	}
	return nil
}

func TestTopBatchFindsWorkload(t *testing.T) {
	testutil.RequirePrivileged(t)
	ipcwatch, workload := testBinaries(t)
	w := startWorkload(t, workload, "steady", t.TempDir(), -1)
	pid := strconv.Itoa(w.Process.Pid)

	out, stderr, code := runIpcwatch(t, ipcwatch, -1, "top", "-b", "-n", "2", "-d", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	iterations := strings.Split(out, "ipcwatch top - ")[1:]
	if len(iterations) != 2 {
		t.Fatalf("%d iterations, want 2:\n%s", len(iterations), out)
	}
	for i, it := range iterations {
		if strings.Contains(it, "not seen: IPC activity") {
			t.Errorf("iteration %d: the probes did not load:\n%s", i+1, it)
		}
		procs := section(it, "PROCESSES")
		if len(procs) == 0 || strings.Join(strings.Fields(procs[0]), " ") != "PID COMM CALLS/s BYTES/s ERR/s BLOCKED OBJECTS MECHANISMS" {
			t.Fatalf("iteration %d: no process table:\n%s", i+1, it)
		}
		row := rowOf(procs, pid, workloadComm)
		if row == nil {
			t.Fatalf("iteration %d: workload %s not in the processes:\n%s", i+1, pid, strings.Join(procs, "\n"))
		}
		// About 200 writes, 200 reads and 20 signals a second.
		calls, err := strconv.ParseFloat(row[2], 64)
		if err != nil || calls < 50 || calls > 1000 {
			t.Errorf("iteration %d: workload calls/s %q, want about 420", i+1, row[2])
		}
		if objects, _ := strconv.Atoi(row[6]); objects < 1 || row[7] != "pipe" {
			t.Errorf("iteration %d: workload row %q, want 1+ objects and pipe busiest", i+1, row)
		}
		end := pid + "/" + workloadComm
		if rowOf(section(it, "CHANNELS"), "pipe") == nil || !strings.Contains(strings.Join(section(it, "CHANNELS"), "\n"), end+" -> "+end) {
			t.Errorf("iteration %d: the workload's pipe is not among the channels", i+1)
		}
		if rowOf(section(it, "SIGNALS"), "SIGUSR1", end, end) == nil {
			t.Errorf("iteration %d: the workload's SIGUSR1 is not among the signals:\n%s", i+1, strings.Join(section(it, "SIGNALS"), "\n"))
		}
		if mechs := section(it, "MECHANISMS"); rowOf(mechs, "pipe", "write") == nil || rowOf(mechs, "pipe", "all") == nil {
			t.Errorf("iteration %d: no pipe write in the mechanisms:\n%s", i+1, strings.Join(mechs, "\n"))
		}
	}
}

func TestTopJSONExactCounts(t *testing.T) {
	testutil.RequirePrivileged(t)
	ipcwatch, workload := testBinaries(t)
	dir := t.TempDir()
	w := startWorkload(t, workload, "burst", dir, -1)
	pid := w.Process.Pid
	if !waitFile(filepath.Join(dir, "ready"), 10*time.Second) {
		t.Fatal("the workload is not ready")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ipcwatch, "top", "-o", "json", "-n", "3", "-d", "1", "-p", strconv.Itoa(pid))
	cmd.Env = append(os.Environ(), topTestEnv+"=main")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var iterations []top.Iteration
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var it top.Iteration
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			t.Fatalf("iteration %d is not JSON: %v: %s", len(iterations)+1, err, sc.Bytes())
		}
		iterations = append(iterations, it)
		if len(iterations) == 1 {
			// The probes are loaded: start the traffic.
			if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if !waitFile(filepath.Join(dir, "done"), 10*time.Second) {
				t.Fatal("the workload did not finish its burst")
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ipcwatch top: %v: %s", err, stderr.String())
	}
	if len(iterations) != 3 {
		t.Fatalf("%d iterations, want 3", len(iterations))
	}
	var calls, errs, bytes uint64
	for i, it := range iterations {
		if !it.Activity || it.IntervalSeconds < 0.9 || it.IntervalSeconds > 2 || len(it.Missing) != 0 {
			t.Errorf("iteration %d: activity %v interval %vs missing %v", i+1, it.Activity, it.IntervalSeconds, it.Missing)
		}
		if len(it.Processes) != 1 || it.Processes[0].PID != pid || it.Processes[0].Comm != workloadComm {
			t.Fatalf("iteration %d: processes %+v, want only the workload %d", i+1, it.Processes, pid)
		}
		for _, m := range it.Processes[0].Mechanisms {
			if m.Mechanism != "pipe" {
				continue
			}
			calls, errs, bytes = calls+m.Calls, errs+m.Errors, bytes+m.Bytes
		}
		if !hasPipe(it.Channels, pid) {
			t.Errorf("iteration %d: channels %+v lack the workload's pipe", i+1, it.Channels)
		}
	}
	if calls != 2*burstWrites || errs != 0 || bytes != 2*burstWrites*burstSize {
		t.Errorf("workload pipe calls %d errors %d bytes %d over all iterations, want %d, 0, %d",
			calls, errs, bytes, 2*burstWrites, 2*burstWrites*burstSize)
	}
}

// hasPipe tells whether a pipe has pid as its only writer and reader.
func hasPipe(chs []top.Channel, pid int) bool {
	for _, c := range chs {
		if c.Type == "pipe" && len(c.Writers) == 1 && c.Writers[0].PID == pid && len(c.Readers) == 1 && c.Readers[0].PID == pid &&
			c.Queued != nil && *c.Queued == 0 {
			return true
		}
	}
	return false
}

func TestTopWithoutRoot(t *testing.T) {
	testutil.RequirePrivileged(t) // to become nobody
	const nobody = 65534
	ipcwatch, workload := testBinaries(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	w := startWorkload(t, workload, "steady", dir, nobody)
	pid := strconv.Itoa(w.Process.Pid)

	out, stderr, code := runIpcwatch(t, ipcwatch, nobody, "top", "-b", "-n", "1", "-d", "0.3", "--view", "processes,channels,signals")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "not seen: IPC activity (calls, bytes, time blocked, latency, signals sent): the BPF probes need root") {
		t.Errorf("no clear message about the missing probes:\n%s", out)
	}
	procs := section(out, "PROCESSES")
	row := rowOf(procs, pid, workloadComm)
	if row == nil || row[2] != "-" || row[6] == "0" {
		t.Errorf("workload row %q, want no rates and its objects:\n%s", row, strings.Join(procs, "\n"))
	}
	end := pid + "/" + workloadComm
	if !strings.Contains(strings.Join(section(out, "CHANNELS"), "\n"), end+" -> "+end) {
		t.Errorf("the workload's pipe is not among the channels:\n%s", out)
	}
	if strings.Contains(out, "\nMECHANISMS\n") {
		t.Error("--view did not select the sections")
	}
}

func TestTopUsageErrors(t *testing.T) {
	ipcwatch, _ := testBinaries(t)
	for _, args := range [][]string{
		{"top", "-b", "-d", "0"},
		{"top", "-b", "-d", "soon"},
		{"top", "-b", "--view", "nope"},
		{"top", "-b", "--iterations=-1"},
		{"top", "-b", "-p", "0"},
		{"top", "-b", "--path.procfs", "/nonexistent"},
		{"top"}, // stdout is not a terminal
	} {
		out, stderr, code := runIpcwatch(t, ipcwatch, -1, args...)
		if code != exitUsage || out != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "ipcwatch top: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line", args, code, out, stderr)
		}
	}
}
