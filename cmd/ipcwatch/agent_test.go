package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"github.com/ipcwatch/ipcwatch/ipc"
)

func TestAgentUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"agent", "--metrics.max-processes=0"},
		{"agent", "--metrics.max-objects=-1"},
		{"agent", "--selftest.interval=-1s"},
		{"agent", "--web.telemetry-path=metrics"},
		{"agent", "--web.config.file=/nonexistent/web.yml"},
		{"agent", "--no-such-flag"},
	} {
		if code := run(args); code != exitUsage {
			t.Errorf("ipcwatch %s: exit code %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
	}
}

// buildAgent builds the ipcwatch binary into a directory others may read.
func buildAgent(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "ipcwatch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building ipcwatch: %v\n%s", err, out)
	}
	return bin
}

// agentProcess is a running `ipcwatch agent`.
type agentProcess struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	done   chan error
}

var listeningRE = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// startAgent starts the agent on a free loopback port and waits until it
// listens. The agent dies with the test.
func startAgent(t *testing.T, bin string, cred *syscall.Credential, args ...string) *agentProcess {
	t.Helper()
	args = append([]string{"agent", "--web.listen-address=127.0.0.1:0"}, args...)
	a := &agentProcess{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, done: make(chan error, 1)}
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: cred}
	pr, pw := io.Pipe()
	a.cmd.Stderr = io.MultiWriter(a.stderr, pw)
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.done <- a.cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			a.cmd.Process.Kill()
			<-a.done
		}
	})
	found := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			if m := listeningRE.FindStringSubmatch(s.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case a.addr = <-found:
	case err := <-a.done:
		t.Fatalf("agent exited before listening: %v\n%s", err, a.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("agent not listening after 30s:\n%s", a.stderr)
	}
	return a
}

// stop sends SIGTERM and returns the exit error once the agent is gone.
func (a *agentProcess) stop(t *testing.T) error {
	t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.done:
		return err
	case <-time.After(15 * time.Second):
		a.cmd.Process.Kill()
		t.Fatalf("agent still running 15s after SIGTERM:\n%s", a.stderr)
		return nil
	}
}

// scrape returns /metrics as text and parsed.
func (a *agentProcess) scrape(t *testing.T) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get("http://" + a.addr + "/metrics")
	if err != nil {
		t.Fatalf("scraping: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping: %v %s", err, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return string(body), mfs
}

// value returns the value of the series of family name with exactly the
// given labels (a subset match is not enough), and whether it exists.
func value(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// observedMechanisms are the mechanisms whose self-test traffic the probes
// can count exactly.
var observedMechanisms = map[string]bool{
	"pipe": true, "fifo": true, "unix_stream": true, "unix_dgram": true, "unix_seqpacket": true,
	"posix_mq": true, "sysv_msg": true, "eventfd": true, "signal": true, "sysv_shm": true,
	"posix_shm": true, "mmap": true, "tcp": true,
}

// TestAgentEndToEnd runs the agent as root, makes a child write known
// bytes into a pipe, and finds exactly those counts in /metrics, with the
// self-test observed for every mechanism and promtool content.
func TestAgentEndToEnd(t *testing.T) {
	testutil.RequirePrivileged(t)
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not installed: run scripts/deps.sh")
	}
	ddPath, err := exec.LookPath("dd")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildAgent(t)
	a := startAgent(t, bin, nil, "--selftest.interval=1h", "--metrics.max-processes=100000", "--probes.strict")

	// The child: dd under a name no other process has, writing 37 blocks
	// of 512 bytes into a pipe that this test reads.
	gen := filepath.Join(filepath.Dir(bin), fmt.Sprintf("e2e%d", os.Getpid()))
	ddBin, err := os.ReadFile(ddPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gen, ddBin, 0o755); err != nil {
		t.Fatal(err)
	}
	const blocks, blockSize = 37, 512
	out, err := exec.Command(gen, "if=/dev/zero", fmt.Sprintf("bs=%d", blockSize), fmt.Sprintf("count=%d", blocks), "status=none").Output()
	if err != nil || len(out) != blocks*blockSize {
		t.Fatalf("generator: %v, %d bytes", err, len(out))
	}
	comm := filepath.Base(gen)

	// The first self-test run starts with the agent.
	var text string
	var mfs map[string]*dto.MetricFamily
	deadline := time.Now().Add(60 * time.Second)
	for {
		text, mfs = a.scrape(t)
		if _, ok := value(mfs, "ipcwatch_selftest_last_run_timestamp_seconds", nil); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no self-test result after 60s:\n%s", a.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if v, ok := value(mfs, "ipcwatch_syscalls_total", map[string]string{"mechanism": "pipe", "op": "write", "comm": comm}); v != blocks {
		t.Errorf("ipcwatch_syscalls_total{pipe,write,%s} = %v (present %v), want %d", comm, v, ok, blocks)
	}
	if v, ok := value(mfs, "ipcwatch_bytes_total", map[string]string{"mechanism": "pipe", "direction": "write", "comm": comm}); v != blocks*blockSize {
		t.Errorf("ipcwatch_bytes_total{pipe,write,%s} = %v (present %v), want %d", comm, v, ok, blocks*blockSize)
	}
	if v, ok := value(mfs, "ipcwatch_syscall_errors_total", map[string]string{"mechanism": "pipe", "op": "write", "comm": comm}); v != 0 || !ok {
		t.Errorf("ipcwatch_syscall_errors_total{pipe,write,%s} = %v (present %v), want 0", comm, v, ok)
	}
	for _, m := range mfs["ipcwatch_probe_attached"].GetMetric() {
		if m.GetGauge().GetValue() != 1 {
			t.Errorf("probe %v not attached", m.GetLabel())
		}
	}
	for _, name := range ipc.Names() {
		l := map[string]string{"mechanism": name}
		if v, ok := value(mfs, "ipcwatch_selftest_success", l); v != 1 {
			t.Errorf("ipcwatch_selftest_success{%s} = %v (present %v), want 1", name, v, ok)
		}
		if v, ok := value(mfs, "ipcwatch_selftest_roundtrip_seconds", l); v < 200 {
			t.Errorf("ipcwatch_selftest_roundtrip_seconds{%s} has %v samples (present %v), want 200", name, v, ok)
		}
		if observedMechanisms[name] {
			if v, ok := value(mfs, "ipcwatch_selftest_observed", l); v != 1 {
				t.Errorf("ipcwatch_selftest_observed{%s} = %v (present %v), want 1", name, v, ok)
			}
		}
	}
	for _, m := range mfs["ipcwatch_scrape_collector_success"].GetMetric() {
		if m.GetGauge().GetValue() != 1 {
			t.Errorf("collector %v failed:\n%s", m.GetLabel(), a.stderr)
		}
	}

	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(text)
	if out, err := check.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	resp, err := http.Get("http://" + a.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("/metrics")) {
		t.Errorf("landing page: %s, links to /metrics: %v", resp.Status, bytes.Contains(page, []byte("/metrics")))
	}

	pid := a.cmd.Process.Pid
	if err := a.stop(t); err != nil {
		t.Errorf("agent exit after SIGTERM: %v\n%s", err, a.stderr)
	}
	objs, err := ipc.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.PID == pid {
			t.Errorf("agent left %v behind", o)
		}
	}
}

