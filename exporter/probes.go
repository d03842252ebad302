package exporter

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipcwatch/ipcwatch/probes"
)

const probesCollector = "probes"

func init() {
	registerArea(&area{name: probesCollector, defaultOn: true,
		help:   "syscalls, bytes, errors, latency and signals traced by the eBPF probes",
		update: updateProbes})
}

var (
	syscallDurationDesc = prometheus.NewDesc(namespace+"_syscall_duration_seconds",
		"Time spent in the syscalls of an operation on an IPC mechanism, from entry to exit.", []string{"mechanism", "op"}, nil)
	signalDeliveryDesc = prometheus.NewDesc(namespace+"_signal_delivery_seconds",
		"Time from a signal's generation to its delivery.", []string{"signal"}, nil)
	probeAttachedDesc = prometheus.NewDesc(namespace+"_probe_attached",
		"Whether an eBPF probe is attached (1) or not (0).", []string{"probe"}, nil)
	probeDroppedDesc = prometheus.NewDesc(namespace+"_probe_dropped_total",
		"Entries a BPF map lost because it was full.", []string{"map"}, nil)
	probeHookDesc = prometheus.NewDesc(namespace+"_probe_hook",
		"The hook of the syscall probes in use (1): tp_btf (one BTF raw tracepoint pair for every syscall) or tracepoint (the per-syscall tracepoints).", []string{"hook"}, nil)
)

// hookLabels are the label values of ipcwatch_probe_hook, named like the
// probes of ipcwatch_probe_attached.
var hookLabels = map[probes.Hook]string{
	probes.HookRaw:                "tp_btf",
	probes.HookSyscallTracepoints: "tracepoint",
}

// processDescs are the per-process families, with or without container_id.
type processDescs struct {
	syscalls, errors, bytes, signals *prometheus.Desc
}

func newProcessDescs(containers bool) processDescs {
	labels := func(l ...string) []string {
		l = append(l, "comm")
		if containers {
			l = append(l, "container_id")
		}
		return l
	}
	return processDescs{
		syscalls: prometheus.NewDesc(namespace+"_syscalls_total",
			"IPC syscalls made, by mechanism, operation and process name.", labels("mechanism", "op"), nil),
		errors: prometheus.NewDesc(namespace+"_syscall_errors_total",
			"IPC syscalls that failed, by mechanism, operation and process name.", labels("mechanism", "op"), nil),
		bytes: prometheus.NewDesc(namespace+"_bytes_total",
			"Bytes moved through IPC channels by successful syscalls: direction=write into the channel, read out of it.", labels("mechanism", "direction"), nil),
		signals: prometheus.NewDesc(namespace+"_signals_total",
			"Signals generated, by signal and sending process name.", labels("signal"), nil),
	}
}

// The folders of per-process series.
const (
	foldOps     = "ops"
	foldSignals = "signals"
)

func (e *Exporter) folder(name string) *processFolder {
	f := e.folders[name]
	if f == nil {
		f = newProcessFolder(e.cfg.MaxProcesses)
		e.folders[name] = f
	}
	return f
}

func (e *Exporter) identity(pid uint32, comm string, alive map[uint32]bool) identity {
	id := identity{comm: label(comm)}
	if e.cfg.ContainerLabels {
		alive[pid] = true
		id.container = e.containers.lookup(pid)
	}
	return id
}

func (e *Exporter) processLabels(id identity, l ...string) []string {
	l = append(l, id.comm)
	if e.cfg.ContainerLabels {
		l = append(l, id.container)
	}
	return l
}

func updateProbes(e *Exporter, _ *scrape, ch chan<- prometheus.Metric) error {
	if e.cfg.Probes == nil {
		for _, p := range e.cfg.MissingProbes {
			gauge(ch, probeAttachedDesc, 0, p)
		}
		return nil
	}
	snap, err := e.cfg.Probes.Snapshot()
	if err != nil {
		return fmt.Errorf("reading probes: %w", err)
	}
	for _, p := range snap.Probes {
		v := 0.0
		if p.Attached {
			v = 1
		}
		gauge(ch, probeAttachedDesc, v, label(p.Name))
	}
	if h, ok := hookLabels[snap.Hook]; ok {
		gauge(ch, probeHookDesc, 1, h)
	}
	for _, d := range snap.Drops {
		ch <- prometheus.MustNewConstMetric(probeDroppedDesc, prometheus.CounterValue, float64(d.Dropped), label(d.Map))
	}
	descs := newProcessDescs(e.cfg.ContainerLabels)
	alive := map[uint32]bool{}

	ops := make([]sample, 0, len(snap.Ops))
	for _, c := range snap.Ops {
		ops = append(ops, sample{dims: [2]string{label(c.Mechanism), label(c.Op)}, pid: c.PID,
			id: e.identity(c.PID, c.Comm, alive), values: counts{c.Calls, c.Errors, c.Bytes}})
	}
	type bytesKey struct {
		mech, dir string
		id        identity
	}
	bytes := map[bytesKey]uint64{}
	for k, v := range e.folder(foldOps).update(ops) {
		lv := e.processLabels(k.id, k.dims[0], k.dims[1])
		ch <- prometheus.MustNewConstMetric(descs.syscalls, prometheus.CounterValue, float64(v[0]), lv...)
		ch <- prometheus.MustNewConstMetric(descs.errors, prometheus.CounterValue, float64(v[1]), lv...)
		if dir := probes.OpDirection(k.dims[1]); dir != probes.DirectionNone {
			bytes[bytesKey{k.dims[0], string(dir), k.id}] += v[2]
		}
	}
	for k, v := range bytes {
		ch <- prometheus.MustNewConstMetric(descs.bytes, prometheus.CounterValue, float64(v), e.processLabels(k.id, k.mech, k.dir)...)
	}

	sigs := make([]sample, 0, len(snap.Signals))
	for _, s := range snap.Signals {
		sigs = append(sigs, sample{dims: [2]string{signalName(s.Signal)}, pid: s.SenderPID,
			id: e.identity(s.SenderPID, s.SenderComm, alive), values: counts{s.Generated}})
	}
	for k, v := range e.folder(foldSignals).update(sigs) {
		ch <- prometheus.MustNewConstMetric(descs.signals, prometheus.CounterValue, float64(v[0]), e.processLabels(k.id, k.dims[0])...)
	}
	if e.cfg.ContainerLabels {
		e.containers.keep(alive)
	}

	for _, l := range snap.Latency {
		ch <- newLog2Histogram(syscallDurationDesc, l.Histogram, label(l.Mechanism), label(l.Op))
	}
	for _, l := range snap.SignalLatency {
		ch <- newLog2Histogram(signalDeliveryDesc, l.Histogram, signalName(l.Signal))
	}
	return nil
}
