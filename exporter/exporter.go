package exporter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipcwatch/ipcwatch/collector"
	"github.com/ipcwatch/ipcwatch/probes"
)

const namespace = "ipcwatch"

// InventorySource takes inventories; *collector.Collector is one.
type InventorySource interface {
	Collect(ctx context.Context) (*collector.Inventory, error)
}

// ProbeSource reads what the probes aggregated; *probes.Probes is one.
type ProbeSource interface {
	Snapshot() (*probes.Snapshot, error)
}

// Config is what an Exporter reads and how it shapes it.
type Config struct {
	// Inventory takes the inventory at each scrape; nil serves no
	// inventory metrics.
	Inventory InventorySource
	// Probes reads the probes at each scrape; nil when they did not load.
	Probes ProbeSource
	// MissingProbes are the probes reported as not attached when Probes
	// is nil.
	MissingProbes []string
	// SelfTest gives the self-test's results; nil when it is disabled.
	SelfTest *SelfTest
	// Collectors says which collectors run (by name); a name that is
	// absent takes its default.
	Collectors map[string]bool
	// MaxProcesses bounds the process names of per-process series; 0 is
	// DefaultMaxProcesses.
	MaxProcesses int
	// MaxObjects bounds the object names and paths of each per-object
	// family; 0 is DefaultMaxObjects.
	MaxObjects int
	// ContainerLabels adds container_id to per-process series.
	ContainerLabels bool
	// ProcRoot is the procfs mount for cgroup paths; "" is /proc.
	ProcRoot string
	// InventoryTimeout bounds one inventory; 0 is 10 seconds.
	InventoryTimeout time.Duration
	// Logger gets what goes wrong during scrapes; nil discards it.
	Logger *slog.Logger
}

// The defaults of the cardinality bounds.
const (
	DefaultMaxProcesses = 100
	DefaultMaxObjects   = 100
)

// Exporter is a prometheus.Collector that runs every enabled collector at
// each scrape and reports how long each took and whether it succeeded.
// Scrapes are served one at a time.
type Exporter struct {
	cfg     Config
	log     *slog.Logger
	enabled []*area
	kinds   []string

	mu         sync.Mutex // one scrape at a time; guards the state below
	folders    map[string]*processFolder
	containers *containerIDs
	missing    map[Missing]bool // what the inventory could not see, logged once
}

// Missing is something the inventory could not see, and why.
type Missing = collector.Missing

var (
	scrapeDurationDesc = prometheus.NewDesc(namespace+"_scrape_collector_duration_seconds",
		"Duration of a collector's scrape.", []string{"collector"}, nil)
	scrapeSuccessDesc = prometheus.NewDesc(namespace+"_scrape_collector_success",
		"Whether a collector succeeded (1) or failed (0).", []string{"collector"}, nil)
	inventoryProcessesDesc = prometheus.NewDesc(namespace+"_inventory_processes",
		"Processes scanned by the last inventory.", nil, nil)
	inventoryUnreadableDesc = prometheus.NewDesc(namespace+"_inventory_processes_unreadable",
		"Processes the last inventory could not read (no permission: run as root).", nil, nil)
)

// errNoInventory fails the object collectors of a scrape whose inventory
// failed.
var errNoInventory = errors.New("no inventory")

// inventoryCollector is the name under which the inventory scan that the
// object collectors share reports its duration and success.
const inventoryCollector = "inventory"

