package top

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

// TestSourceNoLeak opens, samples and closes the probes and the inventory
// three times, and finds the fds and goroutines it started with.
func TestSourceNoLeak(t *testing.T) {
	testutil.RequirePrivileged(t)
	fds, goroutines := testutil.CountFDs(t), runtime.NumGoroutine()
	for range 3 {
		src, err := Open(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !src.HasProbes() || len(src.Missing()) != 0 {
			t.Fatalf("as root, the probes did not load: %v", src.Missing())
		}
		for range 2 {
			s, err := src.Sample(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if s.Snapshot == nil || s.Inventory == nil || s.Inventory.Processes == 0 {
				t.Fatalf("sample %+v lacks the probes or the inventory", s)
			}
		}
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := testutil.CountFDs(t); n != fds {
		t.Errorf("%d fds open after, %d before", n, fds)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after, %d before", n, goroutines)
	}
}

func TestSourceNoBPF(t *testing.T) {
	src, err := Open(Options{NoBPF: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.HasProbes() || len(src.Missing()) != 1 || src.Missing()[0].Why != "--no-bpf" {
		t.Fatalf("--no-bpf: probes %v, missing %v", src.HasProbes(), src.Missing())
	}
	s, err := src.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Snapshot != nil || s.Inventory.Processes == 0 {
		t.Errorf("sample without BPF: snapshot %v, %d processes", s.Snapshot, s.Inventory.Processes)
	}
	if _, err := Open(Options{ProcRoot: "/nonexistent"}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a missing procfs gives %v", err)
	}
}
