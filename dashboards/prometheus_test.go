package dashboards

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// lockedBuffer collects a child's output for the failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProcess starts a child that t's cleanup stops: SIGTERM, then SIGKILL
// to its process group after 10s. On failure the child's output goes to the test log.
func startProcess(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// The child alone: it stops its own children as it shuts down.
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(name), tail(out.String(), 4000))
		}
	})
	return cmd
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within %v (last error: %v)", url, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startPrometheus starts Debian's prometheus on loopback with native
// histograms, a temporary data directory, the rule file, and a 1s scrape of
// each target; it returns its API.
func startPrometheus(t *testing.T, targets ...string) promv1.API {
	t.Helper()
	prometheus := requireTool(t, "prometheus")
	dir := t.TempDir()
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: ipcwatch
    static_configs:
      - targets: [%s]
`, rules, quoteAll(targets))
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	startProcess(t, prometheus,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--enable-feature=native-histograms",
		"--log.level=warn",
	)
	waitHTTP(t, "http://"+addr+"/-/ready", 30*time.Second)
	client, err := api.NewClient(api.Config{Address: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	return promv1.NewAPI(client)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// evaluate runs expr as an instant query now.
func evaluate(ctx context.Context, prom promv1.API, expr string) (model.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, _, _, err := prom.Query(ctx, expr, time.Now())
	return v, err
}

// isParseError says whether Prometheus rejected the query itself.
func isParseError(err error) bool {
	var e *promv1.Error
	return errors.As(err, &e) && e.Type == promv1.ErrBadData
}

func empty(v model.Value) bool {
	switch v := v.(type) {
	case model.Vector:
		return len(v) == 0
	case model.Matrix:
		return len(v) == 0
	case *model.Scalar, *model.String:
		return false
	}
	return true
}

// panelValues are the values the tests give the dashboards' variables,
// merged with builtins.
func panelValues(instance, comm string) map[string]string {
	v := map[string]string{
		"datasource": "prometheus",
		"instance":   instance,
		"comm":       comm,
		"mechanism":  ".+",
	}
	for k, b := range builtins {
		v[k] = b
	}
	return v
}

// TestExpressionsParse evaluates every panel query and every rule in a real
// Prometheus with no target: each must parse, and Prometheus must load and
// evaluate the rule file without error. It needs no privileges.
func TestExpressionsParse(t *testing.T) {
	prom := startPrometheus(t)
	ctx := context.Background()
	values := panelValues("127.0.0.1:1", "ipcwatch")
	for _, q := range queries(t, loadDashboards(t)) {
		expr, err := substitute(q.expr, values)
		if err != nil {
			t.Errorf("%v: %v", q, err)
			continue
		}
		if _, err := evaluate(ctx, prom, expr); err != nil {
			t.Errorf("%v: %v", q, err)
		}
	}
	for _, r := range loadRules(t) {
		if _, err := evaluate(ctx, prom, r.Expr); err != nil {
			t.Errorf("rule %s%s: %v", r.Alert, r.Record, err)
		}
	}
	checkRuleHealth(t, prom, len(loadRules(t)))
}

// checkRuleHealth waits until Prometheus has evaluated each of the n rules
// and fails on any that errs.
func checkRuleHealth(t *testing.T, prom promv1.API, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := prom.Rules(context.Background(), nil)
		if err != nil {
			t.Fatalf("listing rules: %v", err)
		}
		var evaluated int
		var bad []string
		for _, g := range res.Groups {
			for _, r := range g.Rules {
				var name string
				var health promv1.RuleHealth
				var lastErr string
				switch r := r.(type) {
				case promv1.AlertingRule:
					name, health, lastErr = r.Name, r.Health, r.LastError
				case promv1.RecordingRule:
					name, health, lastErr = r.Name, r.Health, r.LastError
				}
				switch health {
				case promv1.RuleHealthGood:
					evaluated++
				case promv1.RuleHealthBad:
					bad = append(bad, name+": "+lastErr)
				}
			}
		}
		if len(bad) > 0 {
			t.Fatalf("rules failing in Prometheus:\n%s", strings.Join(bad, "\n"))
		}
		if evaluated == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus evaluated %d of %d rules", evaluated, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
