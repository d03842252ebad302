package top

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ipcwatch/ipcwatch/collector"
)

// BatchOptions say what batch mode prints.
type BatchOptions struct {
	Iterations int // 0: until ctx is done
	Interval   time.Duration
	JSON       bool   // one JSON object per iteration and line
	Views      []View // text: the sections to print, in order; empty is every view
	Filter     Filter
	Rows       int // text: at most this many rows per section; 0 is all
}

// Batch prints one iteration per interval, as top -b does. The first
// iteration comes after one interval, so that it has activity to show.
func Batch(ctx context.Context, src Sampler, missing []collector.Missing, w io.Writer, o BatchOptions) error {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	views := o.Views
	if len(views) == 0 {
		for v := range viewCount {
			views = append(views, v)
		}
	}
	prev, err := src.Sample(ctx)
	if err != nil {
		return err
	}
	timer := time.NewTimer(o.Interval)
	defer timer.Stop()
	for i := 0; o.Iterations == 0 || i < o.Iterations; i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		cur, err := src.Sample(ctx)
		if err != nil {
			return err
		}
		// The next interval starts when this sample was taken.
		timer.Reset(max(o.Interval-time.Since(cur.Time), 0))
		f := BuildFrame(prev, cur)
		prev = cur
		all := append(slices.Clone(missing), f.Missing...)
		if o.JSON {
			err = writeJSON(w, f, all, o.Filter)
		} else {
			err = writeText(w, f, all, views, o)
		}
		if err != nil {
			return fmt.Errorf("writing iteration %d: %w", i+1, err)
		}
	}
	return nil
}

// Iteration is what one JSON line holds: the frame filtered and sorted as
// the views sort it by default.
type Iteration struct {
	IntervalSeconds float64             `json:"interval_seconds"`
	Missing         []collector.Missing `json:"missing"`
	*Frame
}

func writeJSON(w io.Writer, f *Frame, missing []collector.Missing, flt Filter) error {
	g := f.filtered(flt)
	if missing == nil {
		missing = []collector.Missing{}
	}
	b, err := json.Marshal(Iteration{IntervalSeconds: f.Interval.Seconds(), Missing: missing, Frame: g})
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// filtered returns a copy of the frame with the rows that pass flt, in
// each view's default order.
func (f *Frame) filtered(flt Filter) *Frame {
	g := *f
	g.Processes = filterSort(processColumns(f.Activity), f.Processes, DefaultSort(ViewProcesses), func(p Process) bool {
		return flt.matches([]int{p.PID}, p.Comm)
	})
	var mechs []Mechanism
	seen := map[string]bool{}
	for _, r := range f.mechanismTable(DefaultSort(ViewMechanisms), flt).Rows {
		seen[r[0]+"\x00"+r[1]] = true
	}
	for _, m := range f.Mechanisms {
		op := m.Op
		if op == "" {
			op = opAll
		}
		if seen[m.Mechanism+"\x00"+op] {
			mechs = append(mechs, m)
		}
	}
	sortRows(mechanismColumns, mechs, DefaultSort(ViewMechanisms))
	g.Mechanisms = nonNil(mechs)
	g.Channels = filterSort(channelColumns, f.Channels, DefaultSort(ViewChannels), func(c Channel) bool {
		return flt.matches(endPIDs(c), append(endComms(c), c.Name, c.Type)...)
	})
	g.Signals = filterSort(signalColumns, f.Signals, DefaultSort(ViewSignals), func(s Signal) bool {
		return flt.matches([]int{s.SenderPID, s.ReceiverPID}, s.SenderComm, s.ReceiverComm, s.Name)
	})
	g.PendingSignals = filterSort(pendingColumns, f.PendingSignals, Sort{}, func(p PendingSignal) bool {
		return flt.matches([]int{p.PID}, p.Comm)
	})
	return &g
}

func filterSort[T any](cols []column[T], rows []T, s Sort, keep func(T) bool) []T {
	out := []T{}
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	sortRows(cols, out, s)
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func writeText(w io.Writer, f *Frame, missing []collector.Missing, views []View, o BatchOptions) error {
	var b strings.Builder
	fmt.Fprintf(&b, "ipcwatch top - %s  interval %.2fs  processes %d", f.Time.Format(time.DateTime), f.Interval.Seconds(), f.Scanned)
	if f.Unreadable > 0 {
		fmt.Fprintf(&b, " (%d unreadable)", f.Unreadable)
	}
	fmt.Fprintf(&b, "  objects %d", f.Objects)
	if f.ProbesTotal > 0 {
		fmt.Fprintf(&b, "  probes %d/%d", f.Probes, f.ProbesTotal)
	}
	if f.Dropped > 0 {
		fmt.Fprintf(&b, "  dropped %d", f.Dropped)
	}
	b.WriteByte('\n')
	for _, m := range missing {
		fmt.Fprintf(&b, "not seen: %s: %s\n", m.What, m.Why)
	}
	for _, v := range views {
		t := f.Table(v, DefaultSort(v), o.Filter)
		fmt.Fprintf(&b, "\n%s\n", strings.ToUpper(v.String()))
		writeTable(&b, t, o.Rows)
		if t.Extra != nil && len(t.Extra.Rows) > 0 {
			b.WriteString("\nPENDING SIGNALS\n")
			writeTable(&b, t.Extra, o.Rows)
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTable(b *strings.Builder, t *Table, limit int) {
	head, rows := layout(t, 0, false)
	b.WriteString(strings.TrimRight(head, " ") + "\n")
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	for _, r := range rows {
		b.WriteString(strings.TrimRight(r, " ") + "\n")
	}
}
