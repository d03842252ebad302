package ipc

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// Options configure a measurement run.
type Options struct {
	SessionOptions
	// Count is the number of measured round trips and of streamed messages.
	Count int
	// Duration, if set, replaces Count: the count is estimated from the
	// warm-up so that each phase lasts about this long.
	Duration time.Duration
	// Warmup round trips run first and are not measured; 0 means Count/10,
	// at least 10 and at most 1000.
	Warmup int
	// Progress, if set, is told how far a run has come.
	Progress func(Progress)
}

// Progress reports a run's advance.
type Progress struct {
	Mechanism string
	Phase     string // "warmup", "pingpong", "stream"
	Done      int
	Total     int
}

// Result is one mechanism's measurement.
type Result struct {
	Mechanism   string    `json:"mechanism"`
	Size        int       `json:"size"`
	Count       int       `json:"count"`
	CPU         Placement `json:"cpu"`
	P50NS       int64     `json:"p50_ns"`
	P90NS       int64     `json:"p90_ns"`
	P99NS       int64     `json:"p99_ns"`
	MaxNS       int64     `json:"max_ns"`
	MsgsPerSec  float64   `json:"msgs_per_sec"`
	BytesPerSec float64   `json:"bytes_per_sec"`
	// Samples are the measured round trips in nanoseconds, sorted.
	Samples []int64 `json:"-"`
}

// maxDurationCount caps the count a Duration may ask for.
const maxDurationCount = 10_000_000

// Run measures one mechanism between this process and a peer: warm-up round
// trips, then Count measured round trips, then Count messages streamed one way.
func Run(ctx context.Context, name string, o Options) (Result, error) {
	if o.Count <= 0 && o.Duration <= 0 {
		return Result{}, fmt.Errorf("count must be positive, got %d", o.Count)
	}
	s, err := Start(ctx, name, o.SessionOptions)
	if err != nil {
		return Result{}, err
	}
	defer s.Close()
	// Collections in the measured loop would show as latency spikes; the
	// loop allocates nothing, so pausing them costs no memory.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	report := func(phase string, total int) func(int) {
		if o.Progress == nil {
			return nil
		}
		return func(done int) { o.Progress(Progress{name, phase, done, total}) }
	}
	warmup := o.Warmup
	if warmup <= 0 {
		warmup = min(max(o.Count/10, 10), 1000)
	}
	t0 := time.Now()
	if _, err := s.PingPong(warmup, report("warmup", warmup)); err != nil {
		return Result{}, fmt.Errorf("%s warm-up: %w", name, err)
	}
	count := o.Count
	if o.Duration > 0 {
		per := time.Since(t0) / time.Duration(warmup)
		count = int(min(max(int64(o.Duration/max(per, 1)), 100), maxDurationCount))
	}
	samples, err := s.PingPong(count, report("pingpong", count))
	if err != nil {
		return Result{}, fmt.Errorf("%s ping-pong: %w", name, err)
	}
	elapsed, err := s.Stream(count, report("stream", count))
	if err != nil {
		return Result{}, fmt.Errorf("%s stream: %w", name, err)
	}
	if err := s.Close(); err != nil {
		return Result{}, fmt.Errorf("%s: closing: %w", name, err)
	}
	lat := summarize(samples)
	secs := elapsed.Seconds()
	return Result{
		Mechanism: name, Size: o.Size, Count: count, CPU: s.cpu,
		P50NS: int64(lat.P50), P90NS: int64(lat.P90), P99NS: int64(lat.P99), MaxNS: int64(lat.Max),
		MsgsPerSec: float64(count) / secs, BytesPerSec: float64(count) * float64(o.Size) / secs,
		Samples: samples,
	}, nil
}
