package probes

import (
	"os"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"golang.org/x/sys/unix"
)

const (
	benchRoundTrips = 20000  // ping-pong round trips per run
	benchCalls      = 100000 // syscalls per run of the other workloads
)

// pongWork answers every byte read on fd 3 with one byte on fd 4, on CPU 0,
// until fd 3 reaches end of file.
func pongWork() error {
	runtime.LockOSThread()
	if err := pinCPU0(); err != nil {
		return err
	}
	b := make([]byte, 1)
	for {
		n, err := unix.Read(3, b)
		if err != nil || n == 0 {
			return err
		}
		if _, err := unix.Write(4, b); err != nil {
			return err
		}
	}
}

func pinCPU0() error {
	var set unix.CPUSet
	set.Set(0)
	return unix.SchedSetaffinity(0, &set)
}

func init() { workloads["pong"] = pongWork }

// benchWork holds the workloads of the speed benchmarks, each returning the
// nanoseconds per unit it reports.
type benchWork struct {
	ping, pong     [2]int
	loop           [2]int
	devnull, file  int
	names          []string
	runs           []func() float64
	syscallsPerRun []int
}

// newBenchWork pins the caller to CPU 0 and starts the ping-pong child,
// pinned there too.
func newBenchWork(b *testing.B) *benchWork {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	if err := pinCPU0(); err != nil {
		b.Fatal(err)
	}
	w := &benchWork{}
	for _, p := range []*[2]int{&w.ping, &w.pong, &w.loop} {
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			b.Fatal(err)
		}
	}
	cmd := child(b, "pong")
	cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(w.ping[0]), "ping"), os.NewFile(uintptr(w.pong[1]), "pong")}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	unix.Close(w.ping[0])
	unix.Close(w.pong[1])
	f, err := os.Create(b.TempDir() + "/file")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	w.file = int(f.Fd())
	if w.devnull, err = unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		unix.Close(w.ping[1])
		cmd.Wait()
		for _, fd := range []int{w.pong[0], w.loop[0], w.loop[1], w.devnull} {
			unix.Close(fd)
		}
	})
	buf := make([]byte, 1)
	timed := func(n int, f func()) float64 {
		start := time.Now()
		for range n {
			f()
		}
		return float64(time.Since(start).Nanoseconds()) / float64(n)
	}
	// Each workload reports ns per syscall of the kind it measures.
	w.add("pingpong", 4, func() float64 {
		return timed(benchRoundTrips, func() {
			unix.Write(w.ping[1], buf)
			unix.Read(w.pong[0], buf)
		}) / 4
	})
	w.add("loop", 2, func() float64 {
		return timed(benchCalls, func() {
			unix.Write(w.loop[1], buf)
			unix.Read(w.loop[0], buf)
		}) / 2
	})
	w.add("unrelated-fd", 1, func() float64 { return timed(benchCalls, func() { unix.Write(w.devnull, buf) }) })
	w.add("regular-file", 1, func() float64 { return timed(benchCalls, func() { unix.Pwrite(w.file, buf, 0) }) })
	w.add("untraced", 1, func() float64 { return timed(benchCalls, func() { unix.Getppid() }) })
	// Futex wakes that wake nobody: private (the probes skip them), and
	// shared in a memfd mapping (the probes look up the mapping).
	var word uint32
	w.add("futex-private", 1, func() float64 {
		return timed(benchCalls, func() {
			unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&word)), futexWake|futexPrivateFlag, 1, 0, 0, 0)
		})
	})
	mfd, err := unix.MemfdCreate("ipcwatch-bench", unix.MFD_CLOEXEC)
	if err != nil {
		b.Fatal(err)
	}
	shared, err := mapFile(mfd)
	unix.Close(mfd)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Munmap(shared) })
	w.add("futex-shared", 1, func() float64 {
		return timed(benchCalls, func() {
			unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&shared[0])), futexWake, 1, 0, 0, 0)
		})
	})
	return w
}

func (w *benchWork) add(name string, perRun int, f func() float64) {
	w.names = append(w.names, name)
	w.runs = append(w.runs, f)
	w.syscallsPerRun = append(w.syscallsPerRun, perRun)
}

// hookUnderTest is one way of hooking the syscalls, attached and detached
// between runs.
type hookUnderTest struct {
	attach func() error
	detach func() error
	progs  []*ebpf.Program
}

