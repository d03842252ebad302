package exporter

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipcwatch/ipcwatch/ipc"
	"github.com/ipcwatch/ipcwatch/probes"
)

const selftestCollector = "selftest"

func init() {
	registerArea(&area{name: selftestCollector, defaultOn: true,
		help:   "latency of each mechanism measured by the periodic self-test, and whether the probes saw it",
		update: func(e *Exporter, _ *scrape, ch chan<- prometheus.Metric) error { return e.cfg.SelfTest.collect(ch) }})
}

var (
	selftestSuccessDesc = prometheus.NewDesc(namespace+"_selftest_success",
		"Whether the last self-test of a mechanism succeeded (1) or failed (0).", []string{"mechanism"}, nil)
	selftestObservedDesc = prometheus.NewDesc(namespace+"_selftest_observed",
		"Whether the probes saw exactly the last self-test's own traffic for a mechanism (1) or not (0).", []string{"mechanism"}, nil)
	selftestLastRunDesc = prometheus.NewDesc(namespace+"_selftest_last_run_timestamp_seconds",
		"When the last self-test finished, in seconds since the epoch.", nil, nil)
)

// SelfTestConfig configures the self-test.
type SelfTestConfig struct {
	// Interval between runs; the first run starts at once.
	Interval time.Duration
	// Mechanisms to exercise; nil is every mechanism of package ipc.
	Mechanisms []string
	// RoundTrips per mechanism and run; 0 is 200.
	RoundTrips int
	// Size of each message; 0 is 64 bytes, or less for the mechanisms
	// that carry less.
	Size int
	// Timeout bounds each wait for the peer; 0 is 2 seconds.
	Timeout time.Duration
	// Probes, when set, is checked for exactly the self-test's traffic.
	Probes ProbeSource
	// Logger gets the failures; nil discards them.
	Logger *slog.Logger
}

// SelfTest runs every mechanism between the agent and a child process at
// an interval, and keeps the latest results.
type SelfTest struct {
	cfg  SelfTestConfig
	log  *slog.Logger
	hist *prometheus.HistogramVec

	mu      sync.Mutex
	results map[string]selftestResult
	lastRun time.Time
}

// selftestResult is one mechanism's last self-test.
type selftestResult struct {
	err      error
	observed *bool // nil when the probes cannot tell (no probes, or no data syscalls)
}

// NewSelfTest returns a self-test; Run starts it.
func NewSelfTest(cfg SelfTestConfig) *SelfTest {
	if cfg.RoundTrips <= 0 {
		cfg.RoundTrips = 200
	}
	if cfg.Size <= 0 {
		cfg.Size = 64
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &SelfTest{cfg: cfg, log: cfg.Logger, results: map[string]selftestResult{},
		hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "selftest_roundtrip_seconds",
			Help:                            "Round-trip latency of the self-test's messages, by mechanism.",
			Buckets:                         prometheus.ExponentialBuckets(1e-6, 2, 21),
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"mechanism"})}
}

// Run runs the self-test at once and then every Interval until ctx ends.
// Every child and object of a run is gone when it returns.
func (t *SelfTest) Run(ctx context.Context) {
	for {
		t.RunOnce(ctx)
		if t.cfg.Interval <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(t.cfg.Interval):
		}
	}
}

// RunOnce exercises every mechanism once.
func (t *SelfTest) RunOnce(ctx context.Context) {
	names := t.cfg.Mechanisms
	if names == nil {
		names = ipc.Names()
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		r := t.runMechanism(ctx, name)
		t.mu.Lock()
		prev, seen := t.results[name]
		t.results[name] = r
		t.mu.Unlock()
		switch {
		case r.err != nil && (!seen || prev.err == nil):
			t.log.Warn("self-test failed", "mechanism", name, "err", r.err)
		case r.err != nil:
			t.log.Debug("self-test failed", "mechanism", name, "err", r.err)
		case r.observed != nil && !*r.observed:
			t.log.Debug("self-test traffic not observed exactly by the probes", "mechanism", name)
		}
	}
	t.mu.Lock()
	t.lastRun = time.Now()
	t.mu.Unlock()
}

func (t *SelfTest) runMechanism(ctx context.Context, name string) selftestResult {
	m, err := ipc.Lookup(name)
	if err != nil {
		return selftestResult{err: err}
	}
	size := t.cfg.Size
	if max, _ := m.MaxSize(); size > max {
		size = max
	}
	// A session whose peer hangs ends with the watchdog after Timeout; the
	// context bounds the whole run besides.
	ctx, cancel := context.WithTimeout(ctx, 4*t.cfg.Timeout+time.Duration(t.cfg.RoundTrips)*t.cfg.Timeout/100)
	defer cancel()
	s, err := ipc.Start(ctx, name, ipc.SessionOptions{Size: size, CPU: ipc.AnyCPU, Timeout: t.cfg.Timeout})
	if err != nil {
		return selftestResult{err: fmt.Errorf("starting session: %w", err)}
	}
	defer s.Close()
	before := t.snapshot()
	samples, err := s.PingPong(t.cfg.RoundTrips, nil)
	if err != nil {
		return selftestResult{err: fmt.Errorf("exchanging messages: %w", err)}
	}
	after := t.snapshot()
	obs := selftestResult{}
	if before != nil && after != nil {
		obs.observed = observed(name, uint32(s.PeerPID()), t.cfg.RoundTrips, size, before, after)
	}
	if err := s.Close(); err != nil {
		return selftestResult{err: fmt.Errorf("closing session: %w", err)}
	}
	h := t.hist.WithLabelValues(name)
	for _, ns := range samples {
		h.Observe(float64(ns) / 1e9)
	}
	return obs
}

