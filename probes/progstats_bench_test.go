package probes

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"golang.org/x/sys/unix"
)

// BenchmarkProgramRunTime reports what the kernel's BPF statistics measure
// per run of the enter program plus the exit program (sum of the two
// averages) minus the same for an empty tp_btf pair, which leaves the time
// the programs' bodies take. Every hook is attached at once, and each
// iteration runs the workloads of BenchmarkTracedSyscall but the ping-pong.
// The programs on a tracepoint run in the order they attached, and the first
// may warm the caches for the others: the order rotates with each iteration.
// Other processes' syscalls run the programs too (share-* says which part of
// the runs were the workload's).
func BenchmarkProgramRunTime(b *testing.B) {
	testutil.RequirePrivileged(b)
	w := newBenchWork(b)
	hooks := map[string]*hookUnderTest{}
	for _, name := range benchHooks {
		hooks[name] = hookByName(b, name)
	}
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		b.Skipf("enabling BPF statistics: %v", err)
	}
	defer stats.Close()
	type sample struct{ runtime, runs uint64 }
	read := func(h *hookUnderTest) []sample {
		var out []sample
		for _, prog := range h.progs {
			st, err := prog.Stats()
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, sample{uint64(st.Runtime), st.RunCount})
		}
		return out
	}
	perRun := map[string][][]float64{}
	share := map[string][]float64{}
	b.ResetTimer()
	for i := range b.N {
		for k := range benchHooks {
			if err := hooks[benchHooks[(i+k)%len(benchHooks)]].attach(); err != nil {
				b.Fatal(err)
			}
		}
		for j, run := range w.runs {
			if w.names[j] == "pingpong" {
				continue
			}
			before := map[string][]sample{}
			for name, h := range hooks {
				before[name] = read(h)
			}
			run()
			for name, h := range hooks {
				after := read(h)
				ns, runs := 0.0, uint64(0)
				for k := range after {
					if n := after[k].runs - before[name][k].runs; n > 0 {
						ns += float64(after[k].runtime-before[name][k].runtime) / float64(n)
						runs += n
					}
				}
				if perRun[name] == nil {
					perRun[name] = make([][]float64, len(w.runs))
				}
				perRun[name][j] = append(perRun[name][j], ns)
				if name == "raw" {
					share[w.names[j]] = append(share[w.names[j]],
						float64(w.syscallsPerRun[j]*2)/float64(runs))
				}
			}
		}
		for _, h := range hooks {
			if err := h.detach(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	for j, wname := range w.names {
		if wname == "pingpong" {
			continue
		}
		floor := median(perRun["empty"][j])
		if wname == "loop" {
			b.ReportMetric(floor, "ns/empty-pair")
		}
		b.ReportMetric(median(perRun["raw"][j])-floor, "ns/"+wname+"-raw")
		if wname != "untraced" {
			b.ReportMetric(median(perRun["tracepoint"][j])-floor, "ns/"+wname+"-tracepoint")
		}
		if perRun["baseline"] != nil {
			b.ReportMetric(median(perRun["baseline"][j])-floor, "ns/"+wname+"-baseline")
		}
		b.ReportMetric(median(share[wname]), "share-"+wname)
	}
}
