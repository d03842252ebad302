package probes

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		runChild(name)
	}
	os.Exit(m.Run())
}

func load(t testing.TB, opts Options) *Probes {
	t.Helper()
	testutil.RequirePrivileged(t)
	p, err := Load(opts)
	if err != nil {
		t.Fatalf("Load(%+v): %v", opts, err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// child starts the workload name and returns its command, not yet waited for.
func child(t testing.TB, name string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// No asynchronous preemption: the runtime would tgkill its own threads.
	cmd.Env = append(os.Environ(), childEnv+"="+name, childDir+"="+t.TempDir(), "GODEBUG=asyncpreemptoff=1")
	cmd.Stderr = os.Stderr
	return cmd
}

func runWorkload(t *testing.T, name string) uint32 {
	t.Helper()
	cmd := child(t, name)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("workload %s: %v", name, err)
	}
	return uint32(cmd.Process.Pid)
}

type want struct{ calls, bytes uint64 }

const n, sz = opsN, opsSize

// expected lists, per workload, every (mechanism, op) its process must show
// and nothing else.
var expected = map[string]map[[2]string]want{
	"pipe": {
		{"pipe", "pipe2"}: {2, 0}, {"pipe", "write"}: {n + 1, (n + 1) * sz}, {"pipe", "read"}: {n, n * sz},
		{"pipe", "splice_write"}: {1, sz}, {"pipe", "tee"}: {1, sz}, {"pipe", "vmsplice_write"}: {1, sz},
	},
	"fifo": {{"fifo", "mknodat"}: {1, 0}, {"fifo", "write"}: {n, n * sz}, {"fifo", "read"}: {n, n * sz}},
	"eventfd": {
		{"eventfd", "eventfd2"}: {1, 0}, {"eventfd", "write"}: {n, n * 8}, {"eventfd", "read"}: {n, n * 8},
	},
	"posix_mq": {
		{"posix_mq", "mq_open"}: {1, 0}, {"posix_mq", "mq_unlink"}: {1, 0},
		{"posix_mq", "mq_timedsend"}: {n, n * sz}, {"posix_mq", "mq_timedreceive"}: {n, n * sz},
	},
	"sysv_msg": {
		{"sysv_msg", "msgget"}: {1, 0}, {"sysv_msg", "msgctl"}: {1, 0},
		{"sysv_msg", "msgsnd"}: {n, n * sz}, {"sysv_msg", "msgrcv"}: {n, n * sz},
	},
	"sysv_sem": {{"sysv_sem", "semget"}: {1, 0}, {"sysv_sem", "semop"}: {n, 0}, {"sysv_sem", "semctl"}: {1, 0}},
	"sysv_shm": {
		{"sysv_shm", "shmget"}: {1, 0}, {"sysv_shm", "shmat"}: {1, 0},
		{"sysv_shm", "shmdt"}: {1, 0}, {"sysv_shm", "shmctl"}: {2, 0}, // IPC_STAT, IPC_RMID
	},
	"posix_shm": {
		{"posix_shm", "shm_open"}: {1, 0}, {"posix_shm", "memfd_create"}: {1, 0},
		{"posix_shm", "mmap"}: {2, 2 * 4096},
	},
	"mmap":   {{"mmap", "mmap"}: {1, 4096}},
	"signal": {{"signal", "kill"}: {n, 0}},
}

func init() {
	for _, m := range []string{"unix_stream", "unix_dgram", "unix_seqpacket"} {
		expected[m] = map[[2]string]want{
			{m, "socketpair"}: {1, 0}, {m, "send"}: {n, n * sz}, {m, "recv"}: {n, n * sz},
			{m, "sendmsg"}: {n, n * sz}, {m, "recvmsg"}: {n, n * sz},
		}
	}
}

func TestMechanisms(t *testing.T) {
	for _, hook := range []Hook{HookRaw, HookSyscallTracepoints} {
		t.Run(string(hook), func(t *testing.T) {
			p := load(t, Options{Hook: hook, Groups: []Group{GroupData, GroupLife, GroupSignal}})
			for name, exp := range expected {
				t.Run(name, func(t *testing.T) {
					pid := runWorkload(t, name)
					s, err := p.Snapshot()
					if err != nil {
						t.Fatal(err)
					}
					got := map[[2]string]want{}
					for _, c := range s.ForPID(pid) {
						if c.Mechanism == "eventfd" && c.Op == "eventfd2" {
							c.Calls-- // the Go runtime's netpoller creates one
						}
						got[[2]string{c.Mechanism, c.Op}] = want{c.Calls, c.Bytes}
						if c.Errors != 0 {
							t.Errorf("%s/%s: %d errors", c.Mechanism, c.Op, c.Errors)
						}
						if c.Comm != "probes.test" {
							t.Errorf("%s/%s: comm %q", c.Mechanism, c.Op, c.Comm)
						}
					}
					for k, w := range exp {
						if got[k] != w {
							t.Errorf("%s/%s: got calls,bytes %v, want %v", k[0], k[1], got[k], w)
						}
					}
					for k, g := range got {
						if _, ok := exp[k]; !ok && g != (want{}) {
							t.Errorf("unexpected %s/%s: %v", k[0], k[1], g)
						}
					}
					checkHistograms(t, p, exp)
				})
			}
		})
	}
}

// checkHistograms checks that, for each (mechanism, op) of exp, the
// histogram counts as many calls, and as many nanoseconds, as all processes'
// counters together. Other
// processes may call them between the reads of the two maps: retry a little.
func checkHistograms(t *testing.T, p *Probes, exp map[[2]string]want) {
	t.Helper()
	var mismatch string
	for range 20 {
		s, err := p.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		calls := map[[2]string]uint64{}
		nanos := map[[2]string]uint64{}
		for _, c := range s.Ops {
			calls[[2]string{c.Mechanism, c.Op}] += c.Calls
			nanos[[2]string{c.Mechanism, c.Op}] += c.Nanos
		}
		hist := map[[2]string]Histogram{}
		for _, l := range s.Latency {
			hist[[2]string{l.Mechanism, l.Op}] = l.Histogram
		}
		mismatch = ""
		for k := range exp {
			h := hist[k]
			var sum uint64
			for _, b := range h.Buckets {
				sum += b
			}
			if h.Count != calls[k] || sum != h.Count || h.Sum == 0 || h.Sum != nanos[k] {
				mismatch = fmt.Sprintf("%s/%s: histogram count %d (buckets %d, sum %dns), calls %d (%dns)",
					k[0], k[1], h.Count, sum, h.Sum, calls[k], nanos[k])
			}
		}
		if mismatch == "" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error(mismatch)
}

func TestSignals(t *testing.T) {
	p := load(t, Options{Groups: []Group{GroupSignal}})
	before := signalLatencyCount(t, p, int(unix.SIGUSR1))
	pid := runWorkload(t, "signal")
	s, err := p.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, sc := range s.Signals {
		if sc.Signal == int(unix.SIGUSR1) && sc.SenderPID == pid && sc.ReceiverPID == pid {
			found = true
			if sc.Generated != opsN || sc.Delivered != opsN {
				t.Errorf("SIGUSR1 generated %d, delivered %d, want %d", sc.Generated, sc.Delivered, opsN)
			}
			if sc.SenderComm != "probes.test" || sc.ReceiverComm != "probes.test" {
				t.Errorf("comms %q -> %q", sc.SenderComm, sc.ReceiverComm)
			}
		}
	}
	if !found {
		t.Errorf("no SIGUSR1 from %d to itself in %+v", pid, s.Signals)
	}
	if got := signalLatencyCount(t, p, int(unix.SIGUSR1)) - before; got < opsN {
		t.Errorf("SIGUSR1 delivery latency histogram grew by %d, want at least %d", got, opsN)
	}
}

func signalLatencyCount(t *testing.T, p *Probes, sig int) uint64 {
	t.Helper()
	s, err := p.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range s.SignalLatency {
		if l.Signal == sig {
			return l.Histogram.Count
		}
	}
	return 0
}

// TestLiveProcessCounts checks that Snapshot sees the calls of a process
// that is still running: its counters are flushed from its task storage.
func TestLiveProcessCounts(t *testing.T) {
	p := load(t, Options{Groups: []Group{GroupData, GroupLife}})
	cmd := child(t, "fill")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	// It filled its pipe, then wrote the line to its stdout, a pipe too.
	want := uint64(fillBytes + len(line))
	if c := s.Counters(MechPipe, "write", pid); c.Calls != 2 || c.Bytes != want {
		t.Errorf("pipe writes of the running child: %d calls, %d bytes, want 2, %d", c.Calls, c.Bytes, want)
	}
	if c := s.Counters(MechPipe, "pipe2", pid); c.Calls != 1 {
		t.Errorf("pipe2 of the running child: %d calls, want 1", c.Calls)
	}
}

func TestPipeBuffers(t *testing.T) {
	p := load(t, Options{Groups: []Group{GroupPipeIter}})
	cmd := child(t, "fill")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	ino, err := strconv.ParseUint(strings.TrimSpace(line), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	bufs, err := p.PipeBuffers()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := bufs[ino]
	if !ok {
		t.Fatalf("pipe inode %d not listed among %d pipes", ino, len(bufs))
	}
	if want := (PipeBuffer{Inode: ino, Queued: fillBytes, Capacity: 65536}); got != want {
		t.Errorf("pipe buffer %+v, want %+v", got, want)
	}
}

func TestCloseLeavesNoFDs(t *testing.T) {
	testutil.RequirePrivileged(t)
	before := testutil.CountFDs(t)
	for _, hook := range []Hook{HookRaw, HookSyscallTracepoints} {
		p, err := Load(Options{Hook: hook})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if _, err := p.PipeBuffers(); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if after := testutil.CountFDs(t); after != before {
		t.Errorf("%d fds open before Load, %d after Close", before, after)
	}
}

func TestProbeStatus(t *testing.T) {
	p := load(t, Options{})
	s, err := p.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, ps := range s.Probes {
		if !ps.Attached {
			t.Errorf("probe %s not attached: %s", ps.Name, ps.Error)
		}
		names[ps.Name] = true
	}
	for _, n := range []string{"tp_btf/sys_enter", "tp_btf/sys_exit", "tp_btf/signal_generate", "tp_btf/signal_deliver", "iter/task_file"} {
		if !names[n] {
			t.Errorf("probe %s missing from %+v", n, s.Probes)
		}
	}
	if s.Hook != HookRaw || p.Hook() != HookRaw {
		t.Errorf("hook %q (Hook() %q), want %q on a kernel with BTF", s.Hook, p.Hook(), HookRaw)
	}
	if len(s.Drops) != 5 {
		t.Errorf("drops %+v, want 5 maps", s.Drops)
	}
}

// TestHookFallback makes the tp_btf programs fail to attach, as they do on
// kernels without BTF, and checks that the default hook falls back to the
// per-syscall tracepoints, says so and counts exactly.
func TestHookFallback(t *testing.T) {
	testutil.RequirePrivileged(t)
	attachTracing = func(link.TracingOptions) (link.Link, error) {
		return nil, fmt.Errorf("attaching tp_btf: %w", unix.EOPNOTSUPP)
	}
	t.Cleanup(func() { attachTracing = link.AttachTracing })
	p := load(t, Options{Groups: []Group{GroupData, GroupLife}})
	pid := runWorkload(t, "fifo")
	s, err := p.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if s.Hook != HookSyscallTracepoints || p.Hook() != HookSyscallTracepoints {
		t.Errorf("hook %q (Hook() %q), want %q", s.Hook, p.Hook(), HookSyscallTracepoints)
	}
	for _, ps := range s.Probes {
		if !ps.Attached {
			t.Errorf("probe %s not attached: %s", ps.Name, ps.Error)
		}
	}
	for k, w := range expected["fifo"] {
		c := s.Counters(k[0], k[1], pid)
		if (want{c.Calls, c.Bytes}) != w {
			t.Errorf("%s/%s: got calls,bytes %v, want %v", k[0], k[1], want{c.Calls, c.Bytes}, w)
		}
	}
}

func TestLoadRejectsUnknownGroup(t *testing.T) {
	if p, err := Load(Options{Groups: []Group{"nope"}}); err == nil || p != nil {
		t.Errorf("Load with unknown group: %v, %v", p, err)
	}
}
