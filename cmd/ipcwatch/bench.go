package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"golang.org/x/term"

	"github.com/ipcwatch/ipcwatch/ipc"
)

type benchFlags struct {
	mechanisms string
	size       int
	sizeSet    bool
	count      int
	duration   time.Duration
	cpu        string
	json       bool
	timeout    time.Duration
}

func registerBench(app *kingpin.Application) (string, command) {
	f := &benchFlags{}
	c := app.Command("bench", "Measure round-trip latency and throughput of every IPC mechanism between two real processes.")
	c.Flag("mechanism", "Comma-separated mechanisms to run (default: all): "+strings.Join(ipc.Names(), ", ")+".").
		Short('m').StringVar(&f.mechanisms)
	c.Flag("size", "Message size in bytes (1 to 1048576). Mechanisms that carry less (signal and eventfd: 8 bytes) run at their limit, unless named with --mechanism together with --size, which is an error.").
		Default("64").IsSetByUser(&f.sizeSet).IntVar(&f.size)
	c.Flag("count", "Measured round trips, and messages streamed one way, per mechanism.").Default("10000").IntVar(&f.count)
	c.Flag("duration", "Run each phase for about this long instead of --count (e.g. 2s).").DurationVar(&f.duration)
	c.Flag("cpu", "CPU placement of the two processes: same, cross or any.").Default("any").EnumVar(&f.cpu, "same", "cross", "any")
	c.Flag("json", "Print a JSON list, one object per mechanism.").BoolVar(&f.json)
	c.Flag("timeout", "How long to wait for a silent peer before failing.").Default("5s").DurationVar(&f.timeout)
	return "bench", func(ctx context.Context) error { return runBench(ctx, f, os.Stdout, os.Stderr) }
}

func (f *benchFlags) plan() ([]string, error) {
	if f.size <= 0 || f.size > ipc.MaxMessage {
		return nil, usagef("--size must be from 1 to %d, got %d", ipc.MaxMessage, f.size)
	}
	if f.count <= 0 && f.duration <= 0 {
		return nil, usagef("--count must be positive, got %d", f.count)
	}
	if f.duration < 0 {
		return nil, usagef("--duration must be positive, got %v", f.duration)
	}
	if f.timeout <= 0 {
		return nil, usagef("--timeout must be positive, got %v", f.timeout)
	}
	if f.mechanisms == "" {
		return ipc.Names(), nil
	}
	var names []string
	for _, n := range strings.Split(f.mechanisms, ",") {
		n = strings.TrimSpace(n)
		m, err := ipc.Lookup(n)
		if err != nil {
			return nil, usageError{err}
		}
		if f.sizeSet {
			if err := ipc.CheckSize(m, f.size); err != nil {
				return nil, usageError{err}
			}
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, nil
}

// sizeFor is the message size for m: the asked size, or m's limit if that is
// smaller and m was not named with --mechanism (plan refuses that case).
func (f *benchFlags) sizeFor(m ipc.Mechanism) int {
	if max, _ := m.MaxSize(); max < f.size {
		return max
	}
	return f.size
}

func runBench(ctx context.Context, f *benchFlags, stdout, stderr io.Writer) error {
	names, err := f.plan()
	if err != nil {
		return err
	}
	if swept, err := ipc.Sweep(); err != nil {
		fmt.Fprintf(stderr, "ipcwatch bench: sweeping leftovers: %v\n", err)
	} else if len(swept) > 0 {
		fmt.Fprintf(stderr, "ipcwatch bench: removed %d objects left by ipcwatch processes that are gone\n", len(swept))
	}
	prog := newProgress(stderr)
	defer prog.clear()
	results := make([]ipc.Result, 0, len(names))
	var errs []error
	for _, name := range names {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m, _ := ipc.Lookup(name)
		r, err := ipc.Run(ctx, name, ipc.Options{
			SessionOptions: ipc.SessionOptions{Size: f.sizeFor(m), CPU: ipc.Placement(f.cpu), Timeout: f.timeout},
			Count:          f.count,
			Duration:       f.duration,
			Progress:       prog.update,
		})
		prog.clear()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(stderr, "ipcwatch bench: %v\n", err)
			errs = append(errs, err)
			continue
		}
		results = append(results, r)
	}
	slices.SortStableFunc(results, func(a, b ipc.Result) int { return int(a.P50NS - b.P50NS) })
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		printBenchTable(stdout, results)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d mechanisms failed: %w", len(errs), len(names), errors.Join(errs...))
	}
	return nil
}

func printBenchTable(w io.Writer, results []ipc.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MECHANISM\tSIZE\tCPU\tCOUNT\tP50\tP90\tP99\tMAX\tMSGS/S\tBYTES/S\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Mechanism, r.Size, r.CPU, r.Count,
			fmtNS(r.P50NS), fmtNS(r.P90NS), fmtNS(r.P99NS), fmtNS(r.MaxNS), fmtSI(r.MsgsPerSec, ""), fmtSI(r.BytesPerSec, "B"))
	}
	tw.Flush()
}

func fmtNS(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", ns)
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(ns)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(ns)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func fmtSI(v float64, unit string) string {
	for _, p := range []struct {
		div float64
		sfx string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= p.div {
			return fmt.Sprintf("%.2f%s%s", v/p.div, p.sfx, unit)
		}
	}
	return fmt.Sprintf("%.0f%s", v, unit)
}

// progress draws one status line on a terminal once a run has taken more than
// a second; elsewhere it draws nothing.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	last  time.Time
	mech  string
	shown bool
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, tty: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) update(u ipc.Progress) {
	if !p.tty {
		return
	}
	now := time.Now()
	if u.Mechanism != p.mech {
		p.mech, p.start = u.Mechanism, now
	}
	if now.Sub(p.start) < time.Second || now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last, p.shown = now, true
	fmt.Fprintf(p.w, "\r\x1b[K%s: %s %d/%d", u.Mechanism, u.Phase, u.Done, u.Total)
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}