// New returns an Exporter with the collectors that cfg enables.
func New(cfg Config) (*Exporter, error) {
	if cfg.MaxProcesses == 0 {
		cfg.MaxProcesses = DefaultMaxProcesses
	}
	if cfg.MaxObjects == 0 {
		cfg.MaxObjects = DefaultMaxObjects
	}
	if cfg.MaxProcesses < 0 || cfg.MaxObjects < 0 {
		return nil, fmt.Errorf("cardinality bounds must be positive, got %d processes and %d objects", cfg.MaxProcesses, cfg.MaxObjects)
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.InventoryTimeout == 0 {
		cfg.InventoryTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for name := range cfg.Collectors {
		if lookupArea(name) == nil {
			return nil, fmt.Errorf("unknown collector %q (known: %v)", name, CollectorNames())
		}
	}
	e := &Exporter{cfg: cfg, log: cfg.Logger,
		folders:    map[string]*processFolder{},
		containers: newContainerIDs(cfg.ProcRoot),
		missing:    map[Missing]bool{}}
	for _, a := range areas {
		if !e.isEnabled(a) {
			continue
		}
		if a.kinds != nil && cfg.Inventory == nil {
			continue
		}
		if a.name == selftestCollector && cfg.SelfTest == nil {
			continue
		}
		e.enabled = append(e.enabled, a)
		e.kinds = append(e.kinds, a.kinds...)
	}
	return e, nil
}

func (e *Exporter) isEnabled(a *area) bool {
	if on, ok := e.cfg.Collectors[a.name]; ok {
		return on
	}
	return a.defaultOn
}

// Kinds returns the inventory kinds that the enabled collectors need: what
// the inventory source should collect.
func Kinds(enabled map[string]bool) []string {
	var kinds []string
	for _, a := range areas {
		on, ok := enabled[a.name]
		if !ok {
			on = a.defaultOn
		}
		if on {
			kinds = append(kinds, a.kinds...)
		}
	}
	return kinds
}

// Describe sends the descriptors of the scrape metrics only: what the
// collectors export depends on what they find.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	ch <- scrapeDurationDesc
	ch <- scrapeSuccessDesc
}

// scrape is what the collectors of one scrape share.
type scrape struct {
	inv *collector.Inventory
	now time.Time
}

// Collect runs every enabled collector.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &scrape{now: time.Now()}
	if len(e.kinds) > 0 {
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.InventoryTimeout)
		inv, err := e.cfg.Inventory.Collect(ctx)
		cancel()
		e.report(ch, inventoryCollector, time.Since(t0), err)
		if err == nil && inv != nil {
			s.inv = inv
			for _, m := range inv.Missing {
				if !e.missing[m] {
					e.missing[m] = true
					e.log.Debug("not in the inventory", "what", m.What, "why", m.Why)
				}
			}
			ch <- prometheus.MustNewConstMetric(inventoryProcessesDesc, prometheus.GaugeValue, float64(inv.Processes))
			ch <- prometheus.MustNewConstMetric(inventoryUnreadableDesc, prometheus.GaugeValue, float64(inv.Unreadable))
		}
	}
	for _, a := range e.enabled {
		t0 := time.Now()
		if a.kinds != nil && s.inv == nil {
			// The inventory's own failure is reported (and logged) once,
			// under "inventory".
			e.report(ch, a.name, 0, errNoInventory)
			continue
		}
		err := a.update(e, s, ch)
		e.report(ch, a.name, time.Since(t0), err)
	}
}

func (e *Exporter) report(ch chan<- prometheus.Metric, name string, d time.Duration, err error) {
	success := 1.0
	if err != nil {
		success = 0
	}
	if err != nil && err != errNoInventory {
		e.log.Error("collector failed", "collector", name, "duration_seconds", d.Seconds(), "err", err)
	}
	ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, d.Seconds(), name)
	ch <- prometheus.MustNewConstMetric(scrapeSuccessDesc, prometheus.GaugeValue, success, name)
}

// area is one collector: a part of the metrics that can be turned off.
type area struct {
	name      string
	help      string
	defaultOn bool
	// kinds are the inventory kinds the collector reads; nil for the
	// collectors that do not read the inventory.
	kinds  []string
	update func(e *Exporter, s *scrape, ch chan<- prometheus.Metric) error
}

// areas lists every collector, in the order they run.
var areas []*area

func registerArea(a *area) {
	if lookupArea(a.name) != nil {
		panic("exporter: collector registered twice: " + a.name)
	}
	areas = append(areas, a)
}

func lookupArea(name string) *area {
	for _, a := range areas {
		if a.name == name {
			return a
		}
	}
	return nil
}

// CollectorNames lists every collector, sorted.
func CollectorNames() []string {
	names := make([]string, 0, len(areas))
	for _, a := range areas {
		names = append(names, a.name)
	}
	slices.Sort(names)
	return names
}
