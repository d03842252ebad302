package top

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ipcwatch/ipcwatch/collector"
	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"github.com/ipcwatch/ipcwatch/probes"
)

// busySamples: 2000 processes with 4 operations each and one pipe each.
func busySamples() (*Sample, *Sample) {
	ops := []struct{ mech, op string }{{"pipe", "write"}, {"pipe", "read"}, {"unix_stream", "sendmsg"}, {"eventfd", "read"}}
	mk := func(t time.Time, k uint64) *Sample {
		s := &Sample{Time: t, Snapshot: &probes.Snapshot{}, Inventory: &collector.Inventory{}}
		for pid := uint32(1); pid <= 2000; pid++ {
			comm := fmt.Sprint("proc", pid)
			for _, o := range ops {
				s.Snapshot.Ops = append(s.Snapshot.Ops, probes.OpCounters{Mechanism: o.mech, Op: o.op, PID: pid, Comm: comm, Calls: k * uint64(pid), Bytes: 100 * k * uint64(pid)})
			}
			s.Inventory.Objects = append(s.Inventory.Objects, collector.Object{Type: "pipe", ID: uint64(pid),
				Endpoints: []collector.Endpoint{{PID: int(pid), Comm: comm, FD: 3, Access: "r"}, {PID: int(pid), Comm: comm, FD: 4, Access: "w"}}})
		}
		for _, o := range ops {
			s.Snapshot.Latency = append(s.Snapshot.Latency, probes.OpLatency{Mechanism: o.mech, Op: o.op, Histogram: hist(10, k*1000, 1500)})
		}
		return s
	}
	return mk(t0, 1), mk(t0.Add(time.Second), 2)
}

// BenchmarkBuildFrame is the work per interval besides reading: deltas and
// rows for every view, on 2000 busy processes.
func BenchmarkBuildFrame(b *testing.B) {
	prev, cur := busySamples()
	for b.Loop() {
		BuildFrame(prev, cur)
	}
}

// BenchmarkTable is the work per redraw: filter, sort and print the
// processes view of 2000 processes.
func BenchmarkTable(b *testing.B) {
	f := BuildFrame(busySamples())
	for b.Loop() {
		f.Table(ViewProcesses, DefaultSort(ViewProcesses), Filter{})
	}
}

// BenchmarkSample is one real reading of the probes and the inventory of
// this machine.
func BenchmarkSample(b *testing.B) {
	testutil.RequirePrivileged(b)
	src, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	for b.Loop() {
		if _, err := src.Sample(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
