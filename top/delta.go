package top

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcwatch/ipcwatch/probes"
)

// opKey names one operation on one mechanism.
type opKey struct{ mech, op string }

// sigKey names one (signal, sender, receiver).
type sigKey struct {
	sig              int
	sender, receiver uint32
}

type sigDelta struct {
	delta probes.SignalCount
	total uint64
}

// delta is what the probes counted between two snapshots.
type delta struct {
	ops     []probes.OpCounters
	latency map[opKey]probes.Histogram
	signals []sigDelta
	dropped uint64
}

// sub returns cur-prev, or cur when the counter went backwards: the map
// entry was evicted and counted again from zero.
func sub(cur, prev uint64) uint64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

func newDelta(prev, cur *probes.Snapshot) *delta {
	d := &delta{latency: map[opKey]probes.Histogram{}}
	type pidOp struct {
		opKey
		pid uint32
	}
	before := make(map[pidOp]probes.OpCounters, len(prev.Ops))
	d.ops = make([]probes.OpCounters, 0, len(cur.Ops))
	for _, c := range prev.Ops {
		before[pidOp{opKey{c.Mechanism, c.Op}, c.PID}] = c
	}
	for _, c := range cur.Ops {
		p, ok := before[pidOp{opKey{c.Mechanism, c.Op}, c.PID}]
		if ok && c.Calls < p.Calls {
			p = probes.OpCounters{} // evicted and counted again
		}
		c.Calls, c.Errors, c.Bytes = sub(c.Calls, p.Calls), sub(c.Errors, p.Errors), sub(c.Bytes, p.Bytes)
		c.Nanos = sub(c.Nanos, p.Nanos)
		d.ops = append(d.ops, c)
	}

	hists := map[opKey]probes.Histogram{}
	for _, l := range prev.Latency {
		hists[opKey{l.Mechanism, l.Op}] = l.Histogram
	}
	for _, l := range cur.Latency {
		k := opKey{l.Mechanism, l.Op}
		if h := subHist(l.Histogram, hists[k]); h.Count > 0 {
			d.latency[k] = h
		}
	}
	// Signal delivery: one histogram per signal number, shown as one op.
	bySig := map[int]probes.Histogram{}
	for _, l := range prev.SignalLatency {
		bySig[l.Signal] = l.Histogram
	}
	for _, l := range cur.SignalLatency {
		if h := subHist(l.Histogram, bySig[l.Signal]); h.Count > 0 {
			k := opKey{probes.MechSignal, opDelivery}
			acc := d.latency[k]
			addHist(&acc, h)
			d.latency[k] = acc
		}
	}

	sigs := map[sigKey]probes.SignalCount{}
	for _, s := range prev.Signals {
		sigs[sigKey{s.Signal, s.SenderPID, s.ReceiverPID}] = s
	}
	for _, s := range cur.Signals {
		p := sigs[sigKey{s.Signal, s.SenderPID, s.ReceiverPID}]
		if s.Generated < p.Generated {
			p = probes.SignalCount{}
		}
		total := s.Generated
		s.Generated, s.Delivered = sub(s.Generated, p.Generated), sub(s.Delivered, p.Delivered)
		d.signals = append(d.signals, sigDelta{delta: s, total: total})
	}

	drops := map[string]uint64{}
	for _, m := range prev.Drops {
		drops[m.Map] = m.Dropped
	}
	for _, m := range cur.Drops {
		d.dropped += sub(m.Dropped, drops[m.Map])
	}
	return d
}

// opDelivery is the op of signal delivery latency: signal_generate to
// signal_deliver.
const opDelivery = "delivery"

// subHist returns cur-prev, or cur if any count went backwards.
func subHist(cur, prev probes.Histogram) probes.Histogram {
	if cur.Count < prev.Count || cur.Sum < prev.Sum {
		return cur
	}
	out := probes.Histogram{Count: cur.Count - prev.Count, Sum: cur.Sum - prev.Sum}
	for i := range cur.Buckets {
		if cur.Buckets[i] < prev.Buckets[i] {
			return cur
		}
		out.Buckets[i] = cur.Buckets[i] - prev.Buckets[i]
	}
	return out
}

func addHist(h *probes.Histogram, x probes.Histogram) {
	for i := range h.Buckets {
		h.Buckets[i] += x.Buckets[i]
	}
	h.Count += x.Count
	h.Sum += x.Sum
}

// quantile estimates the q-quantile of a log2 histogram, interpolating
// linearly inside the bucket that holds it; 0 for an empty histogram.
func quantile(h probes.Histogram, q float64) time.Duration {
	var n uint64
	for _, b := range h.Buckets {
		n += b
	}
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var seen float64
	for i, b := range h.Buckets {
		if b == 0 {
			continue
		}
		if seen+float64(b) >= rank {
			lo := 0.0
			if i > 0 {
				lo = math.Ldexp(1, i)
			}
			hi := float64(probes.BucketUpperBound(i))
			return time.Duration(lo + (hi-lo)*(rank-seen)/float64(b))
		}
		seen += float64(b)
	}
	return time.Duration(probes.BucketUpperBound(len(h.Buckets) - 1))
}

// signalName returns SIGUSR1 for 10, SIGRTMIN+2 for 36.
func signalName(sig int) string {
	const rtmin = 34 // SIGRTMIN as the kernel numbers it (glibc reserves 32, 33)
	if sig >= 32 && sig <= 64 {
		if sig >= rtmin {
			return fmt.Sprintf("SIGRTMIN+%d", sig-rtmin)
		}
		return fmt.Sprintf("SIG%d", sig)
	}
	if n := unix.SignalName(unix.Signal(sig)); n != "" {
		return n
	}
	return fmt.Sprintf("SIG%d", sig)
}
