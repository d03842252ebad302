package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"golang.org/x/term"

	"github.com/ipcwatch/ipcwatch/top"
)

type topFlags struct {
	batch       bool
	iterations  int
	delay       string
	output      string
	pids        []int
	filter      string
	views       []string
	rows        int
	procfs      string
	reopenPipes bool
	noBPF       bool
	debug       bool
}

func registerTop(app *kingpin.Application) (string, command) {
	f := &topFlags{}
	c := app.Command("top", "Show live IPC activity per process, mechanism, channel and signal.")
	c.Flag("batch", "Batch mode: print plain-text iterations instead of the interactive view.").Short('b').BoolVar(&f.batch)
	c.Flag("iterations", "Batch mode: stop after this many iterations (0: until interrupted).").Short('n').Default("0").IntVar(&f.iterations)
	c.Flag("delay", "Interval between iterations, in seconds (1, 0.5) or as a duration (500ms).").Short('d').Default("1").StringVar(&f.delay)
	c.Flag("output", "Batch output: text, or json (one object per iteration and line; implies -b).").
		Short('o').Default("text").EnumVar(&f.output, "text", "json")
	c.Flag("pid", "Only rows involving this process (repeatable).").Short('p').IntsVar(&f.pids)
	c.Flag("filter", "Only rows whose names contain this text, or involving this pid (the / key).").StringVar(&f.filter)
	c.Flag("view", "The view to start with; in batch text, the sections to print (repeat or comma-separate): "+
		strings.Join(top.ViewNames(), ", ")+".").StringsVar(&f.views)
	c.Flag("rows", "Batch text: at most this many rows per section (0: all).").Default("0").IntVar(&f.rows)
	c.Flag("path.procfs", "Where procfs is mounted (/host/proc in a container).").Default("/proc").StringVar(&f.procfs)
	c.Flag("pipes.reopen", "Without BPF, read pipe and FIFO fill by reopening each read end through /proc/PID/fd.").BoolVar(&f.reopenPipes)
	c.Flag("no-bpf", "Do not load the BPF probes: only the inventory (objects held, queued bytes).").BoolVar(&f.noBPF)
	c.Flag("debug", "Log what could not be collected, and why, to stderr.").BoolVar(&f.debug)
	return "top", func(ctx context.Context) error { return runTop(ctx, f, os.Stdout, os.Stderr) }
}

// parseDelay reads seconds ("1", "0.5") or a Go duration ("500ms").
func parseDelay(s string) (time.Duration, error) {
	var d time.Duration
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		d = time.Duration(secs * float64(time.Second))
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, usagef("bad --delay %q: want seconds (1, 0.5) or a duration (500ms)", s)
	}
	if d < 100*time.Millisecond || d > time.Hour {
		return 0, usagef("--delay %s out of range: 0.1s to 1h", s)
	}
	return d, nil
}

func parseViews(names []string) ([]top.View, error) {
	var out []top.View
	for _, n := range names {
		for _, n := range strings.Split(n, ",") {
			n = strings.TrimSpace(n)
			if n == "" {
				continue
			}
			v, ok := top.ParseView(n)
			if !ok {
				return nil, usagef("unknown view %q (known: %s)", n, strings.Join(top.ViewNames(), ", "))
			}
			out = append(out, v)
		}
	}
	return out, nil
}

func runTop(ctx context.Context, f *topFlags, stdout, stderr *os.File) error {
	interval, err := parseDelay(f.delay)
	if err != nil {
		return err
	}
	views, err := parseViews(f.views)
	if err != nil {
		return err
	}
	if f.iterations < 0 {
		return usagef("--iterations must not be negative, got %d", f.iterations)
	}
	if f.rows < 0 {
		return usagef("--rows must not be negative, got %d", f.rows)
	}
	for _, p := range f.pids {
		if p <= 0 {
			return usagef("--pid must be positive, got %d", p)
		}
	}
	batch := f.batch || f.output == "json"
	if !batch {
		if !term.IsTerminal(int(stdout.Fd())) || !term.IsTerminal(int(os.Stdin.Fd())) {
			return usagef("the interactive view needs a terminal: use -b for batch mode")
		}
		if f.iterations > 0 {
			return usagef("--iterations needs -b")
		}
		if len(views) > 1 {
			return usagef("the interactive view starts with one --view")
		}
		if f.debug && term.IsTerminal(int(stderr.Fd())) {
			return usagef("--debug in the interactive view needs stderr redirected (2>file)")
		}
	}
	if st, err := os.Stat(f.procfs); err != nil || !st.IsDir() {
		return usagef("--path.procfs %s is not a directory", f.procfs)
	}
	var logOut io.Writer = io.Discard
	if f.debug {
		logOut = stderr
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	src, err := top.Open(top.Options{ProcRoot: f.procfs, NoBPF: f.noBPF, ReopenPipes: f.reopenPipes, Logger: log})
	if err != nil {
		return err
	}
	defer src.Close()
	filter := top.Filter{PIDs: f.pids, Text: f.filter}
	if batch {
		if f.output == "json" {
			for _, m := range src.Missing() {
				fmt.Fprintf(stderr, "not seen: %s: %s\n", m.What, m.Why)
			}
		}
		return top.Batch(ctx, src, src.Missing(), stdout, top.BatchOptions{
			Iterations: f.iterations, Interval: interval, JSON: f.output == "json",
			Views: views, Filter: filter, Rows: f.rows,
		})
	}
	cfg := top.Config{Interval: interval, Filter: filter, Missing: src.Missing()}
	if len(views) == 1 {
		cfg.View = views[0]
	}
	return top.Run(ctx, src, cfg)
}
