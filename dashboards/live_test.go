package dashboards

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/sys/unix"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

// testComm is the process name (comm) of this test binary, whose own objects
// and failed writes the per-process panels must show.
var testComm = func() string {
	comm := filepath.Base(os.Args[0])
	if len(comm) > 15 {
		comm = comm[:15]
	}
	return comm
}()

// TestPanelsReturnData runs the real thing: `ipcwatch agent` on a loopback
// port, Debian's prometheus scraping it every second with native histograms,
// IPC objects of every kind that this test holds (a full pipe, a FIFO, a
// Unix socket with connections waiting, POSIX and System V queues with
// messages, shared memory, semaphores), and `ipcwatch bench` for traffic.
// Every panel's query must then return data, every metric that a panel or a
// rule names must exist, and Prometheus must evaluate every rule without
// error.
func TestPanelsReturnData(t *testing.T) {
	testutil.RequirePrivileged(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "ipcwatch")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ipcwatch/ipcwatch/cmd/ipcwatch").CombinedOutput(); err != nil {
		t.Fatalf("building ipcwatch: %v\n%s", err, out)
	}
	agent := freeAddr(t)
	startProcess(t, bin, "agent", "--web.listen-address="+agent, "--selftest.interval=10s", "--log.level=warn")
	waitHTTP(t, "http://"+agent+"/", 30*time.Second)
	prom := startPrometheus(t, agent)
	waitForData(ctx, t, prom, `ipcwatch_build_info{instance="`+agent+`"}`)

	holdObjects(t)
	bench := exec.CommandContext(ctx, bin, "bench", "--count", "2000")
	if out, err := bench.CombinedOutput(); err != nil {
		t.Fatalf("ipcwatch bench: %v\n%s", err, out)
	}
	// A few scrapes after the traffic, so that rates have two samples.
	time.Sleep(4 * time.Second)

	values := panelValues(agent, grafanaMulti("ipcwatch", testComm))
	var exprs []string
	for _, q := range queries(t, loadDashboards(t)) {
		expr, err := substitute(q.expr, values)
		if err != nil {
			t.Errorf("%v: %v", q, err)
			continue
		}
		exprs = append(exprs, expr)
		if err := returnsData(ctx, prom, expr, 15*time.Second); err != nil {
			t.Errorf("%v: %v", q, err)
		}
	}
	rules := loadRules(t)
	for _, r := range rules {
		exprs = append(exprs, r.Expr)
		if _, err := evaluate(ctx, prom, r.Expr); err != nil {
			t.Errorf("rule %s%s: %v", r.Alert, r.Record, err)
		}
	}
	checkMetricNames(ctx, t, prom, exprs)
	checkRuleHealth(t, prom, len(rules))
}

