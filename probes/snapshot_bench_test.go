package probes

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"golang.org/x/sys/unix"
)

// cpuTime is the user and system CPU time of this process so far, in ns.
func cpuTime(b *testing.B) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return unix.TimevalToNsec(ru.Utime) + unix.TimevalToNsec(ru.Stime)
}

// holdProcesses starts n shells that each read a line from a pipe (pipe
// reads, counted per process) and then wait on it until the benchmark ends.
func holdProcesses(b *testing.B, n int) {
	var ws []*os.File
	var cmds []*exec.Cmd
	b.Cleanup(func() {
		for _, w := range ws {
			w.Close()
		}
		for _, c := range cmds {
			c.Wait()
		}
	})
	for range n {
		r, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		ws = append(ws, w)
		if _, err := w.WriteString("x\n"); err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", "read a; read b")
		cmd.Stdin = r
		if err := cmd.Start(); err != nil {
			r.Close()
			b.Fatal(err)
		}
		r.Close()
		cmds = append(cmds, cmd)
	}
}

// BenchmarkSnapshot measures a Snapshot of every probe group with n live
// processes that made IPC calls (each with its own counters in op_stats
// and its task storage), besides the rest of the system.
func BenchmarkSnapshot(b *testing.B) {
	testutil.RequirePrivileged(b)
	for _, n := range []int{0, 1000} {
		b.Run("processes="+strconv.Itoa(n), func(b *testing.B) {
			p := load(b, Options{})
			holdProcesses(b, n)
			s, err := p.Snapshot()
			if err != nil {
				b.Fatal(err)
			}
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for range b.N {
				if s, err = p.Snapshot(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(len(s.Ops)), "op-entries")
			b.ReportMetric(float64(len(s.Signals)), "signal-entries")
		})
	}
}

// TestReadAllMatchesIterate checks that the batch reads of the maps return
// what reading them one entry at a time does.
func TestReadAllMatchesIterate(t *testing.T) {
	p := load(t, Options{Groups: []Group{GroupData, GroupLife}})
	runWorkload(t, "pipe")
	if err := p.sys.flushTasks(); err != nil {
		t.Fatal(err)
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	// Other processes may add to the map between the two reads: retry a
	// little.
	var diff string
	for range 20 {
		batch, one := map[syscallsOpKey]syscallsOpVal{}, map[syscallsOpKey]syscallsOpVal{}
		collect := func(into map[syscallsOpKey]syscallsOpVal) func(syscallsOpKey, []syscallsOpVal) {
			return func(k syscallsOpKey, vs []syscallsOpVal) {
				var sum syscallsOpVal
				for _, v := range vs {
					sum.Calls += v.Calls
					sum.Bytes += v.Bytes
				}
				into[k] = sum
			}
		}
		if err := readAll(p.sys.maps.OpStats, cpus, collect(batch)); err != nil {
			t.Fatal(err)
		}
		if err := iterateAll(p.sys.maps.OpStats, cpus, collect(one)); err != nil {
			t.Fatal(err)
		}
		diff = ""
		if len(batch) != len(one) || len(batch) == 0 {
			diff = fmt.Sprintf("%d entries read in batches, %d one at a time", len(batch), len(one))
		}
		for k, v := range one {
			if batch[k] != v {
				diff = fmt.Sprintf("entry %+v: %+v in batches, %+v one at a time", k, batch[k], v)
			}
		}
		if diff == "" {
			break
		}
	}
	if diff != "" {
		t.Error(diff)
	}
	n := 0
	if err := readAll(p.sys.maps.OpHist, cpus, func(uint32, []syscallsHist) { n++ }); err != nil {
		t.Fatal(err)
	}
	if want := int(p.sys.maps.OpHist.MaxEntries()); n != want {
		t.Errorf("op_hist: %d entries read in batches, want %d", n, want)
	}
}
