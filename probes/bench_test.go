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
	tcpLoop        [2]int // a 127.0.0.1 connection: counted as tcp
	tcpRemote      [2]int // a 192.0.2.1 connection: not counted
	names          []string
	runs           []func() float64
	syscallsPerRun []int // syscalls each run makes
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
	// Both TCP connections live in a private network namespace, the
	// remote one on an address of its lo that is no loopback address.
	err = inPrivateNetns(func() error {
		var err error
		if w.tcpLoop[0], w.tcpLoop[1], err = tcpConn(in4(loop4), in4(loop4)); err != nil {
			return err
		}
		w.tcpRemote[0], w.tcpRemote[1], err = tcpConn(in4(remote4), in4(remote4))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		unix.Close(w.ping[1])
		cmd.Wait()
		for _, fd := range []int{w.pong[0], w.loop[0], w.loop[1], w.devnull,
			w.tcpLoop[0], w.tcpLoop[1], w.tcpRemote[0], w.tcpRemote[1]} {
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
	w.add("pingpong", 4*benchRoundTrips, func() float64 {
		return timed(benchRoundTrips, func() {
			unix.Write(w.ping[1], buf)
			unix.Read(w.pong[0], buf)
		}) / 4
	})
	w.add("loop", 2*benchCalls, func() float64 {
		return timed(benchCalls, func() {
			unix.Write(w.loop[1], buf)
			unix.Read(w.loop[0], buf)
		}) / 2
	})
	w.add("unrelated-fd", benchCalls, func() float64 { return timed(benchCalls, func() { unix.Write(w.devnull, buf) }) })
	w.add("regular-file", benchCalls, func() float64 { return timed(benchCalls, func() { unix.Pwrite(w.file, buf, 0) }) })
	// One byte written to a TCP connection and read at its other end, by
	// one thread.
	for _, c := range []struct {
		name string
		fds  [2]int
	}{{"tcp-loopback", w.tcpLoop}, {"tcp-remote", w.tcpRemote}} {
		w.add(c.name, 2*benchRoundTrips, func() float64 {
			return timed(benchRoundTrips, func() {
				unix.Write(c.fds[0], buf)
				unix.Read(c.fds[1], buf)
			}) / 2
		})
	}
	w.add("untraced", benchCalls, func() float64 { return timed(benchCalls, func() { unix.Getppid() }) })
	// Futex wakes that wake nobody: private (the probes skip them), and
	// shared in a memfd mapping (the probes look up the mapping).
	var word uint32
	w.add("futex-private", benchCalls, func() float64 {
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
	w.add("futex-shared", benchCalls, func() float64 {
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
	if hook == "baseline" {
		// An older build of the raw hook, to compare with in the same run.
		path := os.Getenv(benchBaselineEnv)
		loadSyscallsSpec = func() (*ebpf.CollectionSpec, error) { return ebpf.LoadCollectionSpec(path) }
		defer func() { loadSyscallsSpec = loadSyscalls }()
		hook = HookRaw
	}
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

// benchBaselineEnv names an environment variable that may hold the path of
// an older syscalls_x86_bpfel.o: the benchmarks then measure it as the hook
// "baseline" too, next to the current one.
const benchBaselineEnv = "IPCWATCH_BENCH_BASELINE"

var benchHooks = func() []string {
	hooks := []string{"raw", "tracepoint", "empty"}
	if os.Getenv(benchBaselineEnv) != "" {
		hooks = append(hooks, "baseline")
	}
	return hooks
}()

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
//   - tcp-loopback: write and read of a 127.0.0.1 TCP connection by one
//     thread (counted as tcp), and tcp-remote: the same to 192.0.2.1, an
//     address of a private network namespace's lo (not counted);
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
