package exporter

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/ipcwatch/ipcwatch/collector"
	"github.com/ipcwatch/ipcwatch/probes"
)

// The host the speed goal is stated for: 1,000 processes holding 20,000
// IPC file descriptors (10 pipes each, both ends).
const (
	benchProcesses    = 1000
	benchPipesPerProc = 10
)

// startHolders starts n sleeping processes, each holding pipes pipes.
func startHolders(b *testing.B, n, pipes int) {
	b.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		b.Fatal(err)
	}
	var cmds []*exec.Cmd
	b.Cleanup(func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	})
	for i := 0; i < n; i++ {
		var files []*os.File
		for j := 0; j < pipes; j++ {
			r, w, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, r, w)
		}
		c := exec.Command(sleep, "3600")
		c.ExtraFiles = files
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		err := c.Start()
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, c)
	}
}

func rssMiB(b *testing.B) float64 {
	b.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScrape measures one full scrape (every collector, build info, Go
// and process collectors, text encoding) on a host with 1,000 processes and
// 20,000 pipe fds, with the probes when they load. It reports the agent's
// RSS and the CPU a 15 s scrape interval costs.
func BenchmarkScrape(b *testing.B) {
	startHolders(b, benchProcesses, benchPipesPerProc)
	p, err := probes.Load(probes.Options{})
	if p != nil {
		defer p.Close()
	}
	opts := collector.Options{}
	cfg := Config{MaxProcesses: DefaultMaxProcesses, MaxObjects: DefaultMaxObjects}
	if p != nil {
		opts.PipeBuffers = p
		cfg.Probes = p
	} else {
		b.Logf("without probes: %v", err)
		opts.ReopenPipes = true
	}
	cfg.Inventory = collector.New(opts)
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	reg, err := NewRegistry(e)
	if err != nil {
		b.Fatal(err)
	}
	scrape := func() {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				b.Fatal(err)
			}
		}
	}
	inv, err := cfg.Inventory.Collect(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	byType := map[string]int{}
	fds := 0
	for _, o := range inv.Objects {
		byType[o.Type]++
		fds += len(o.Endpoints)
	}
	b.Logf("inventory: %d processes, %d objects %v, %d endpoints", inv.Processes, len(inv.Objects), byType, fds)

	measure := func(b *testing.B, scrape func()) {
		scrape()
		cpu0 := cpuTime(syscall.RUSAGE_SELF)
		for b.Loop() {
			scrape()
		}
		perScrape := (cpuTime(syscall.RUSAGE_SELF) - cpu0) / time.Duration(b.N)
		b.ReportMetric(rssMiB(b), "RSS-MiB")
		b.ReportMetric(100*perScrape.Seconds()/15, "%CPU@15s")
	}
	// The whole scrape, inventory included.
	b.Run("full", func(b *testing.B) { measure(b, scrape) })
	// The exporter's own share: the same inventory, already taken.
	fixed := cfg
	fixed.Inventory = fixedInventory{inv}
	fe, err := New(fixed)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("exporter", func(b *testing.B) {
		measure(b, func() {
			ch := make(chan prometheus.Metric, 1024)
			go func() { fe.Collect(ch); close(ch) }()
			for range ch {
			}
		})
	})
}

// BenchmarkSelfTest measures one self-test run of every mechanism and
// reports the CPU it costs at the default 60 s interval, agent and
// children together.
func BenchmarkSelfTest(b *testing.B) {
	p, _ := probes.Load(probes.Options{})
	cfg := SelfTestConfig{}
	if p != nil {
		defer p.Close()
		cfg.Probes = p
	}
	st := NewSelfTest(cfg)
	cpu0 := cpuTime(syscall.RUSAGE_SELF) + cpuTime(syscall.RUSAGE_CHILDREN)
	for b.Loop() {
		st.RunOnce(context.Background())
	}
	perRun := (cpuTime(syscall.RUSAGE_SELF) + cpuTime(syscall.RUSAGE_CHILDREN) - cpu0) / time.Duration(b.N)
	b.ReportMetric(100*perRun.Seconds()/60, "%CPU@60s")
	for name, r := range st.results {
		if r.err != nil {
			b.Errorf("%s: %v", name, r.err)
		}
	}
}
