package exporter

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// documented is one row of METRICS.md.
type documented struct {
	typ      string
	labels   []string // sorted
	optional []string // labels in [brackets]: only with a flag
}

// readMetricsDoc parses the tables of METRICS.md: | `name` | type | labels | meaning |.
func readMetricsDoc(t *testing.T) map[string]documented {
	t.Helper()
	f, err := os.Open("../METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc := map[string]documented{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, "| `ipcwatch_") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			t.Fatalf("METRICS.md: row with fewer than 4 cells: %s", line)
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		var d documented
		d.typ = strings.TrimSpace(cells[2])
		for _, l := range strings.Split(cells[3], ",") {
			l = strings.TrimSpace(l)
			switch {
			case l == "":
			case strings.HasPrefix(l, "["):
				d.optional = append(d.optional, strings.Trim(l, "[]"))
			default:
				d.labels = append(d.labels, l)
			}
		}
		slices.Sort(d.labels)
		if _, dup := doc[name]; dup {
			t.Errorf("METRICS.md documents %s twice", name)
		}
		doc[name] = d
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return doc
}

// fullScrape gathers every collector on the fixtures, with build info and
// the Go and process collectors, as the agent serves them.
func fullScrape(t *testing.T, containerLabels bool) []*dto.MetricFamily {
	t.Helper()
	cfg := fixtureConfig(t)
	cfg.ContainerLabels = containerLabels
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(e)
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func labelNames(mf *dto.MetricFamily) []string {
	seen := map[string]bool{}
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			seen[l.GetName()] = true
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// TestMetricsDoc checks METRICS.md against the real output: every family
// served is documented with its type and labels, and every documented
// family is served.
func TestMetricsDoc(t *testing.T) {
	doc := readMetricsDoc(t)
	served := map[string]bool{}
	for _, containers := range []bool{false, true} {
		for _, mf := range fullScrape(t, containers) {
			name := mf.GetName()
			if !strings.HasPrefix(name, "ipcwatch_") {
				continue
			}
			served[name] = true
			d, ok := doc[name]
			if !ok {
				t.Errorf("%s is served but not in METRICS.md", name)
				continue
			}
			if typ := strings.ToLower(mf.GetType().String()); typ != d.typ {
				t.Errorf("%s: METRICS.md says %s, served as %s", name, d.typ, typ)
			}
			want := slices.Clone(d.labels)
			if containers {
				want = append(want, d.optional...)
				slices.Sort(want)
			}
			if got := labelNames(mf); !slices.Equal(got, want) {
				t.Errorf("%s (container labels %v): METRICS.md says labels %v, served with %v", name, containers, want, got)
			}
		}
	}
	for name := range doc {
		if !served[name] {
			t.Errorf("METRICS.md documents %s, which the fixtures do not make the agent serve", name)
		}
	}
}

// TestPromtoolCheckMetrics runs promtool check metrics on the full output.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (scripts/deps.sh installs it)")
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range fullScrape(t, true) {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
