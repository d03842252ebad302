package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/ipcwatch/ipcwatch/collector"
	"github.com/ipcwatch/ipcwatch/exporter"
	"github.com/ipcwatch/ipcwatch/ipc"
	"github.com/ipcwatch/ipcwatch/probes"
)

// defaultListenAddress is the agent's port: 9848, free in the Prometheus
// default port allocations.
const defaultListenAddress = ":9848"

type agentFlags struct {
	web              *web.FlagConfig
	log              promslog.Config
	exporter         *exporter.Flags
	telemetryPath    string
	procRoot         string
	selftestInterval time.Duration
	probesStrict     bool
	maxRequests      int
}

func registerAgent(app *kingpin.Application) (string, command) {
	c := app.Command("agent", "Run the agent: serve Prometheus metrics from the inventory, the eBPF probes and a periodic self-test.")
	f := &agentFlags{}
	f.web = kingpinflag.AddFlags(c, defaultListenAddress)
	f.log.Level = promslog.NewLevel()
	c.Flag(promslogflag.LevelFlagName, promslogflag.LevelFlagHelp).Default("info").
		HintOptions(promslog.LevelFlagOptions...).SetValue(f.log.Level)
	f.log.Format = promslog.NewFormat()
	c.Flag(promslogflag.FormatFlagName, promslogflag.FormatFlagHelp).Default("logfmt").
		HintOptions(promslog.FormatFlagOptions...).SetValue(f.log.Format)
	c.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&f.telemetryPath)
	c.Flag("web.max-requests", "Most scrape requests served at once; 0 means no limit.").Default("40").IntVar(&f.maxRequests)
	c.Flag("path.procfs", "procfs mount point.").Default("/proc").StringVar(&f.procRoot)
	c.Flag("selftest.interval", "How often to exercise every mechanism between the agent and a child process; 0 disables the self-test.").
		Default("60s").DurationVar(&f.selftestInterval)
	c.Flag("probes.strict", "Fail when the eBPF probes cannot load instead of serving without them.").BoolVar(&f.probesStrict)
	f.exporter = exporter.AddFlags(c)
	return "agent", func(ctx context.Context) error { return runAgent(ctx, f) }
}

func (f *agentFlags) check() error {
	switch {
	case *f.exporter.MaxProcesses < 1:
		return usagef("--metrics.max-processes must be at least 1, got %d", *f.exporter.MaxProcesses)
	case *f.exporter.MaxObjects < 1:
		return usagef("--metrics.max-objects must be at least 1, got %d", *f.exporter.MaxObjects)
	case f.selftestInterval < 0:
		return usagef("--selftest.interval must not be negative, got %v", f.selftestInterval)
	case !strings.HasPrefix(f.telemetryPath, "/") || f.telemetryPath == "/":
		return usagef("--web.telemetry-path must be a path below /, got %q", f.telemetryPath)
	case f.maxRequests < 0:
		return usagef("--web.max-requests must not be negative, got %d", f.maxRequests)
	}
	if *f.web.WebConfigFile != "" {
		if err := web.Validate(*f.web.WebConfigFile); err != nil {
			return usagef("--web.config.file: %v", err)
		}
	}
	return nil
}

func runAgent(ctx context.Context, f *agentFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	logger := promslog.New(&f.log)
	logger.Info("Starting ipcwatch agent", "version", version.Info(), "build_context", version.BuildContext())
	if swept, err := ipc.Sweep(); err != nil {
		// Best effort: without privileges some objects cannot be listed.
		logger.Debug("sweeping objects left by killed ipcwatch processes", "err", err)
	} else if len(swept) > 0 {
		logger.Info("swept objects left by killed ipcwatch processes", "count", len(swept))
	}

	p, err := loadProbes(logger, f.probesStrict)
	if err != nil {
		return err
	}
	if p != nil {
		defer p.Close()
	}

	enabled := f.exporter.Collectors()
	opts := collector.Options{ProcRoot: f.procRoot, Kinds: exporter.Kinds(enabled), Logger: logger.With("component", "inventory")}
	cfg := exporter.Config{
		Inventory:       collector.New(opts),
		Collectors:      enabled,
		MaxProcesses:    *f.exporter.MaxProcesses,
		MaxObjects:      *f.exporter.MaxObjects,
		ContainerLabels: *f.exporter.ContainerLabels,
		ProcRoot:        f.procRoot,
		Logger:          logger,
	}
	if p != nil {
		opts.PipeBuffers = p
		cfg.Inventory = collector.New(opts)
		cfg.Probes = p
	} else {
		// Without the BPF iterator, the inventory reads pipe fill by
		// reopening each pipe read-only.
		opts.ReopenPipes = true
		cfg.Inventory = collector.New(opts)
		for _, g := range probes.AllGroups {
			cfg.MissingProbes = append(cfg.MissingProbes, string(g))
		}
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if f.selftestInterval > 0 && enabled["selftest"] {
		stCfg := exporter.SelfTestConfig{Interval: f.selftestInterval, Logger: logger.With("component", "selftest")}
		if p != nil {
			stCfg.Probes = p
		}
		st := exporter.NewSelfTest(stCfg)
		cfg.SelfTest = st
		wg.Go(func() { st.Run(ctx) })
	}

	exp, err := exporter.New(cfg)
	if err != nil {
		return usageError{err}
	}
	reg, err := exporter.NewRegistry(exp)
	if err != nil {
		return fmt.Errorf("registering collectors: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(f.telemetryPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: f.maxRequests,
		EnableOpenMetrics:   true,
	}))
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "ipcwatch",
		Description: "Linux inter-process communication made visible",
		Version:     version.Info(),
		Links:       []web.LandingLinks{{Address: f.telemetryPath, Text: "Metrics"}},
	})
	if err != nil {
		return fmt.Errorf("making landing page: %w", err)
	}
	mux.Handle("/", landing)

	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(server, f.web, logger) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down HTTP server: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving HTTP: %w", err)
	}
	return nil
}

// loadProbes loads every probe it can. Without BPF it warns once, naming
// what is missing, and returns nil Probes; with strict it fails instead.
func loadProbes(logger *slog.Logger, strict bool) (*probes.Probes, error) {
	p, err := probes.Load(probes.Options{})
	if err == nil {
		return p, nil
	}
	if strict {
		if p != nil {
			p.Close()
		}
		return nil, fmt.Errorf("loading eBPF probes (--probes.strict): %w", err)
	}
	if p == nil {
		logger.Warn("eBPF probes not loaded: serving the inventory and the self-test without syscall, byte and signal metrics (needs root or CAP_BPF and CAP_PERFMON, and a kernel with BTF)", "err", err)
	} else {
		logger.Warn("some eBPF probes not loaded: their metrics are missing (ipcwatch_probe_attached says which)", "err", err)
	}
	return p, nil
}
