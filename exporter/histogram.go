package exporter

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/ipcwatch/ipcwatch/probes"
)

// The classic buckets of a kernel log2 histogram: upper bounds 2^(i+1) ns
// for firstClassic <= i <= lastClassic, that is from 1.024µs to 34.4s. The
// buckets below fold into the first, those above into +Inf.
const (
	firstClassic = 9
	lastClassic  = 34
)

// nativeOffset maps kernel bucket i, [2^i, 2^(i+1)) ns, to the schema-0
// native bucket (2^(k-1), 2^k] s with k = i+nativeOffset: since
// 1ns = 2^-29.9s, that native bucket holds about 90% of the kernel bucket's
// range, which is as close as two log2 scales with different units get.
const nativeOffset = -29

// log2Histogram is a const histogram made from a kernel log2 histogram of
// nanoseconds, exposed in seconds both with classic buckets (for every
// Prometheus) and as a native histogram (for those that scrape protobuf).
type log2Histogram struct {
	desc   *prometheus.Desc
	h      probes.Histogram
	labels []*dto.LabelPair
}

func newLog2Histogram(desc *prometheus.Desc, h probes.Histogram, labelValues ...string) prometheus.Metric {
	return &log2Histogram{desc: desc, h: h, labels: prometheus.MakeLabelPairs(desc, labelValues)}
}

func (m *log2Histogram) Desc() *prometheus.Desc { return m.desc }

func (m *log2Histogram) Write(out *dto.Metric) error {
	h := &m.h
	// The kernel adds to the buckets and to Count without a lock between
	// them; the buckets are the truth and Count follows them.
	var count uint64
	for _, b := range h.Buckets {
		count += b
	}
	hist := &dto.Histogram{
		SampleCount:   proto.Uint64(count),
		SampleSum:     proto.Float64(float64(h.Sum) / 1e9),
		Schema:        proto.Int32(0),
		ZeroThreshold: proto.Float64(0),
		ZeroCount:     proto.Uint64(0),
	}
	var cum uint64
	for i := 0; i < probes.HistogramBuckets; i++ {
		cum += h.Buckets[i]
		if i >= firstClassic && i <= lastClassic {
			hist.Bucket = append(hist.Bucket, &dto.Bucket{
				CumulativeCount: proto.Uint64(cum),
				UpperBound:      proto.Float64(float64(probes.BucketUpperBound(i)) / 1e9),
			})
		}
	}
	// Native buckets: spans of consecutive kernel buckets, counts as deltas.
	var prev int64
	lastIdx := math.MinInt
	for i, b := range h.Buckets {
		if b == 0 {
			continue
		}
		k := i + nativeOffset
		if lastIdx == math.MinInt || k != lastIdx+1 {
			offset := int32(k)
			if lastIdx != math.MinInt {
				offset = int32(k - lastIdx - 1)
			}
			hist.PositiveSpan = append(hist.PositiveSpan, &dto.BucketSpan{Offset: proto.Int32(offset), Length: proto.Uint32(0)})
		}
		span := hist.PositiveSpan[len(hist.PositiveSpan)-1]
		span.Length = proto.Uint32(span.GetLength() + 1)
		hist.PositiveDelta = append(hist.PositiveDelta, int64(b)-prev)
		prev = int64(b)
		lastIdx = k
	}
	if len(hist.PositiveSpan) == 0 {
		// An empty native histogram still needs a span to be told from a
		// classic one.
		hist.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}
	}
	out.Label = m.labels
	out.Histogram = hist
	return nil
}
