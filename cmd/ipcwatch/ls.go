package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"golang.org/x/term"

	"github.com/ipcwatch/ipcwatch/collector"
	"github.com/ipcwatch/ipcwatch/probes"
)

type lsFlags struct {
	output      string
	types       []string
	pids        []int
	name        string
	procfs      string
	reopenPipes bool
	noBPF       bool
	debug       bool
}

func registerLs(app *kingpin.Application) (string, command) {
	f := &lsFlags{}
	c := app.Command("ls", "List every live IPC object with the processes at each end.")
	c.Flag("output", "Output format: table or json (a list of objects, see collector/README.md).").
		Short('o').Default("table").EnumVar(&f.output, "table", "json")
	c.Flag("type", "Only objects of these types (repeat or comma-separate): "+strings.Join(collector.Types, ", ")+".").
		StringsVar(&f.types)
	c.Flag("pid", "Only objects held by this process (repeatable).").IntsVar(&f.pids)
	c.Flag("name", "Only objects whose name matches this glob, e.g. --name='/run/*' or --name='@*' for abstract sockets (with =: kingpin reads a lone @arg as a file).").StringVar(&f.name)
	c.Flag("path.procfs", "Where procfs is mounted (/host/proc in a container).").Default("/proc").StringVar(&f.procfs)
	c.Flag("pipes.reopen", "Without BPF, read pipe and FIFO fill by reopening each read end through /proc/PID/fd (one extra reader while it is read).").
		BoolVar(&f.reopenPipes)
	c.Flag("no-bpf", "Do not load the BPF iterator for pipe and FIFO fill.").BoolVar(&f.noBPF)
	c.Flag("debug", "Log what could not be collected, and why, to stderr.").BoolVar(&f.debug)
	return "ls", func(ctx context.Context) error { return runLs(ctx, f, os.Stdout, os.Stderr) }
}

// lsFilter selects the objects ls prints.
type lsFilter struct {
	types []string
	pids  []int
	name  string
}

func (f *lsFlags) filter() (lsFilter, error) {
	var flt lsFilter
	for _, t := range f.types {
		for _, t := range strings.Split(t, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if !slices.Contains(collector.Types, t) {
				return flt, usagef("unknown type %q (known: %s)", t, strings.Join(collector.Types, ", "))
			}
			flt.types = append(flt.types, t)
		}
	}
	for _, p := range f.pids {
		if p <= 0 {
			return flt, usagef("--pid must be positive, got %d", p)
		}
	}
	flt.pids = f.pids
	if f.name != "" {
		if _, err := path.Match(f.name, ""); err != nil {
			return flt, usagef("bad --name glob %q: %v", f.name, err)
		}
	}
	flt.name = f.name
	return flt, nil
}

func (flt lsFilter) match(o collector.Object) bool {
	if len(flt.types) > 0 && !slices.Contains(flt.types, o.Type) {
		return false
	}
	if len(flt.pids) > 0 && !slices.ContainsFunc(o.Endpoints, func(e collector.Endpoint) bool { return slices.Contains(flt.pids, e.PID) }) {
		return false
	}
	if flt.name != "" {
		if ok, _ := path.Match(flt.name, o.Name); !ok {
			return false
		}
	}
	return true
}

func runLs(ctx context.Context, f *lsFlags, stdout, stderr io.Writer) error {
	flt, err := f.filter()
	if err != nil {
		return err
	}
	if st, err := os.Stat(f.procfs); err != nil || !st.IsDir() {
		return usagef("--path.procfs %s is not a directory", f.procfs)
	}
	level := slog.LevelInfo
	if f.debug {
		level = slog.LevelDebug
	}
	opts := collector.Options{
		ProcRoot:    f.procfs,
		Kinds:       flt.types,
		ReopenPipes: f.reopenPipes,
		Logger:      slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	wantPipes := len(flt.types) == 0 || slices.Contains(flt.types, collector.TypePipe) || slices.Contains(flt.types, collector.TypeFIFO)
	if wantPipes && !f.noBPF {
		p, err := probes.Load(probes.Options{Groups: []probes.Group{probes.GroupPipeIter}})
		if p != nil {
			defer p.Close()
			opts.PipeBuffers = p
		} else {
			opts.Logger.Debug("no BPF pipe iterator", "err", err)
		}
	}
	inv, err := collector.New(opts).Collect(ctx)
	if err != nil {
		return fmt.Errorf("collecting the inventory: %w", err)
	}
	objs := slices.DeleteFunc(inv.Objects, func(o collector.Object) bool { return !flt.match(o) })
	switch f.output {
	case "json":
		err = writeJSON(stdout, objs)
	default:
		width := 0
		if fd, ok := stdout.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(fd.Fd())) {
			if w, _, err := term.GetSize(int(fd.Fd())); err == nil {
				width = w
			}
		}
		err = writeTable(stdout, objs, peers(inv.Objects), width)
	}
	if err != nil {
		return err
	}
	writeNotes(stderr, inv)
	return nil
}

// shmFullPercent is how full a /dev/shm is when ls warns about it.
const shmFullPercent = 80

// writeNotes says on stderr what the inventory could not see, and which
// /dev/shm is nearly full.
func writeNotes(w io.Writer, inv *collector.Inventory) {
	if inv.Unreadable > 0 {
		fmt.Fprintf(w, "%d processes not readable: run as root\n", inv.Unreadable)
	}
	for _, m := range inv.Missing {
		fmt.Fprintf(w, "not seen: %s: %s\n", m.What, m.Why)
	}
	for _, s := range inv.ShmFS {
		if s.TotalBytes > 0 && s.UsedBytes*100 >= s.TotalBytes*shmFullPercent {
			fmt.Fprintf(w, "/dev/shm of mount namespace %d is %d%% full: %d of %d bytes used\n",
				s.MountNS, s.UsedBytes*100/s.TotalBytes, s.UsedBytes, s.TotalBytes)
		}
	}
}