func (t *SelfTest) snapshot() *probes.Snapshot {
	if t.cfg.Probes == nil {
		return nil
	}
	s, err := t.cfg.Probes.Snapshot()
	if err != nil {
		t.log.Debug("reading probes for the self-test", "err", err)
		return nil
	}
	return s
}

// controlSlack bounds the bytes of the session's own control messages,
// which travel over a Unix stream socket and so count as unix_stream
// traffic of the peer.
const controlSlack = 256

// observed tells whether the probes saw exactly the peer's traffic of n
// round trips of size bytes: the peer read and wrote n*size bytes on the
// mechanism, sent n signals, made 4n semaphore operations (sysv_shm), or
// woke the agent 2n times with a futex in the shared mapping it created
// with shm_open and mmap (posix_shm) or mmap alone (mmap). It returns nil
// for the mechanisms the probes do not trace.
func observed(mech string, pid uint32, n, size int, before, after *probes.Snapshot) *bool {
	var ok bool
	want := uint64(n * size)
	switch mech {
	case probes.MechSignal:
		ok = sentSignals(after, pid)-sentSignals(before, pid) == uint64(n)
	case probes.MechPipe, probes.MechFIFO, probes.MechUnixDgram, probes.MechUnixSeqpacket,
		probes.MechPosixMQ, probes.MechSysvMsg, probes.MechEventfd, probes.MechTCP:
		// Bytes, not calls: a stream read may return part of a message.
		r, w := moved(after, mech, pid)
		r0, w0 := moved(before, mech, pid)
		ok = r-r0 == want && w-w0 == want
	case probes.MechSysvShm:
		// The data moves through memory; each message costs the peer two
		// System V semaphore operations each way (wait, then post).
		ok = semOps(after, pid)-semOps(before, pid) == uint64(4*n)
	case probes.MechPosixShm, probes.MechMmap:
		// The data moves through memory; the mailbox (ipc/mailbox.go)
		// wakes the other side with one FUTEX_WAKE per send and one per
		// receive. The peer opened and mapped the file when it joined.
		wakes := futexWakes(after, mech, pid) - futexWakes(before, mech, pid)
		ok = wakes == uint64(2*n) && after.Counters(mech, "mmap", pid).Calls == 1
		if mech == probes.MechPosixShm {
			ok = ok && after.Counters(mech, "shm_open", pid).Calls == 1
		}
	case probes.MechUnixStream:
		r, w := moved(after, mech, pid)
		r0, w0 := moved(before, mech, pid)
		ok = r-r0 >= want && r-r0 < want+controlSlack && w-w0 >= want && w-w0 < want+controlSlack
	default:
		return nil
	}
	return &ok
}

func moved(s *probes.Snapshot, mech string, pid uint32) (read, write uint64) {
	for _, c := range s.ForPID(pid) {
		if c.Mechanism != mech {
			continue
		}
		switch probes.OpDirection(c.Op) {
		case probes.DirectionRead:
			read += c.Bytes
		case probes.DirectionWrite:
			write += c.Bytes
		}
	}
	return read, write
}

func semOps(s *probes.Snapshot, pid uint32) uint64 {
	var n uint64
	for _, c := range s.ForPID(pid) {
		if c.Mechanism == probes.MechSysvSem && (c.Op == "semop" || c.Op == "semtimedop") {
			n += c.Calls
		}
	}
	return n
}

func futexWakes(s *probes.Snapshot, mech string, pid uint32) uint64 {
	return s.Counters(mech, "futex_wake", pid).Calls
}

// sentSignals counts the signals pid sent to this process: the echoes. The
// peer's runtime also signals its own threads (SIGURG), which do not count.
func sentSignals(s *probes.Snapshot, pid uint32) uint64 {
	self := uint32(os.Getpid())
	var n uint64
	for _, c := range s.Signals {
		if c.SenderPID == pid && c.ReceiverPID == self {
			n += c.Generated
		}
	}
	return n
}

func (t *SelfTest) collect(ch chan<- prometheus.Metric) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lastRun.IsZero() {
		return nil // no run has finished yet
	}
	t.hist.Collect(ch)
	for name, r := range t.results {
		success := 1.0
		if r.err != nil {
			success = 0
		}
		gauge(ch, selftestSuccessDesc, success, name)
		if r.observed != nil {
			v := 0.0
			if *r.observed {
				v = 1
			}
			gauge(ch, selftestObservedDesc, v, name)
		}
	}
	gauge(ch, selftestLastRunDesc, float64(t.lastRun.UnixNano())/1e9)
	return nil
}
