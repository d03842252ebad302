package exporter

import (
	"cmp"
	"slices"
	"strings"
)

// otherLabel is the label value that stands for everything folded away by
// the cardinality bounds.
const otherLabel = "other"

// label makes a label value valid UTF-8 whatever bytes the kernel gave:
// invalid sequences become U+FFFD.
func label(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

// identity is what names the process of a per-process series.
type identity struct {
	comm      string
	container string
}

var otherIdentity = identity{comm: otherLabel}

// counts are the cumulative values of one per-process counter series:
// calls, errors and bytes for syscalls; generated signals for signals.
type counts [3]uint64

func (c counts) add(d counts) counts {
	for i := range c {
		c[i] += d[i]
	}
	return c
}

// since returns how much c grew from prev. A counter that went down belongs
// to a new process with a reused pid (or reset maps): all of it is new.
func (c counts) since(prev counts) counts {
	for i := range c {
		if c[i] < prev[i] {
			return c
		}
	}
	for i := range c {
		c[i] -= prev[i]
	}
	return c
}

// seriesKey names one folded series: the labels other than the process
// (mechanism and op, or signal) and the process identity.
type seriesKey struct {
	dims [2]string
	id   identity
}

// sourceKey names one counter as the probes give it: per pid.
type sourceKey struct {
	dims [2]string
	pid  uint32
	comm string
}

// sample is one per-pid counter read from a probe snapshot.
type sample struct {
	dims   [2]string
	pid    uint32
	id     identity
	values counts
}

// processFolder keeps per-process counter series monotonic while bounding
// their number. It turns the probes' per-pid counters into increments, ranks
// process identities by recent activity, keeps the max most active and folds
// the rest into comm="other". An identity that enters the top starts its
// series from zero; one that leaves hands its totals to "other", so no
// exported counter ever goes down.
type processFolder struct {
	max    int
	last   map[sourceKey]counts
	totals map[seriesKey]counts
	score  map[identity]float64
	top    map[identity]bool
}

// scoreDecay is how much of an identity's past activity counts at the next
// scrape: about ten scrapes of memory.
const scoreDecay = 0.9

func newProcessFolder(max int) *processFolder {
	return &processFolder{
		max:    max,
		last:   map[sourceKey]counts{},
		totals: map[seriesKey]counts{},
		score:  map[identity]float64{},
		top:    map[identity]bool{},
	}
}

// update takes one snapshot of per-pid counters and returns the folded
// cumulative series.
func (f *processFolder) update(samples []sample) map[seriesKey]counts {
	// Sources can repeat (one sender's signals to several receivers).
	cur := make(map[sourceKey]counts, len(samples))
	ids := make(map[sourceKey]identity, len(samples))
	for _, s := range samples {
		k := sourceKey{s.dims, s.pid, s.id.comm}
		cur[k] = cur[k].add(s.values)
		ids[k] = s.id
	}
	deltas := map[seriesKey]counts{}
	activity := map[identity]float64{}
	for k, v := range cur {
		d := v.since(f.last[k])
		id := ids[k]
		sk := seriesKey{k.dims, id}
		deltas[sk] = deltas[sk].add(d)
		activity[id] += float64(d[0])
	}
	f.last = cur

	for id, sc := range f.score {
		f.score[id] = sc * scoreDecay
	}
	for id, a := range activity {
		f.score[id] += a
	}
	for id, sc := range f.score {
		if sc < 0.01 && !f.top[id] {
			delete(f.score, id)
		}
	}
	top := f.rank()
	for k, v := range f.totals {
		if k.id != otherIdentity && !top[k.id] {
			o := seriesKey{k.dims, otherIdentity}
			f.totals[o] = f.totals[o].add(v)
			delete(f.totals, k)
		}
	}
	f.top = top
	for k, d := range deltas {
		if !top[k.id] {
			k.id = otherIdentity
		}
		f.totals[k] = f.totals[k].add(d)
	}
	return f.totals
}

// rank returns the max identities of highest score.
func (f *processFolder) rank() map[identity]bool {
	ids := make([]identity, 0, len(f.score))
	for id := range f.score {
		if id != otherIdentity {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b identity) int {
		if c := cmp.Compare(f.score[b], f.score[a]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.comm, b.comm); c != 0 {
			return c
		}
		return cmp.Compare(a.container, b.container)
	})
	top := make(map[identity]bool, min(len(ids), f.max))
	for _, id := range ids[:min(len(ids), f.max)] {
		top[id] = true
	}
	return top
}

// objectSeries is the values of one named object's gauges.
type objectSeries struct {
	labels []string
	values []float64
}

// boundObjects sums series with the same labels (the same name in two
// namespaces), keeps the max largest by their values in order and folds
// the rest into one series whose labels are all "other".
func boundObjects(in []objectSeries, max int) []objectSeries {
	byLabels := map[string]int{}
	var out []objectSeries
	for _, s := range in {
		k := strings.Join(s.labels, "\x00")
		if i, ok := byLabels[k]; ok {
			for j, v := range s.values {
				out[i].values[j] += v
			}
			continue
		}
		byLabels[k] = len(out)
		out = append(out, objectSeries{labels: s.labels, values: slices.Clone(s.values)})
	}
	slices.SortFunc(out, func(a, b objectSeries) int {
		for j := range a.values {
			if c := cmp.Compare(b.values[j], a.values[j]); c != 0 {
				return c
			}
		}
		return slices.Compare(a.labels, b.labels)
	})
	if len(out) <= max {
		return out
	}
	other := objectSeries{labels: make([]string, len(out[0].labels)), values: make([]float64, len(out[0].values))}
	for i := range other.labels {
		other.labels[i] = otherLabel
	}
	for _, s := range out[max:] {
		for j, v := range s.values {
			other.values[j] += v
		}
	}
	out = out[:max:max]
	// An object really named "other" takes the folded ones in.
	for _, s := range out {
		if slices.Equal(s.labels, other.labels) {
			for j, v := range other.values {
				s.values[j] += v
			}
			return out
		}
	}
	return append(out, other)
}
