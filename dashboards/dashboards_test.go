package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// A Grafana dashboard, as far as these tests read it.
type dashboard struct {
	file          string
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int                 `json:"id"`
	Type       string              `json:"type"`
	Title      string              `json:"title"`
	Datasource *datasourceRef      `json:"datasource"`
	GridPos    *struct{ H, W int } `json:"gridPos"`
	Targets    []target            `json:"targets"`
	Panels     []panel             `json:"panels"` // a collapsed row's panels
}

type target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *datasourceRef `json:"datasource"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Query      any            `json:"query"`
	Datasource *datasourceRef `json:"datasource"`
	Multi      bool           `json:"multi"`
	IncludeAll bool           `json:"includeAll"`
}

// A query of a panel: what the tests evaluate.
type query struct {
	dashboard, panel, refID string
	expr                    string
}

func (q query) String() string {
	return fmt.Sprintf("%s / %q / %s: %s", q.dashboard, q.panel, q.refID, q.expr)
}

func loadDashboards(t *testing.T) []*dashboard {
	t.Helper()
	files, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no dashboards")
	}
	var out []*dashboard
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := &dashboard{file: f}
		if err := json.Unmarshal(data, d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, d)
	}
	return out
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

func queries(t *testing.T, ds []*dashboard) []query {
	t.Helper()
	var out []query
	for _, d := range ds {
		for _, p := range allPanels(d.Panels) {
			for _, tg := range p.Targets {
				out = append(out, query{dashboard: d.file, panel: p.Title, refID: tg.RefID, expr: tg.Expr})
			}
		}
	}
	return out
}

// The data source of every panel and variable: the dashboard's datasource
// variable, so a dashboard imports into any Grafana.
var datasource = datasourceRef{Type: "prometheus", UID: "${datasource}"}

func TestDashboardsAreWellFormed(t *testing.T) {
	uids := map[string]string{}
	for _, d := range loadDashboards(t) {
		if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
			t.Errorf("%s: uid, title and schemaVersion are required", d.file)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %s", d.file, other, d.UID)
		}
		uids[d.UID] = d.file
		vars := map[string]variable{}
		for _, v := range d.Templating.List {
			vars[v.Name] = v
			if v.Type == "query" && (v.Datasource == nil || *v.Datasource != datasource) {
				t.Errorf("%s: variable %s must query %v", d.file, v.Name, datasource)
			}
		}
		if v, ok := vars["datasource"]; !ok || v.Type != "datasource" || v.Query != "prometheus" {
			t.Errorf("%s: needs a datasource variable of type prometheus", d.file)
		}
		if _, ok := vars["instance"]; !ok {
			t.Errorf("%s: needs an instance variable", d.file)
		}
		ids := map[int]bool{}
		for _, p := range allPanels(d.Panels) {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d used twice", d.file, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
				t.Errorf("%s: panel %q has no size", d.file, p.Title)
			}
			if p.Type == "row" {
				continue
			}
			if p.Title == "" || len(p.Targets) == 0 {
				t.Errorf("%s: panel %d needs a title and a query", d.file, p.ID)
			}
			if p.Datasource == nil || *p.Datasource != datasource {
				t.Errorf("%s: panel %q must use %v", d.file, p.Title, datasource)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if tg.Expr == "" || tg.RefID == "" || refs[tg.RefID] {
					t.Errorf("%s: panel %q: every query needs an expression and its own refId", d.file, p.Title)
				}
				refs[tg.RefID] = true
				if tg.Datasource != nil && *tg.Datasource != datasource {
					t.Errorf("%s: panel %q: query %s uses another data source", d.file, p.Title, tg.RefID)
				}
				for _, m := range varRef.FindAllStringSubmatch(tg.Expr, -1) {
					name := m[1] + m[2]
					if _, ok := vars[name]; !ok && !strings.HasPrefix(name, "__") {
						t.Errorf("%s: panel %q uses $%s, which the dashboard does not define", d.file, p.Title, name)
					}
				}
				if !strings.Contains(tg.Expr, `instance=~"$instance"`) {
					t.Errorf("%s: panel %q: query %s does not select by $instance", d.file, p.Title, tg.RefID)
				}
			}
		}
	}
}

// varRef matches a Grafana variable: $name or ${name} (or ${name:format}).
var varRef = regexp.MustCompile(`\$(?:\{(\w+)(?::\w+)?\}|(\w+))`)

// substitute replaces Grafana's variables in expr by values, as Grafana would
// before sending the query; every variable must have a value.
func substitute(expr string, values map[string]string) (string, error) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(expr, func(s string) string {
		m := varRef.FindStringSubmatch(s)
		name := m[1] + m[2]
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for $%s", strings.Join(missing, ", $"))
	}
	return out, nil
}

// The values that Grafana's built-in interval variables take for the tests:
// the scrape interval is 1s.
var builtins = map[string]string{
	"__rate_interval": "30s",
	"__interval":      "5s",
	"__range":         "1m",
}

// A Prometheus rule file, as far as these tests read it.
type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

const rulesFile = "rules.yml"

func loadRules(t *testing.T) []rule {
	t.Helper()
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.UnmarshalStrict(data, &rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var out []rule
	for _, g := range rf.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no rules", rulesFile)
	}
	return out
}

func TestAlertsAreDocumented(t *testing.T) {
	names := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if names[r.Alert] {
			t.Errorf("alert %s defined twice", r.Alert)
		}
		names[r.Alert] = true
		if !slices.Contains([]string{"warning", "critical", "info"}, r.Labels["severity"]) {
			t.Errorf("alert %s: severity label must be info, warning or critical", r.Alert)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s: summary and description annotations are required", r.Alert)
		}
	}
}

// requireTool returns the path of a program the test needs: scripts/deps.sh
// installs it; without it the test skips, or fails where CI requires every
// test to run.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("IPCWATCH_REQUIRE_PRIVILEGED") == "1" {
		t.Fatalf("%s is missing (scripts/deps.sh installs it)", name)
	}
	t.Skipf("%s is missing (scripts/deps.sh installs it)", name)
	return ""
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool := requireTool(t, "promtool")
	out, err := exec.Command(promtool, "check", "rules", rulesFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// TestPromtoolTestRules runs the alerts' unit tests: each alert fires on the
// series that should fire it, and only after its for: duration.
func TestPromtoolTestRules(t *testing.T) {
	promtool := requireTool(t, "promtool")
	out, err := exec.Command(promtool, "test", "rules", filepath.Join("testdata", "rules_test.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}
