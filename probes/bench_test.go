package probes

import (
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"golang.org/x/sys/unix"
)

const (
	benchRoundTrips = 20000
	benchUnrelated  = 100000
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

// BenchmarkTracedSyscall measures the cost the probes add to each traced
// syscall: a same-CPU pipe ping-pong with a child process (4 traced syscalls
// per round trip) with and without the probes, in interleaved runs; and the
// cost they add to a syscall on an unrelated fd (write to /dev/null). Each
// iteration is one round of every configuration; the medians are reported.
func BenchmarkTracedSyscall(b *testing.B) {
	testutil.RequirePrivileged(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := pinCPU0(); err != nil {
		b.Fatal(err)
	}
	ping, pong := make([]int, 2), make([]int, 2)
	if err := unix.Pipe2(ping, unix.O_CLOEXEC); err != nil {
		b.Fatal(err)
	}
	if err := unix.Pipe2(pong, unix.O_CLOEXEC); err != nil {
		b.Fatal(err)
	}
	cmd := child(b, "pong")
	cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(ping[0]), "ping"), os.NewFile(uintptr(pong[1]), "pong")}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	unix.Close(ping[0])
	unix.Close(pong[1])
	defer func() {
		unix.Close(ping[1])
		cmd.Wait()
		unix.Close(pong[0])
	}()
	devnull, err := unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(devnull)

	pingpong := func() float64 {
		buf := make([]byte, 1)
		start := time.Now()
		for range benchRoundTrips {
			unix.Write(ping[1], buf)
			unix.Read(pong[0], buf)
		}
		return float64(time.Since(start).Nanoseconds()) / benchRoundTrips
	}
	unrelated := func() float64 {
		buf := make([]byte, 1)
		start := time.Now()
		for range benchUnrelated {
			unix.Write(devnull, buf)
		}
		return float64(time.Since(start).Nanoseconds()) / benchUnrelated
	}
	hooks := []Hook{"", HookRaw, HookSyscallTracepoints}
	rt := map[Hook][]float64{}
	un := map[Hook][]float64{}
	pingpong() // warm up
	b.ResetTimer()
	for i := range b.N {
		for j := range hooks {
			h := hooks[(i+j)%len(hooks)]
			var p *Probes
			if h != "" {
				var err error
				if p, err = Load(Options{Hook: h, Groups: []Group{GroupData, GroupLife, GroupSignal}}); err != nil {
					b.Fatal(err)
				}
			}
			rt[h] = append(rt[h], pingpong())
			un[h] = append(un[h], unrelated())
			if p != nil {
				p.Close()
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(median(rt[""]), "ns/roundtrip-off")
	for _, h := range hooks[1:] {
		var d, u []float64
		for k := range rt[h] {
			d = append(d, (rt[h][k]-rt[""][k])/4)
			u = append(u, un[h][k]-un[""][k])
		}
		b.ReportMetric(median(d), "ns/traced-syscall-"+string(h))
		b.ReportMetric(median(u), "ns/unrelated-syscall-"+string(h))
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkProgramRunTime reports what the kernel's BPF statistics measure
// per run of the enter program plus the exit program (summed averages),
// while this process writes and reads a pipe (traced) and while it writes
// /dev/null (an unrelated fd). Other processes' syscalls run the programs
// too, and the statistics add their own clock reads: upper bounds.
func BenchmarkProgramRunTime(b *testing.B) {
	testutil.RequirePrivileged(b)
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		b.Skipf("enabling BPF statistics: %v", err)
	}
	defer stats.Close()
	fds := make([]int, 2)
	if err := unix.Pipe2(fds, unix.O_CLOEXEC); err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	devnull, err := unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(devnull)
	buf := make([]byte, 1)
	for _, h := range []Hook{HookRaw, HookSyscallTracepoints} {
		p := load(b, Options{Hook: h, Groups: []Group{GroupData, GroupLife, GroupSignal}})
		perRun := func(work func()) float64 {
			var rt0, rc0 []uint64
			for _, prog := range p.progs {
				st, err := prog.Stats()
				if err != nil {
					b.Fatal(err)
				}
				rt0, rc0 = append(rt0, uint64(st.Runtime)), append(rc0, st.RunCount)
			}
			work()
			sum := 0.0
			for i, prog := range p.progs {
				st, err := prog.Stats()
				if err != nil {
					b.Fatal(err)
				}
				if n := st.RunCount - rc0[i]; n > 0 {
					sum += float64(uint64(st.Runtime)-rt0[i]) / float64(n)
				}
			}
			return sum
		}
		traced := perRun(func() {
			for range b.N {
				unix.Write(fds[1], buf)
				unix.Read(fds[0], buf)
			}
		})
		unrelated := perRun(func() {
			for range b.N {
				unix.Write(devnull, buf)
			}
		})
		b.ReportMetric(traced, "ns/traced-syscall-"+string(h))
		b.ReportMetric(unrelated, "ns/unrelated-syscall-"+string(h))
		p.Close()
	}
}
