package collector

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

// TestUnprivileged runs an inventory as nobody: it succeeds, counts the
// processes it could not read and says what it could not see.
func TestUnprivileged(t *testing.T) {
	testutil.RequirePrivileged(t)
	// nobody cannot run the test binary where go test built it.
	dir, err := os.MkdirTemp("", "ipcwatch-collector-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "collector.test")
	data, err := os.ReadFile(os.Args[0])
	must(t, err)
	must(t, os.WriteFile(bin, data, 0o755))
	kid := startChildFrom(t, bin, "collect", nil, &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}})
	n := func(k string) int {
		v, err := strconv.Atoi(kid.report[k])
		if err != nil {
			t.Fatalf("child report %v: no %s", kid.report, k)
		}
		return v
	}
	t.Logf("as nobody: %v", kid.report)
	if n("processes") < 2 || n("unreadable") < 1 || n("unreadable") >= n("processes") {
		t.Errorf("as nobody: %v; want some processes unreadable (pid 1 is root's), not all", kid.report)
	}
	if n("missing") < 1 {
		t.Errorf("as nobody: %v; want posix_mq reported missing (the mqueue mount needs CAP_SYS_ADMIN)", kid.report)
	}
}

// TestCollectLeaksNothing checks that inventories leave no fd, goroutine or
// thread behind.
func TestCollectLeaksNothing(t *testing.T) {
	testutil.RequirePrivileged(t)
	c := New(Options{ReopenPipes: true})
	if _, err := c.Collect(context.Background()); err != nil { // warm up
		t.Fatal(err)
	}
	fds, goroutines := testutil.CountFDs(t), runtime.NumGoroutine()
	for range 5 {
		if _, err := c.Collect(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.CountFDs(t); got != fds {
		t.Errorf("fds: %d before, %d after", fds, got)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > goroutines {
		t.Errorf("goroutines: %d before, %d after", goroutines, got)
	}
}

// TestCollectCancelled returns the context's error.
func TestCollectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(Options{}).Collect(ctx); err == nil {
		t.Error("no error from a cancelled Collect")
	}
	if _, err := New(Options{Kinds: []string{"tcp"}}).Collect(context.Background()); err == nil {
		t.Error("no error for an unknown kind")
	}
}
