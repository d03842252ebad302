package ipc

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Placement says where the two ends of a channel run.
type Placement string

// The placements. On a VM a wake-up on another CPU costs tens of microseconds
// and dominates blocking IPC, so every result carries its placement.
const (
	SameCPU  Placement = "same"  // both ends pinned to one CPU
	CrossCPU Placement = "cross" // the ends pinned to two different CPUs
	AnyCPU   Placement = "any"   // unpinned: wherever the scheduler puts them
)

// ParsePlacement parses "same", "cross" or "any".
func ParsePlacement(s string) (Placement, error) {
	switch p := Placement(s); p {
	case SameCPU, CrossCPU, AnyCPU:
		return p, nil
	}
	return "", fmt.Errorf("unknown CPU placement %q (want same, cross or any)", s)
}

// cpus returns the CPUs of the creator and the peer, -1 for unpinned, chosen
// from the CPUs this process may use.
func (p Placement) cpus() (self, peer int, err error) {
	if p == AnyCPU || p == "" {
		return -1, -1, nil
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, 0, fmt.Errorf("reading CPU affinity: %w", err)
	}
	var allowed []int
	for c := 0; c < len(set)*64 && len(allowed) < 2; c++ {
		if set.IsSet(c) {
			allowed = append(allowed, c)
		}
	}
	switch {
	case len(allowed) == 0:
		return 0, 0, fmt.Errorf("no CPU in this process's affinity mask")
	case p == SameCPU:
		return allowed[0], allowed[0], nil
	case len(allowed) < 2:
		return 0, 0, fmt.Errorf("cpu placement %q needs two CPUs, this process may use one", p)
	}
	return allowed[0], allowed[1], nil
}

// pinThread locks the calling goroutine to its OS thread and, unless cpu is
// -1, pins that thread to cpu. The returned function restores the thread's
// affinity and unlocks it; it must run on the same goroutine.
func pinThread(cpu int) (func(), error) {
	runtime.LockOSThread()
	if cpu < 0 {
		return runtime.UnlockOSThread, nil
	}
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("reading CPU affinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("pinning to CPU %d: %w", cpu, err)
	}
	return func() {
		if unix.SchedSetaffinity(0, &old) == nil {
			runtime.UnlockOSThread()
		}
		// A thread whose affinity cannot be restored stays locked and
		// exits with its goroutine rather than serve others pinned.
	}, nil
}
