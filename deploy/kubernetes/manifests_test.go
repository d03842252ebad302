package kubernetes

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The capabilities the agent's features need, as the DaemonSet's and the
// Dockerfile's comments explain: no more, no fewer.
var wantCapabilities = []corev1.Capability{"BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_ADMIN"}

// decode reads one manifest and decodes it strictly: an unknown or misspelt
// field (case included), a duplicate key or a second document is an error.
func decode(t *testing.T, file, apiVersion, kind string, into any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?m)^---`).Match(data) {
		t.Fatalf("%s: one document per file, found a --- separator", file)
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if tm.APIVersion != apiVersion || tm.Kind != kind {
		t.Fatalf("%s: apiVersion %q kind %q, want %q %q", file, tm.APIVersion, tm.Kind, apiVersion, kind)
	}
	decodeStrict(t, file, data, into)
}

// decodeStrict decodes YAML as the API server decodes JSON: field names are
// case-sensitive, unknown and duplicate fields are errors.
func decodeStrict(t *testing.T, file string, data []byte, into any) {
	t.Helper()
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	strictErrs, err := kjson.UnmarshalStrict(js, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		t.Fatalf("%s: decoding as %T: %v", file, into, err)
	}
	for _, e := range strictErrs {
		t.Errorf("%s: decoding strictly as %T: %v", file, into, e)
	}
}

type manifests struct {
	ns  corev1.Namespace
	sa  corev1.ServiceAccount
	ds  appsv1.DaemonSet
	svc corev1.Service
	sm  monitoringv1.ServiceMonitor
	pr  monitoringv1.PrometheusRule
}

func load(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{}
	decode(t, "namespace.yaml", "v1", "Namespace", &m.ns)
	decode(t, "serviceaccount.yaml", "v1", "ServiceAccount", &m.sa)
	decode(t, "daemonset.yaml", "apps/v1", "DaemonSet", &m.ds)
	decode(t, "service.yaml", "v1", "Service", &m.svc)
	decode(t, "servicemonitor.yaml", "monitoring.coreos.com/v1", "ServiceMonitor", &m.sm)
	decode(t, "prometheusrule.yaml", "monitoring.coreos.com/v1", "PrometheusRule", &m.pr)
	return m
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	decode(t, "kustomization.yaml", "kustomize.config.k8s.io/v1beta1", "Kustomization", &k)
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" })
	got := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(got, files) {
		t.Errorf("kustomization resources %v, manifests in the directory %v", got, files)
	}
}

func TestManifestsShareOneNamespace(t *testing.T) {
	m := load(t)
	if m.ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
		t.Errorf("namespace %s: hostPID and added capabilities need the privileged Pod Security level", m.ns.Name)
	}
	for _, o := range []metav1.ObjectMeta{m.sa.ObjectMeta, m.ds.ObjectMeta, m.svc.ObjectMeta, m.sm.ObjectMeta, m.pr.ObjectMeta} {
		if o.Namespace != m.ns.Name {
			t.Errorf("%s is in namespace %q, want %q", o.Name, o.Namespace, m.ns.Name)
		}
	}
	if m.ds.Spec.Template.Spec.ServiceAccountName != m.sa.Name {
		t.Errorf("DaemonSet runs as service account %q, manifest defines %q", m.ds.Spec.Template.Spec.ServiceAccountName, m.sa.Name)
	}
	if m.sa.AutomountServiceAccountToken == nil || *m.sa.AutomountServiceAccountToken {
		t.Error("the agent does not use the Kubernetes API: its service account must not mount a token")
	}
}

func agentContainer(t *testing.T, ds *appsv1.DaemonSet) *corev1.Container {
	t.Helper()
	cs := ds.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("DaemonSet has %d containers, want 1", len(cs))
	}
	return &cs[0]
}

func TestDaemonSetLeastPrivilege(t *testing.T) {
	m := load(t)
	pod := m.ds.Spec.Template.Spec
	c := agentContainer(t, &m.ds)

	sel, err := metav1.LabelSelectorAsSelector(m.ds.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(m.ds.Spec.Template.Labels)) {
		t.Errorf("DaemonSet selector %v does not match its pod labels %v", sel, m.ds.Spec.Template.Labels)
	}
	if !pod.HostPID {
		t.Error("hostPID must be set: the agent watches every process of the node")
	}
	if pod.HostNetwork || pod.HostIPC {
		t.Error("hostNetwork and hostIPC are not needed: the agent visits namespaces with setns")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod must not mount a service account token")
	}

	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("container has no securityContext")
	}
	if sc.Privileged == nil || *sc.Privileged {
		t.Error("container must say privileged: false")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("container must say allowPrivilegeEscalation: false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("container must have a read-only root file system")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Error("container must drop ALL capabilities")
	} else if got := slices.Sorted(slices.Values(sc.Capabilities.Add)); !slices.Equal(got, slices.Sorted(slices.Values(wantCapabilities))) {
		t.Errorf("container adds capabilities %v, want exactly %v", got, wantCapabilities)
	}
	// Added capabilities reach a process only as user 0: Kubernetes sets no
	// ambient capabilities.
	if sc.RunAsUser == nil || *sc.RunAsUser != 0 {
		t.Error("with added capabilities the container must run as user 0")
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("container must keep the runtime's default seccomp profile")
	}
}

func TestDaemonSetResourcesAndProbes(t *testing.T) {
	m := load(t)
	c := agentContainer(t, &m.ds)
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[r]
		lim, okLim := c.Resources.Limits[r]
		if !okReq || !okLim {
			t.Errorf("container needs a %s request and limit", r)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s request %s exceeds its limit %s", r, req.String(), lim.String())
		}
	}
	// The agent's resident memory goal is 64 MiB: the limit leaves room for
	// the self-test's child processes.
	if lim := c.Resources.Limits[corev1.ResourceMemory]; lim.Cmp(resource.MustParse("128Mi")) < 0 {
		t.Errorf("memory limit %s leaves no room for the self-test", lim.String())
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil {
			t.Errorf("container has no %s probe", name)
			continue
		}
		if p.HTTPGet == nil {
			t.Errorf("%s probe: want an HTTP GET of the agent's landing page", name)
			continue
		}
		if _, ok := ports[p.HTTPGet.Port.String()]; !ok {
			t.Errorf("%s probe port %q is not a named container port (%v)", name, p.HTTPGet.Port.String(), ports)
		}
	}
}

func TestDaemonSetMounts(t *testing.T) {
	m := load(t)
	pod := m.ds.Spec.Template.Spec
	c := agentContainer(t, &m.ds)
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		if _, ok := volumes[vm.Name]; !ok {
			t.Errorf("volume mount %s refers to no volume", vm.Name)
		}
		mounts[vm.MountPath] = vm
	}
	for _, want := range []struct{ mountPath, hostPath string }{
		{"/host/proc", "/proc"},
		{"/sys/kernel/btf", "/sys/kernel/btf"},
		{"/sys/kernel/tracing", "/sys/kernel/tracing"},
	} {
		vm, ok := mounts[want.mountPath]
		if !ok {
			t.Errorf("nothing mounted at %s", want.mountPath)
			continue
		}
		if !vm.ReadOnly {
			t.Errorf("%s must be mounted read-only", want.mountPath)
		}
		if hp := volumes[vm.Name].HostPath; hp == nil || hp.Path != want.hostPath {
			t.Errorf("%s must be the host's %s", want.mountPath, want.hostPath)
		}
	}
	if tmp, ok := mounts["/tmp"]; !ok || tmp.ReadOnly || volumes[tmp.Name].EmptyDir == nil {
		t.Error("/tmp must be a writable emptyDir: the root file system is read-only")
	}
	if !slices.Contains(c.Args, "--path.procfs=/host/proc") {
		t.Errorf("args %v: the agent must read the host's /proc at /host/proc", c.Args)
	}
}

func TestServiceSelectsAgentPods(t *testing.T) {
	m := load(t)
	c := agentContainer(t, &m.ds)
	if !labels.SelectorFromSet(m.svc.Spec.Selector).Matches(labels.Set(m.ds.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not match the agent pods' labels %v", m.svc.Spec.Selector, m.ds.Spec.Template.Labels)
	}
	if m.svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Error("the Service must be headless: one scrape target per agent pod")
	}
	for _, sp := range m.svc.Spec.Ports {
		i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == sp.TargetPort.String() })
		if i < 0 {
			t.Errorf("Service port %s targets %q, which is no container port", sp.Name, sp.TargetPort.String())
		} else if c.Ports[i].ContainerPort != sp.Port {
			t.Errorf("Service port %s is %d, container port %d", sp.Name, sp.Port, c.Ports[i].ContainerPort)
		}
	}
}

func TestServiceMonitorScrapesService(t *testing.T) {
	m := load(t)
	sel, err := metav1.LabelSelectorAsSelector(&m.sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(m.svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not match the Service's labels %v", sel, m.svc.Labels)
	}
	if !m.sm.Spec.NamespaceSelector.Any && !slices.Contains(m.sm.Spec.NamespaceSelector.MatchNames, m.svc.Namespace) {
		t.Errorf("ServiceMonitor looks in namespaces %v, the Service is in %s", m.sm.Spec.NamespaceSelector.MatchNames, m.svc.Namespace)
	}
	if len(m.sm.Spec.Endpoints) == 0 {
		t.Fatal("ServiceMonitor has no endpoints")
	}
	for _, ep := range m.sm.Spec.Endpoints {
		if !slices.ContainsFunc(m.svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
			t.Errorf("ServiceMonitor endpoint port %q is no Service port", ep.Port)
		}
		interval, err := model.ParseDuration(string(ep.Interval))
		if err != nil {
			t.Errorf("interval: %v", err)
		}
		timeout, err := model.ParseDuration(string(ep.ScrapeTimeout))
		if err != nil {
			t.Errorf("scrapeTimeout: %v", err)
		}
		if timeout > interval {
			t.Errorf("scrape timeout %s exceeds the interval %s", timeout, interval)
		}
		if ep.Path != "/metrics" {
			t.Errorf("endpoint path %q, the agent serves /metrics", ep.Path)
		}
	}
}

// TestPrometheusRuleMatchesRuleFile checks that the PrometheusRule carries
// exactly the alerts of dashboards/rules.yml, which the dashboards' tests
// evaluate in a real Prometheus.
func TestPrometheusRuleMatchesRuleFile(t *testing.T) {
	m := load(t)
	file := filepath.Join("..", "..", "dashboards", "rules.yml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var want monitoringv1.PrometheusRuleSpec
	decodeStrict(t, file, data, &want)
	if len(want.Groups) == 0 {
		t.Fatalf("%s has no groups", file)
	}
	if !reflect.DeepEqual(m.pr.Spec, want) {
		got, _ := yaml.Marshal(m.pr.Spec)
		wantYAML, _ := yaml.Marshal(want)
		t.Errorf("prometheusrule.yaml differs from %s:\n--- prometheusrule.yaml\n%s\n--- %s\n%s", file, got, file, wantYAML)
	}
}

// TestAgentAcceptsDaemonSetArgs builds ipcwatch and checks that `ipcwatch
// agent` knows every flag the DaemonSet passes, and that the port it listens
// on is the container port, so the pods do not crash-loop on a renamed flag.
func TestAgentAcceptsDaemonSetArgs(t *testing.T) {
	m := load(t)
	c := agentContainer(t, &m.ds)
	if len(c.Args) == 0 || c.Args[0] != "agent" {
		t.Fatalf("args %v: want the agent subcommand first", c.Args)
	}
	bin := filepath.Join(t.TempDir(), "ipcwatch")
	build := exec.Command("go", "build", "-o", bin, "github.com/ipcwatch/ipcwatch/cmd/ipcwatch")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building ipcwatch: %v\n%s", err, out)
	}
	help, err := exec.Command(bin, "agent", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("ipcwatch agent --help: %v\n%s", err, help)
	}
	// kingpin shows a boolean flag as --[no-]name.
	known := strings.ReplaceAll(string(help), "--[no-]", "--")
	var missing []string
	for _, arg := range c.Args[1:] {
		flag, _, _ := strings.Cut(arg, "=")
		if !regexp.MustCompile(`(?m)^\s+(-\w, )?` + regexp.QuoteMeta(flag) + `[ =]`).MatchString(known) {
			missing = append(missing, flag)
		}
	}
	if len(missing) > 0 {
		t.Errorf("ipcwatch agent has no flags %v:\n%s", missing, help)
	}
	listen := ""
	for _, arg := range c.Args {
		if v, ok := strings.CutPrefix(arg, "--web.listen-address="); ok {
			listen = v
		}
	}
	if !strings.HasSuffix(listen, ":"+portOf(t, c, "metrics")) {
		t.Errorf("agent listens on %q, container port is %s", listen, portOf(t, c, "metrics"))
	}
}

// TestImageExposesContainerPort checks the Dockerfile's EXPOSE against the
// DaemonSet's container port.
func TestImageExposesContainerPort(t *testing.T) {
	m := load(t)
	c := agentContainer(t, &m.ds)
	dockerfile, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	exposed := regexp.MustCompile(`(?m)^EXPOSE\s+(\d+)`).FindSubmatch(dockerfile)
	if exposed == nil {
		t.Fatal("the Dockerfile exposes no port")
	}
	if got, want := string(exposed[1]), portOf(t, c, "metrics"); got != want {
		t.Errorf("the image exposes %s, the DaemonSet's container port is %s", got, want)
	}
}

func portOf(t *testing.T, c *corev1.Container, name string) string {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return strconv.Itoa(int(p.ContainerPort))
		}
	}
	t.Fatalf("container has no port named %s", name)
	return ""
}
