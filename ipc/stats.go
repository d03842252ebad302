package ipc

import (
	"slices"
	"time"
)

// Latency summarises round-trip samples.
type Latency struct {
	P50, P90, P99, Max time.Duration
	Mean               time.Duration
	N                  int
}

// summarize sorts samples (nanoseconds) in place and returns nearest-rank
// percentiles.
func summarize(samples []int64) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	var sum int64
	for _, s := range samples {
		sum += s
	}
	return Latency{
		P50:  time.Duration(percentile(samples, 50)),
		P90:  time.Duration(percentile(samples, 90)),
		P99:  time.Duration(percentile(samples, 99)),
		Max:  time.Duration(samples[len(samples)-1]),
		Mean: time.Duration(sum / int64(len(samples))),
		N:    len(samples),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted samples.
func percentile(sorted []int64, p int) int64 {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}
