package top

import (
	"testing"
	"time"

	"github.com/ipcwatch/ipcwatch/collector"
	"github.com/ipcwatch/ipcwatch/probes"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// hist returns a histogram of n values in bucket i, each worth ns.
func hist(i int, n, ns uint64) probes.Histogram {
	var h probes.Histogram
	h.Buckets[i] = n
	h.Count, h.Sum = n, n*ns
	return h
}

// inventory: a pipe from 100/writer to 200/reader with 4 KiB queued, a
// connected Unix socket pair, a posix_mq and a process with a signal pending.
func testInventory() *collector.Inventory {
	return &collector.Inventory{
		Processes: 3,
		Objects: []collector.Object{
			{Type: collector.TypePipe, ID: 11, Attributes: collector.Attributes{QueuedBytes: ptr[uint64](4096), CapacityBytes: ptr[uint64](65536)},
				Endpoints: []collector.Endpoint{{PID: 100, Comm: "writer", FD: 4, Access: "w"}, {PID: 200, Comm: "reader", FD: 3, Access: "r"}}},
			{Type: collector.TypeUnixStream, ID: 21, Name: "/run/x.sock", Peer: ptr[uint64](22),
				Attributes: collector.Attributes{State: "established", RecvQueueBytes: ptr[uint64](10)},
				Endpoints:  []collector.Endpoint{{PID: 300, Comm: "server", FD: 5, Access: "rw"}}},
			{Type: collector.TypeUnixStream, ID: 22, Peer: ptr[uint64](21),
				Attributes: collector.Attributes{State: "established", RecvQueueBytes: ptr[uint64](0)},
				Endpoints:  []collector.Endpoint{{PID: 100, Comm: "writer", FD: 6, Access: "rw"}}},
			{Type: collector.TypePosixMQ, ID: 31, Name: "/q", Attributes: collector.Attributes{QueuedBytes: ptr[uint64](128), Messages: ptr[uint64](2)},
				Endpoints: []collector.Endpoint{{PID: 300, Comm: "server", FD: 7, Access: "w"}}},
		},
		Signals: []collector.SignalSets{
			{PID: 200, Comm: "reader", Pending: 1 << 9, QueuedSignals: 1},
			{PID: 300, Comm: "server", QueuedSignals: 1},
		},
	}
}

// testSamples: in one second, writer writes 100 times 1000 bytes to the pipe
// (each write 1µs), reader reads 100 times (each 9µs); writer sends SIGUSR1
// to reader 5 times.
func testSamples() (*Sample, *Sample) {
	prev := &Sample{Time: t0, Inventory: testInventory(), Snapshot: &probes.Snapshot{
		Ops: []probes.OpCounters{
			{Mechanism: "pipe", Op: "write", PID: 100, Comm: "writer", Calls: 50, Bytes: 50000, Nanos: 50000},
			{Mechanism: "pipe", Op: "read", PID: 200, Comm: "reader", Calls: 7, Bytes: 7000, Nanos: 63000},
			// Evicted before cur: counted again from zero.
			{Mechanism: "unix_stream", Op: "sendmsg", PID: 300, Comm: "server", Calls: 1000, Bytes: 1000, Nanos: 9e6},
		},
		Latency: []probes.OpLatency{
			{Mechanism: "pipe", Op: "write", Histogram: hist(9, 50, 1000)},
		},
		Signals: []probes.SignalCount{{Signal: 10, SenderPID: 100, SenderComm: "writer", ReceiverPID: 200, ReceiverComm: "reader", Generated: 1, Delivered: 1}},
		Probes:  []probes.ProbeStatus{{Name: "a", Attached: true}, {Name: "b"}},
		Drops:   []probes.MapDrops{{Map: "op_stats", Dropped: 2}},
	}}
	cur := &Sample{Time: t0.Add(time.Second), Inventory: testInventory(), Snapshot: &probes.Snapshot{
		Ops: []probes.OpCounters{
			{Mechanism: "pipe", Op: "write", PID: 100, Comm: "writer", Calls: 150, Bytes: 150000, Nanos: 150000},
			{Mechanism: "pipe", Op: "read", PID: 200, Comm: "reader", Calls: 107, Errors: 2, Bytes: 107000, Nanos: 963000},
			{Mechanism: "unix_stream", Op: "sendmsg", PID: 300, Comm: "server", Calls: 3, Bytes: 30, Nanos: 4500},
		},
		Latency: []probes.OpLatency{
			{Mechanism: "pipe", Op: "write", Histogram: addTo(hist(9, 50, 1000), hist(9, 100, 1000))},
			{Mechanism: "pipe", Op: "read", Histogram: hist(13, 100, 9000)},
		},
		Signals:       []probes.SignalCount{{Signal: 10, SenderPID: 100, SenderComm: "writer", ReceiverPID: 200, ReceiverComm: "reader", Generated: 6, Delivered: 5}},
		SignalLatency: []probes.SignalLatency{{Signal: 10, Histogram: hist(14, 5, 20000)}},
		Probes:        []probes.ProbeStatus{{Name: "a", Attached: true}, {Name: "b"}},
		Drops:         []probes.MapDrops{{Map: "op_stats", Dropped: 5}},
	}}
	return prev, cur
}

func addTo(a, b probes.Histogram) probes.Histogram {
	addHist(&a, b)
	return a
}

func findProcess(f *Frame, pid int) *Process {
	for i := range f.Processes {
		if f.Processes[i].PID == pid {
			return &f.Processes[i]
		}
	}
	return nil
}

func findMechanism(f *Frame, mech, op string) *Mechanism {
	for i := range f.Mechanisms {
		if f.Mechanisms[i].Mechanism == mech && f.Mechanisms[i].Op == op {
			return &f.Mechanisms[i]
		}
	}
	return nil
}

func TestBuildFrameProcesses(t *testing.T) {
	f := BuildFrame(testSamples())
	if !f.Activity || f.Interval != time.Second {
		t.Fatalf("activity %v interval %v, want true 1s", f.Activity, f.Interval)
	}
	w := findProcess(f, 100)
	if w == nil || w.Calls != 100 || w.Bytes != 100000 || w.CallsPerSec != 100 || w.Objects != 2 {
		t.Fatalf("writer = %+v, want 100 calls, 100000 bytes, 100/s, 2 objects", w)
	}
	// 100 writes in 100µs: 100µs blocked in one second.
	if w.Blocked != 100*time.Microsecond || w.BlockedPerSec != 1e-4 {
		t.Errorf("writer blocked %v (%v/s), want 100µs", w.Blocked, w.BlockedPerSec)
	}
	r := findProcess(f, 200)
	if r == nil || r.Calls != 100 || r.Errors != 2 || r.Blocked != 900*time.Microsecond {
		t.Errorf("reader = %+v, want 100 calls, 2 errors, 900µs blocked", r)
	}
	s := findProcess(f, 300)
	if s == nil || s.Calls != 3 || s.Bytes != 30 || s.Objects != 2 || s.Blocked != 4500*time.Nanosecond {
		t.Errorf("server after eviction = %+v, want 3 calls, 30 bytes, 4.5µs (counted again), 2 objects", s)
	}
	if len(s.Mechanisms) != 1 || s.Mechanisms[0].Mechanism != "unix_stream" || s.Mechanisms[0].CallsPerSec != 3 {
		t.Errorf("server mechanisms = %+v", s.Mechanisms)
	}
	if f.Probes != 1 || f.ProbesTotal != 2 || f.Dropped != 3 {
		t.Errorf("probes %d/%d dropped %d, want 1/2 and 3", f.Probes, f.ProbesTotal, f.Dropped)
	}
}

func TestBuildFrameMechanisms(t *testing.T) {
	f := BuildFrame(testSamples())
	all := findMechanism(f, "pipe", "")
	if all == nil || all.Objects != 1 || all.Calls != 200 || all.Bytes != 200000 {
		t.Fatalf("pipe total = %+v, want 1 object, 200 calls, 200000 bytes", all)
	}
	w := findMechanism(f, "pipe", "write")
	// 100 values in [512ns, 1024ns): p50 interpolates to the middle.
	if w == nil || w.P50 != 768 || w.P99 != 1018 {
		t.Errorf("pipe write = %+v, want p50 768ns p99 1018ns", w)
	}
	d := findMechanism(f, "signal", "delivery")
	if d == nil || d.Calls != 0 || d.P50 < 16384 || d.P50 >= 32768 {
		t.Errorf("signal delivery = %+v, want p50 in [16µs, 32µs)", d)
	}
	mq := findMechanism(f, "posix_mq", "")
	if mq == nil || mq.Objects != 1 || mq.Calls != 0 {
		t.Errorf("posix_mq total = %+v, want 1 object from the inventory", mq)
	}
}

func TestBuildFrameChannelsAndSignals(t *testing.T) {
	f := BuildFrame(testSamples())
	var pipe, sock *Channel
	for i, c := range f.Channels {
		switch c.ID {
		case 11:
			pipe = &f.Channels[i]
		case 22:
			sock = &f.Channels[i]
		}
	}
	if pipe == nil || *pipe.Queued != 4096 || ends(pipe.Writers) != "100/writer" || ends(pipe.Readers) != "200/reader" {
		t.Fatalf("pipe channel = %+v", pipe)
	}
	// The client socket's readers hold it; the writers hold its peer, whose
	// name it takes.
	if sock == nil || ends(sock.Readers) != "100/writer" || ends(sock.Writers) != "300/server" || sock.Name != "/run/x.sock" {
		t.Fatalf("socket channel = %+v", sock)
	}
	if len(f.Signals) != 1 {
		t.Fatalf("signals = %+v", f.Signals)
	}
	g := f.Signals[0]
	if g.Name != "SIGUSR1" || g.Generated != 5 || g.Delivered != 4 || g.GeneratedSinceRun != 6 {
		t.Errorf("signal = %+v, want SIGUSR1 5 generated 4 delivered 6 in all", g)
	}
	if len(f.PendingSignals) != 1 || f.PendingSignals[0].PID != 200 || intList(f.PendingSignals[0].Pending) != "10" {
		t.Errorf("pending = %+v, want 200 with signal 10 (SigQ alone selects nothing)", f.PendingSignals)
	}
}

func TestBuildFrameFirstSampleAndNoBPF(t *testing.T) {
	_, cur := testSamples()
	for name, f := range map[string]*Frame{
		"first sample": BuildFrame(nil, cur),
		"no BPF":       BuildFrame(&Sample{Time: t0, Inventory: testInventory()}, &Sample{Time: t0.Add(time.Second), Inventory: testInventory()}),
	} {
		if f.Activity || len(f.Signals) != 0 {
			t.Errorf("%s: activity %v signals %v, want none", name, f.Activity, f.Signals)
		}
		if p := findProcess(f, 300); p == nil || p.Objects != 2 || p.Calls != 0 {
			t.Errorf("%s: server = %+v, want 2 objects and no calls", name, p)
		}
		if len(f.Channels) != 4 {
			t.Errorf("%s: %d channels, want 4", name, len(f.Channels))
		}
		if want := map[string]time.Duration{"first sample": 0, "no BPF": time.Second}[name]; f.Interval != want {
			t.Errorf("%s: interval %v, want %v", name, f.Interval, want)
		}
		rows := f.Table(ViewProcesses, DefaultSort(ViewProcesses), Filter{}).Rows
		if len(rows) != 3 || rows[0][2] != "-" {
			t.Errorf("%s: process rows %q, want 3 with rates '-'", name, rows)
		}
	}
}

func TestQuantile(t *testing.T) {
	var h probes.Histogram
	if quantile(h, 0.5) != 0 {
		t.Error("empty histogram has a quantile")
	}
	h.Buckets[0], h.Buckets[10] = 50, 50 // 50 in [0,2), 50 in [1024,2048)
	if q := quantile(h, 0.5); q != 2 {
		t.Errorf("p50 = %v, want 2ns (top of bucket 0)", q)
	}
	if q := quantile(h, 0.99); q != 1024+1024*49/50 {
		t.Errorf("p99 = %v, want %v", q, 1024+1024*49/50)
	}
}

func TestSubHistReset(t *testing.T) {
	prev, cur := hist(3, 10, 10), hist(3, 4, 10)
	if d := subHist(cur, prev); d.Count != 4 {
		t.Errorf("after a reset, delta count = %d, want the current 4", d.Count)
	}
}