// TestAgentWithoutBPF runs the agent as an unprivileged user: one warning
// naming what is missing, probes reported unattached, inventory and
// self-test served; with --probes.strict it fails.
func TestAgentWithoutBPF(t *testing.T) {
	testutil.RequirePrivileged(t)
	bin := buildAgent(t)
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	a := startAgent(t, bin, nobody, "--selftest.interval=1h")
	var mfs map[string]*dto.MetricFamily
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, mfs = a.scrape(t)
		if _, ok := value(mfs, "ipcwatch_selftest_last_run_timestamp_seconds", nil); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no self-test result after 60s:\n%s", a.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, g := range []string{"data", "life", "signal", "pipe_iter"} {
		if v, ok := value(mfs, "ipcwatch_probe_attached", map[string]string{"probe": g}); v != 0 || !ok {
			t.Errorf("ipcwatch_probe_attached{probe=%q} = %v (present %v), want 0", g, v, ok)
		}
	}
	if v, ok := value(mfs, "ipcwatch_objects", map[string]string{"type": "pipe"}); !ok || v < 1 {
		t.Errorf("ipcwatch_objects{type=pipe} = %v (present %v): inventory not served", v, ok)
	}
	if v, ok := value(mfs, "ipcwatch_selftest_roundtrip_seconds", map[string]string{"mechanism": "pipe"}); v < 200 {
		t.Errorf("self-test latency of pipe: %v samples (present %v), want 200", v, ok)
	}
	if _, ok := mfs["ipcwatch_syscalls_total"]; ok {
		t.Errorf("ipcwatch_syscalls_total served without probes")
	}
	if err := a.stop(t); err != nil {
		t.Errorf("agent exit after SIGTERM: %v", err)
	}
	if n := strings.Count(a.stderr.String(), "level=WARN"); n != 1 || !strings.Contains(a.stderr.String(), "eBPF probes not loaded") {
		t.Errorf("want exactly one warning, about eBPF; got %d:\n%s", n, a.stderr)
	}

	strict := exec.Command(bin, "agent", "--web.listen-address=127.0.0.1:0", "--probes.strict")
	strict.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: nobody}
	out, err := strict.CombinedOutput()
	if code := strict.ProcessState.ExitCode(); code != exitFailure || !strings.Contains(string(out), "--probes.strict") {
		t.Errorf("agent --probes.strict without BPF: exit %d (%v), want %d with a reason:\n%s", code, err, exitFailure, out)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
