package probes

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() { workloads["blockread"] = blockReadWork }

// blockReadWork reads one byte from fd 3, the read end of a pipe its parent
// writes to later, then exits.
func blockReadWork() error {
	_, err := unix.Read(3, make([]byte, 1))
	return err
}

// blockedInRead tells whether a thread of pid is in read(3, ...).
func blockedInRead(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(dir + task.Name() + "/syscall")
		if err == nil && strings.HasPrefix(string(b), "0 0x3 ") {
			return true
		}
	}
	return false
}

// TestBlockedNanos checks the time counted in a child's pipe read: the child
// blocks in read until the test writes, blockFor after it saw the child in
// the call, so the read lasted at least blockFor and at most the child's
// whole life.
func TestBlockedNanos(t *testing.T) {
	const blockFor = 200 * time.Millisecond
	p := load(t, Options{Groups: []Group{GroupData}})
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
	defer w.Close()
	cmd := child(t, "blockread")
	cmd.ExtraFiles = []*os.File{r}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !blockedInRead(cmd.Process.Pid) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the child never blocked in read")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(blockFor)
	if _, err := w.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	life := time.Since(start)
	s, err := p.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	c := s.Counters(MechPipe, "read", uint32(cmd.Process.Pid))
	if c.Calls != 1 || c.Bytes != 1 {
		t.Errorf("pipe reads: %d calls, %d bytes, want 1, 1", c.Calls, c.Bytes)
	}
	if got := time.Duration(c.Nanos); got < blockFor || got > life {
		t.Errorf("time in the pipe read %v, want between %v and the child's life, %v", got, blockFor, life)
	} else {
		t.Logf("time in the pipe read %v (blocked for at least %v, child's life %v)", got, blockFor, life)
	}
}
