package top

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/ipcwatch/ipcwatch/collector"
	"github.com/ipcwatch/ipcwatch/probes"
)

// Options say where Source reads from.
type Options struct {
	// ProcRoot is the procfs mount to read; "" is /proc.
	ProcRoot string
	// NoBPF does not load the probes: only the inventory-based columns and
	// views are filled.
	NoBPF bool
	// ReopenPipes, without BPF, reads pipe and FIFO fill by reopening each
	// read end (see collector.Options.ReopenPipes).
	ReopenPipes bool
	// Logger gets debug lines about what is absent; nil discards them.
	Logger *slog.Logger
}

// Sample is one reading of the probes and the inventory.
type Sample struct {
	Time      time.Time
	Snapshot  *probes.Snapshot // nil without BPF
	Inventory *collector.Inventory
}

// Source takes samples. It is safe for one Sample at a time.
type Source struct {
	probes  *probes.Probes
	coll    *collector.Collector
	missing []collector.Missing
}

// Open loads the probes, when it can, and prepares the inventory. A missing
// BPF is not an error: it is reported by Missing and the inventory-based
// views still work.
func Open(opts Options) (*Source, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	root := opts.ProcRoot
	if root == "" {
		root = "/proc"
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("reading procfs: %s is not a directory", root)
	}
	s := &Source{}
	copts := collector.Options{ProcRoot: opts.ProcRoot, ReopenPipes: opts.ReopenPipes, Logger: log}
	if opts.NoBPF {
		s.missing = append(s.missing, collector.Missing{What: activityWhat, Why: "--no-bpf"})
	} else {
		p, err := probes.Load(probes.Options{})
		switch {
		case p == nil:
			log.Debug("no BPF probes", "err", err)
			s.missing = append(s.missing, collector.Missing{What: activityWhat, Why: bpfWhy(err)})
		case err != nil:
			log.Debug("some BPF probes did not attach", "err", err)
		}
		if p != nil {
			s.probes = p
			copts.PipeBuffers = p
		}
	}
	s.coll = collector.New(copts)
	return s, nil
}

// activityWhat is what the probes see and the inventory does not.
const activityWhat = "IPC activity (calls, bytes, time blocked, latency, signals sent)"

// bpfWhy says in a few words why the probes could not load.
func bpfWhy(err error) string {
	if os.Geteuid() != 0 {
		return "the BPF probes need root (or CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE)"
	}
	if err == nil {
		err = errors.New("no probe loaded")
	}
	return fmt.Sprintf("loading the BPF probes: %v", err)
}

// Missing says what this Source cannot see, and why.
func (s *Source) Missing() []collector.Missing { return s.missing }

// HasProbes tells whether any probe loaded.
func (s *Source) HasProbes() bool { return s.probes != nil }

// Sample reads the probes and takes an inventory.
func (s *Source) Sample(ctx context.Context) (*Sample, error) {
	smp := &Sample{}
	if s.probes != nil {
		snap, err := s.probes.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("reading the probes: %w", err)
		}
		smp.Snapshot = snap
	}
	// The time of the counters is the time they were read.
	smp.Time = time.Now()
	inv, err := s.coll.Collect(ctx)
	if err != nil {
		return nil, fmt.Errorf("collecting the inventory: %w", err)
	}
	smp.Inventory = inv
	return smp, nil
}

// Close detaches the probes.
func (s *Source) Close() error {
	if s.probes == nil {
		return nil
	}
	err := s.probes.Close()
	s.probes = nil
	return err
}
