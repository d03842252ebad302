package ipc

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"testing"
	"time"
)

var (
	benchRounds = flag.Int("ipc.rounds", 7, "rounds of BenchmarkRoundTrip, each running the Go session and the C reference once")
	benchCPU    = flag.String("ipc.cpu", string(SameCPU), "CPU placement of BenchmarkRoundTrip: same, cross or any")
)

// cReferenceSrc is the C reference ping-pong, relative to this package.
const cReferenceSrc = "../bench/c"

// buildCReference compiles the C reference into dir and returns its path, or
// skips b when the machine has no C compiler (scripts/deps.sh installs gcc).
func buildCReference(b *testing.B, dir string) string {
	b.Helper()
	var cc string
	for _, c := range []string{os.Getenv("CC"), "cc", "gcc", "clang"} {
		if c == "" {
			continue
		}
		if path, err := exec.LookPath(c); err == nil {
			cc = path
			break
		}
	}
	if cc == "" {
		b.Skip("no C compiler (cc, gcc or clang; scripts/deps.sh installs gcc) to build the C reference")
	}
	srcs, err := filepath.Glob(filepath.Join(cReferenceSrc, "*.c"))
	if err != nil || len(srcs) == 0 {
		b.Fatalf("finding the C reference in %s: %v", cReferenceSrc, err)
	}
	bin := filepath.Join(dir, "pingpong")
	args := append([]string{"-O2", "-Wall", "-o", bin}, srcs...)
	if out, err := exec.Command(cc, append(args, "-lrt")...).CombinedOutput(); err != nil {
		b.Fatalf("building the C reference: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkRoundTrip measures each mechanism's round trip between two
// processes on one CPU (-ipc.cpu) with 64-byte messages (8 for signal and eventfd), and
// the same round trip in the C reference (bench/c), alternating the two over
// several rounds so that the machine's drift hits both alike. ns/op is the Go
// round trip; go-p50-ns and c-p50-ns are the medians over the rounds of each
// round's p50, and ratio is the median over the rounds of the round's Go p50
// divided by its C p50, measured back to back (the goal: at most 1.25).
func BenchmarkRoundTrip(b *testing.B) {
	cpu, err := ParsePlacement(*benchCPU)
	if err != nil {
		b.Fatal(err)
	}
	cref := buildCReference(b, b.TempDir())
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			m, _ := Lookup(name)
			limit, _ := m.MaxSize()
			size := min(64, limit)
			rounds := max(*benchRounds, 1)
			n := max((b.N+rounds-1)/rounds, 1)
			var goP50, cP50 []int64
			b.ResetTimer()
			b.StopTimer()
			for r := 0; r < rounds; r++ {
				// Alternate which side goes first.
				for side := range 2 {
					if (r+side)%2 == 0 {
						p, err := goRoundTrips(b, name, size, n, cpu)
						if err != nil {
							b.Fatalf("round %d: %v", r, err)
						}
						goP50 = append(goP50, p)
					} else {
						p, err := cRoundTrips(cref, name, size, n, cpu)
						if err != nil {
							b.Fatalf("round %d: C reference: %v", r, err)
						}
						cP50 = append(cP50, p)
					}
				}
			}
			ratios := make([]float64, rounds)
			for r := range ratios {
				ratios[r] = float64(goP50[r]) / float64(cP50[r])
			}
			b.ReportMetric(float64(median(goP50)), "go-p50-ns")
			b.ReportMetric(float64(median(cP50)), "c-p50-ns")
			b.ReportMetric(median(ratios), "ratio")
		})
	}
}

// goRoundTrips runs one Go session of n timed round trips after a warm-up,
// with the benchmark timer running only over the timed ones, and returns
// their p50.
func goRoundTrips(b *testing.B, name string, size, n int, cpu Placement) (int64, error) {
	o := SessionOptions{Size: size, CPU: cpu, Timeout: 5 * time.Second,
		PeerCommand: []string{os.Args[0], PeerArg}}
	s, err := Start(context.Background(), name, o)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // as Run does
	if _, err := s.PingPong(min(max(n/10, 10), 1000), nil); err != nil {
		return 0, fmt.Errorf("warm-up: %w", err)
	}
	b.StartTimer()
	samples, err := s.PingPong(n, nil)
	b.StopTimer()
	if err != nil {
		return 0, err
	}
	if err := s.Close(); err != nil {
		return 0, err
	}
	return summarize(samples).P50.Nanoseconds(), nil
}

// cRoundTrips runs the C reference for n round trips and returns its p50.
func cRoundTrips(bin, name string, size, n int, cpu Placement) (int64, error) {
	cmd := exec.Command(bin, name, "-s", strconv.Itoa(size), "-n", strconv.Itoa(n), "-c", string(cpu))
	var stderr boundedBuffer
	stderr.max = 4096
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("%w: %s", err, stderr.String())
	}
	var r struct {
		P50 int64 `json:"p50_ns"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.P50 <= 0 {
		return 0, fmt.Errorf("reading its result %q: %v", out, err)
	}
	return r.P50, nil
}

func median[T int64 | float64](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