// grafanaMulti formats the values of a multi-value variable as Grafana's
// Prometheus data source does inside a regular expression matcher: each value
// regexp-escaped, the backslashes doubled for the PromQL string, joined as
// alternatives.
func grafanaMulti(values ...string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strings.ReplaceAll(regexp.QuoteMeta(v), `\`, `\\`)
	}
	return "(" + strings.Join(q, "|") + ")"
}

// returnsData evaluates expr until it returns a non-empty result or timeout
// passes.
func returnsData(ctx context.Context, prom promv1.API, expr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		v, err := evaluate(ctx, prom, expr)
		if err != nil {
			if isParseError(err) {
				return fmt.Errorf("does not parse: %w", err)
			}
			return err
		}
		if !empty(v) {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("returns no data")
		}
		time.Sleep(time.Second)
	}
}

func waitForData(ctx context.Context, t *testing.T, prom promv1.API, expr string) {
	t.Helper()
	if err := returnsData(ctx, prom, expr, 30*time.Second); err != nil {
		t.Fatalf("Prometheus has not scraped the agent: %s %v", expr, err)
	}
}

// metricName matches the metric names that ipcwatch's dashboards and rules
// use: ipcwatch's own and the process collector's.
var metricName = regexp.MustCompile(`\b(?:ipcwatch|process)_[a-z0-9_]+\b`)

// checkMetricNames fails on any metric name in exprs that Prometheus has not
// scraped from the agent: a misspelt name in an alert never fires.
func checkMetricNames(ctx context.Context, t *testing.T, prom promv1.API, exprs []string) {
	t.Helper()
	names, _, _, err := prom.LabelValues(ctx, model.MetricNameLabel, nil, time.Now().Add(-time.Hour), time.Now())
	if err != nil {
		t.Fatalf("listing metric names: %v", err)
	}
	known := map[string]bool{}
	for _, n := range names {
		known[string(n)] = true
	}
	var missing []string
	for _, e := range exprs {
		for _, n := range metricName.FindAllString(e, -1) {
			if !known[n] && !slices.Contains(missing, n) {
				missing = append(missing, n)
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("the dashboards or rules use metrics the agent does not export: %s", strings.Join(missing, ", "))
	}
}

// holdObjects creates an IPC object of every kind the backpressure panels
// show, with something queued in each, and removes them all when t ends.
// Their names follow ipcwatch's ipcwatch-PID-N pattern, so that a later
// ipcwatch run sweeps them if this test is killed.
func holdObjects(t *testing.T) {
	t.Helper()
	name := fmt.Sprintf("ipcwatch-%d-1", os.Getpid())

	// A pipe filled until the writer would block; the failed write counts
	// as an error of this process.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatalf("pipe2: %v", err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	chunk := make([]byte, 4096)
	for {
		if _, err := unix.Write(p[1], chunk); err != nil {
			if !errors.Is(err, unix.EAGAIN) {
				t.Fatalf("filling a pipe: %v", err)
			}
			break
		}
	}

	// A FIFO with a few bytes in it.
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	ffd, err := unix.Open(fifo, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening the FIFO: %v", err)
	}
	t.Cleanup(func() { unix.Close(ffd) })
	if _, err := unix.Write(ffd, chunk[:100]); err != nil {
		t.Fatalf("writing the FIFO: %v", err)
	}

	// A listening Unix socket with two connections waiting to be accepted,
	// and an accepted one holding unread bytes.
	sock := filepath.Join(t.TempDir(), "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range 3 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	accepted, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, accepted)
	if _, err := conns[0].Write(chunk[:100]); err != nil {
		t.Fatal(err)
	}

	// A POSIX message queue with two messages.
	mqName, err := unix.BytePtrFromString(name)
	if err != nil {
		t.Fatal(err)
	}
	mq, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(mqName)),
		unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600, 0, 0, 0)
	if errno != 0 {
		t.Fatalf("mq_open %s: %v", name, errno)
	}
	t.Cleanup(func() {
		unix.Close(int(mq))
		unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(mqName)), 0, 0)
	})
	for range 2 {
		if _, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDSEND, mq, uintptr(unsafe.Pointer(&chunk[0])), 64, 0, 0, 0); errno != 0 {
			t.Fatalf("mq_timedsend: %v", errno)
		}
	}

	// A System V message queue with a message.
	msq, _, errno := unix.Syscall(unix.SYS_MSGGET, unix.IPC_PRIVATE, unix.IPC_CREAT|0o600, 0)
	if errno != 0 {
		t.Fatalf("msgget: %v", errno)
	}
	t.Cleanup(func() { unix.Syscall(unix.SYS_MSGCTL, msq, unix.IPC_RMID, 0) })
	msg := struct {
		mtype int64
		text  [64]byte
	}{mtype: 1}
	if _, _, errno := unix.Syscall6(unix.SYS_MSGSND, msq, uintptr(unsafe.Pointer(&msg)), 64, unix.IPC_NOWAIT, 0, 0); errno != 0 {
		t.Fatalf("msgsnd: %v", errno)
	}

	// A System V shared memory segment, attached, and a semaphore set.
	shm, err := unix.SysvShmGet(unix.IPC_PRIVATE, 1<<20, unix.IPC_CREAT|0o600)
	if err != nil {
		t.Fatalf("shmget: %v", err)
	}
	t.Cleanup(func() { unix.SysvShmCtl(shm, unix.IPC_RMID, nil) })
	mem, err := unix.SysvShmAttach(shm, 0, 0)
	if err != nil {
		t.Fatalf("shmat: %v", err)
	}
	t.Cleanup(func() { unix.SysvShmDetach(mem) })
	sem, _, errno := unix.Syscall(unix.SYS_SEMGET, unix.IPC_PRIVATE, 2, unix.IPC_CREAT|0o600)
	if errno != 0 {
		t.Fatalf("semget: %v", errno)
	}
	t.Cleanup(func() { unix.Syscall(unix.SYS_SEMCTL, sem, 0, unix.IPC_RMID) })

	// A POSIX shared memory object with 64 KiB written.
	shmPath := filepath.Join("/dev/shm", name)
	if err := os.WriteFile(shmPath, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(shmPath) })
}
