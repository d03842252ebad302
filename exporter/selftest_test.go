package exporter

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"github.com/ipcwatch/ipcwatch/ipc"
	"github.com/ipcwatch/ipcwatch/probes"
)

// TestSelfTestRunOnce runs the self-test of a few mechanisms with the real
// probes: each succeeds, the probes saw exactly its traffic, and no file
// descriptor, goroutine or object is left behind.
func TestSelfTestRunOnce(t *testing.T) {
	testutil.RequirePrivileged(t)
	p, err := probes.Load(probes.Options{})
	if err != nil {
		t.Fatalf("loading probes: %v", err)
	}
	defer p.Close()
	mechs := []string{"pipe", "unix_stream", "tcp", "signal", "sysv_shm", "posix_shm", "mmap"}
	st := NewSelfTest(SelfTestConfig{Mechanisms: mechs, Probes: p, RoundTrips: 100})
	st.RunOnce(context.Background()) // warm up the runtime's own fds and threads
	fds, goroutines := testutil.CountFDs(t), runtime.NumGoroutine()

	st.RunOnce(context.Background())
	for _, m := range mechs {
		r := st.results[m]
		if r.err != nil {
			t.Errorf("%s: %v", m, r.err)
			continue
		}
		if r.observed == nil || !*r.observed {
			t.Errorf("%s: probes did not see exactly the self-test's traffic", m)
		}
	}
	if n := testutil.CountFDs(t); n != fds {
		t.Errorf("%d fds open after a run, %d before", n, fds)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after a run, %d before", n, goroutines)
	}
	left, err := ipc.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range left {
		if o.PID == ipcSelfPID() {
			t.Errorf("left behind: %v", o)
		}
	}
}

// TestSelfTestCancelled: a cancelled context ends a run at once.
func TestSelfTestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st := NewSelfTest(SelfTestConfig{Interval: time.Hour})
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if len(st.results) != 0 {
		t.Errorf("cancelled run has results: %v", st.results)
	}
}
