package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary doubles as ipcwatch and as the workloads top must find,
// selected by topTestEnv. It runs them from init, before any test.
const (
	topTestEnv    = "IPCWATCH_TOP_TEST"
	topTestDirEnv = "IPCWATCH_TOP_TEST_DIR"
	// workloadComm is the name of the workload processes, from the name
	// of the link they run as.
	workloadComm = "ipcw-pipeload"
	// The burst workload's pipe traffic: writes and reads of burstSize.
	burstWrites = 1000
	burstSize   = 100
)

func init() {
	switch os.Getenv(topTestEnv) {
	case "main":
		os.Exit(run(os.Args[1:]))
	case "steady":
		os.Exit(exitOf(steadyWorkload()))
	case "burst":
		os.Exit(exitOf(burstWorkload(os.Getenv(topTestDirEnv))))
	}
}

func exitOf(err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// steadyWorkload writes 100 bytes into a pipe and reads them back about 200
// times a second, and sends itself SIGUSR1 every tenth time, for at most a
// minute.
func steadyWorkload() error {
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, syscall.SIGUSR1)
	go func() {
		for range sigs {
		}
	}()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	buf := make([]byte, 100)
	for i := 0; i < 12000; i++ {
		if _, err := unix.Write(p[1], buf); err != nil {
			return err
		}
		if _, err := unix.Read(p[0], buf); err != nil {
			return err
		}
		if i%10 == 0 {
			if err := unix.Kill(os.Getpid(), unix.SIGUSR1); err != nil {
				return err
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// burstWorkload opens a pipe, creates dir/ready, waits for dir/go, then
// writes and reads burstWrites times burstSize bytes through the pipe and
// creates dir/done; it then holds the pipe until killed (at most a minute).
// Files, not IPC, carry the handshake, so the pipe counts are exact.
func burstWorkload(dir string) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644); err != nil {
		return err
	}
	if !waitFile(filepath.Join(dir, "go"), time.Minute) {
		return errors.New("no go file")
	}
	buf := make([]byte, burstSize)
	for range burstWrites {
		if n, err := unix.Write(p[1], buf); err != nil || n != burstSize {
			return fmt.Errorf("writing: %d, %v", n, err)
		}
		if n, err := unix.Read(p[0], buf); err != nil || n != burstSize {
			return fmt.Errorf("reading: %d, %v", n, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		return err
	}
	time.Sleep(time.Minute)
	return nil
}

func waitFile(path string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// testBinaries makes dir/ipcwatch and dir/ipcw-pipeload: links to a copy of
// the test binary that any user may run.
func testBinaries(t *testing.T) (ipcwatch, workload string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "ipcwatch.test")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	ipcwatch, workload = filepath.Join(dir, "ipcwatch"), filepath.Join(dir, workloadComm)
	for _, l := range []string{ipcwatch, workload} {
		if err := os.Symlink(bin, l); err != nil {
			t.Fatal(err)
		}
	}
	return ipcwatch, workload
}

// startWorkload starts a workload (steady or burst) as uid (-1: as this
// process) and stops it at the end of the test.
func startWorkload(t *testing.T, path, mode, dir string, uid int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), topTestEnv+"="+mode, topTestDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the %s workload: %v", mode, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}