func syscallHook(b *testing.B, hook Hook) *hookUnderTest {
	s, _, err := openSyscalls([]Group{GroupData, GroupLife, GroupSignal}, hook, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.detach(); err != nil {
		b.Fatal(err)
	}
	return &hookUnderTest{
		attach: func() error { _, err := s.attach(); return err },
		detach: s.detach,
		progs:  []*ebpf.Program{s.enter, s.exit},
	}
}

// emptyHook is a pair of tp_btf programs on sys_enter and sys_exit that do
// nothing: the floor of any raw hook.
func emptyHook(b *testing.B) *hookUnderTest {
	h := &hookUnderTest{}
	for _, tp := range []string{"sys_enter", "sys_exit"} {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: tp, License: "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { prog.Close() })
		h.progs = append(h.progs, prog)
	}
	var links []link.Link
	h.attach = func() error {
		for _, prog := range h.progs {
			l, err := link.AttachTracing(link.TracingOptions{Program: prog})
			if err != nil {
				return err
			}
			links = append(links, l)
		}
		return nil
	}
	h.detach = func() error {
		for _, l := range links {
			l.Close()
		}
		links = nil
		return nil
	}
	b.Cleanup(func() { h.detach() })
	return h
}

func hookByName(b *testing.B, name string) *hookUnderTest {
	if name == "empty" {
		return emptyHook(b)
	}
	return syscallHook(b, Hook(name))
}

var benchHooks = []string{"raw", "tracepoint", "empty"}

// BenchmarkTracedSyscall measures the time the probes add to a syscall, per
// hook ("empty" is a tp_btf pair that does nothing: the floor of the raw
// hook). Each iteration runs every workload once without and once with the
// hook attached, in alternating order; the medians of the differences are
// reported, per syscall:
//   - pingpong: a same-CPU pipe ping-pong with a child (4 traced syscalls
//     per round trip, the measure);
//   - loop: write and read of a pipe by one thread (no context switch);
//   - unrelated-fd: write to /dev/null, and regular-file: pwrite to a file
//     (traced syscalls on files that are no IPC channel);
//   - untraced: getppid;
//   - futex-private: a private FUTEX_WAKE, skipped by the probes, and
//     futex-shared: a shared one in a memfd mapping, counted as posix_shm.
func BenchmarkTracedSyscall(b *testing.B) {
	testutil.RequirePrivileged(b)
	for _, name := range benchHooks {
		b.Run(name, func(b *testing.B) {
			w := newBenchWork(b)
			h := hookByName(b, name)
			for _, run := range w.runs {
				run() // warm up
			}
			off := make([][]float64, len(w.runs))
			diff := make([][]float64, len(w.runs))
			b.ResetTimer()
			for i := range b.N {
				var without, with []float64
				for k := range 2 {
					on := (i+k)%2 == 1
					if on {
						if err := h.attach(); err != nil {
							b.Fatal(err)
						}
					}
					var res []float64
					for _, run := range w.runs {
						res = append(res, run())
					}
					if on {
						with = res
						if err := h.detach(); err != nil {
							b.Fatal(err)
						}
					} else {
						without = res
					}
				}
				for j := range w.runs {
					off[j] = append(off[j], without[j])
					diff[j] = append(diff[j], with[j]-without[j])
				}
			}
			b.StopTimer()
			b.ReportMetric(median(off[0])*4, "ns/roundtrip-off")
			for j, name := range w.names {
				b.ReportMetric(median(diff[j]), "ns/"+name)
			}
		})
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkProgramRunTime reports what the kernel's BPF statistics measure
// per run of the enter program plus the exit program (sum of the two
// averages) minus the same for an empty tp_btf pair, which leaves the time
// the programs' bodies take. Every hook is attached at once, and each
// iteration runs the workloads of BenchmarkTracedSyscall but the ping-pong.
// Other processes' syscalls run the programs too (share-* says which part of
// the runs were the workload's).
func BenchmarkProgramRunTime(b *testing.B) {
	testutil.RequirePrivileged(b)
	w := newBenchWork(b)
	hooks := map[string]*hookUnderTest{}
	for _, name := range benchHooks {
		hooks[name] = hookByName(b, name)
		if err := hooks[name].attach(); err != nil {
			b.Fatal(err)
		}
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
	for range b.N {
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
						float64(w.syscallsPerRun[j]*benchCalls*2)/float64(runs))
				}
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
		b.ReportMetric(median(share[wname]), "share-"+wname)
	}
}
