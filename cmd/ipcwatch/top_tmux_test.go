package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

// tmux drives one detached tmux session on its own server.
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, width, height int, env ...string) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: run scripts/deps.sh")
	}
	s := &tmux{t: t, socket: fmt.Sprintf("ipcwatch-test-%d", os.Getpid())}
	shell := append([]string{"env", "PS1=$ ", "LANG=C.UTF-8"}, env...)
	shell = append(shell, "sh")
	s.run(append([]string{"new-session", "-d", "-s", "top", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height)}, shell...)...)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmux) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

// keys sends tmux key names (Enter, C-c, Space) or literal text.
func (s *tmux) keys(keys ...string) { s.run(append([]string{"send-keys", "-t", "top"}, keys...)...) }

func (s *tmux) literal(text string) { s.run("send-keys", "-t", "top", "-l", text) }

func (s *tmux) screen() []string {
	return strings.Split(strings.TrimRight(s.run("capture-pane", "-p", "-t", "top"), "\n"), "\n")
}

// waitFor polls the screen until ok holds, for at most 15 seconds.
func (s *tmux) waitFor(what string, ok func(lines []string) bool) []string {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		lines := s.screen()
		if ok(lines) {
			return lines
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %s:\n%s", what, strings.Join(lines, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *tmux) waitText(texts ...string) []string {
	s.t.Helper()
	return s.waitFor(fmt.Sprintf("%q", texts), func(lines []string) bool {
		all := strings.Join(lines, "\n")
		for _, t := range texts {
			if !strings.Contains(all, t) {
				return false
			}
		}
		return true
	})
}

// rowsWith returns the lines whose fields start with want.
func rowsWith(lines []string, want ...string) bool { return rowOf(lines, want...) != nil }

func TestTopInteractiveInTmux(t *testing.T) {
	testutil.RequirePrivileged(t)
	ipcwatch, workload := testBinaries(t)
	dir := t.TempDir()
	w := startWorkload(t, workload, "steady", dir, -1)
	pid := strconv.Itoa(w.Process.Pid)
	end := pid + "/" + workloadComm
	s := newTmux(t, 120, 32, topTestEnv+"=main")
	// Each run saves the terminal settings before and after, and its exit
	// code.
	start := func(n int, command string) {
		s.literal(fmt.Sprintf("stty -g > %s/before%d; %s; echo EXIT$?; stty -g > %s/after%d", dir, n, command, dir, n))
		s.keys("Enter")
	}
	restored := func(n int, code int) {
		t.Helper()
		lines := s.waitText(fmt.Sprintf("EXIT%d", code))
		if strings.Contains(strings.Join(lines, "\n"), "1 processes") {
			t.Errorf("run %d: the view is still drawn after exit:\n%s", n, strings.Join(lines, "\n"))
		}
		before, err1 := os.ReadFile(filepath.Join(dir, fmt.Sprint("before", n)))
		after, err2 := waitRead(filepath.Join(dir, fmt.Sprint("after", n)))
		if err1 != nil || err2 != nil || len(before) == 0 || string(before) != string(after) {
			t.Errorf("run %d: terminal settings %q before, %q after (%v, %v)", n, before, after, err1, err2)
		}
	}

	start(1, ipcwatch+" top -d 0.5")
	s.waitFor("the workload's process row", func(l []string) bool { return rowsWith(l, pid, workloadComm) })
	s.waitText("1 processes", "CALLS/s▼", "probes ", "q quit")

	s.keys("2")
	s.waitFor("pipe rows in mechanisms", func(l []string) bool { return rowsWith(l, "pipe", "all") && rowsWith(l, "pipe", "write") })
	s.keys("4")
	s.waitFor("the workload's signals", func(l []string) bool { return rowsWith(l, "SIGUSR1", end, end) })

	// Filter by name: only the workload is left, in every view.
	s.keys("1", "/")
	s.literal(workloadComm[:8])
	s.keys("Enter")
	lines := s.waitText("filter: " + workloadComm[:8])
	for _, l := range lines[4 : len(lines)-1] {
		if f := strings.Fields(l); len(f) > 0 && !strings.Contains(l, workloadComm) {
			t.Errorf("filtered row %q lacks %s", l, workloadComm)
		}
	}
	s.keys("3")
	s.waitText(end + " -> " + end)
	// Escape alone: followed at once by a key, it reads as Alt+key.
	s.keys("Escape")
	s.waitFor("the filter cleared", func(l []string) bool { return !strings.Contains(strings.Join(l, "\n"), "filter: ") })
	s.keys("1")
	s.waitText("CALLS/s▼")

	// Sort by the next column, then reverse it.
	s.keys(">")
	s.waitText("BYTES/s▼")
	s.keys("r")
	s.waitText("BYTES/s▲")

	// Pause freezes the clock in the title; + doubles the interval.
	s.keys("Space")
	frozen := s.waitText("PAUSED")[0]
	time.Sleep(1500 * time.Millisecond)
	if now := s.screen()[0]; now != frozen {
		t.Errorf("paused, the title changed from %q to %q", frozen, now)
	}
	s.keys("Space", "+")
	s.waitFor("resumed with 1s", func(l []string) bool { return strings.Contains(l[0], "every 1s") && !strings.Contains(l[0], "PAUSED") })

	s.keys("h")
	s.waitText("BLOCKED  time in IPC syscalls", "Keys")
	s.keys("h")

	// A smaller terminal: the footer moves up to the last line.
	s.run("resize-window", "-t", "top", "-x", "90", "-y", "20")
	s.waitFor("the view redrawn at 90x20", func(l []string) bool {
		return len(l) == 20 && strings.HasPrefix(l[19], "q quit") && strings.HasPrefix(l[0], "ipcwatch top")
	})

	s.keys("q")
	restored(1, 0)

	start(2, ipcwatch+" top")
	s.waitText("1 processes")
	s.keys("C-c")
	restored(2, 0)

	// SIGTERM: interrupted, exit code 130, terminal restored.
	start(3, fmt.Sprintf("sh -c 'echo $$ > %s/pid; exec %s top'", dir, ipcwatch))
	s.waitText("1 processes")
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	topPID, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(topPID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	restored(3, exitInterrupted)
	s.waitText("ipcwatch top: interrupted")
}

// waitRead reads a file the shell writes after the command exits.
func waitRead(path string) ([]byte, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 || time.Now().After(deadline) {
			return b, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
