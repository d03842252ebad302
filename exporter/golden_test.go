package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/ipcwatch/ipcwatch/collector"
	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"github.com/ipcwatch/ipcwatch/probes"
)

// fixedInventory serves an inventory read from a fixture.
type fixedInventory struct{ inv *collector.Inventory }

func (f fixedInventory) Collect(context.Context) (*collector.Inventory, error) { return f.inv, nil }

// fixedProbes serves probe snapshots read from fixtures, one per scrape;
// the last one repeats.
type fixedProbes struct{ snaps []*probes.Snapshot }

func (f *fixedProbes) Snapshot() (*probes.Snapshot, error) {
	s := f.snaps[0]
	if len(f.snaps) > 1 {
		f.snaps = f.snaps[1:]
	}
	return s, nil
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
}

func fixtureInventory(t *testing.T) *collector.Inventory {
	var inv collector.Inventory
	readJSON(t, "inventory.json", &inv)
	return &inv
}

func fixtureSnapshot(t *testing.T) *probes.Snapshot {
	var s probes.Snapshot
	readJSON(t, "snapshot.json", &s)
	// Kernel comms are bytes, not always UTF-8; JSON cannot carry that.
	for i := range s.Ops {
		if s.Ops[i].PID == 300 {
			s.Ops[i].Comm = "bad\xffname"
		}
	}
	return &s
}

func fixtureSelfTest() *SelfTest {
	st := NewSelfTest(SelfTestConfig{})
	at := time.Unix(1795000000, 0)
	yes, no := true, false
	st.setResult("pipe", nil, &yes, []float64{20e-6, 30e-6, 45e-6}, at)
	st.setResult("unix_stream", nil, &no, []float64{50e-6}, at)
	st.setResult("posix_shm", nil, nil, []float64{3e-6, 4e-6}, at)
	st.setResult("sysv_msg", errors.New("starting session: permission denied"), nil, nil, at)
	return st
}

// fixtureConfig is a Config with every source on fixtures.
func fixtureConfig(t *testing.T) Config {
	return Config{
		Inventory: fixedInventory{fixtureInventory(t)},
		Probes:    &fixedProbes{snaps: []*probes.Snapshot{fixtureSnapshot(t)}},
		SelfTest:  fixtureSelfTest(),
		ProcRoot:  t.TempDir(),
	}
}

// scrapeText gathers e and returns the text exposition, without the
// scrape durations (they change at every run).
func scrapeText(t *testing.T, e *Exporter) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if mf.GetName() == "ipcwatch_scrape_collector_duration_seconds" {
			continue
		}
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

func only(name string) map[string]bool {
	m := map[string]bool{}
	for _, n := range CollectorNames() {
		m[n] = n == name
	}
	return m
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, name+".golden", []byte(got))
}

// TestGolden scrapes each collector alone on the fixtures and compares the
// exposition with its golden file.
func TestGolden(t *testing.T) {
	for _, name := range CollectorNames() {
		t.Run(name, func(t *testing.T) {
			cfg := fixtureConfig(t)
			cfg.Collectors = only(name)
			cfg.MaxObjects = 2
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name, scrapeText(t, e))
		})
	}
}

// TestGoldenContainerLabels scrapes the probes with container_id labels
// read from fixture cgroup files.
func TestGoldenContainerLabels(t *testing.T) {
	cfg := fixtureConfig(t)
	cfg.Collectors = only(probesCollector)
	cfg.ContainerLabels = true
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for pid, cgroup := range map[string]string{
		"100": "0::/system.slice/docker-" + id + ".scope\n",
		"101": "0::/user.slice/user-0.slice/session-1.scope\n",
	} {
		if err := os.MkdirAll(filepath.Join(cfg.ProcRoot, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cfg.ProcRoot, pid, "cgroup"), []byte(cgroup), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "probes_container_labels", scrapeText(t, e))
}

// TestNoProbes: without BPF the probes collector says which probes are
// missing, and succeeds.
func TestNoProbes(t *testing.T) {
	cfg := fixtureConfig(t)
	cfg.Probes = nil
	cfg.MissingProbes = []string{"data", "signal"}
	cfg.Collectors = only(probesCollector)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "probes_missing", scrapeText(t, e))
}
