package exporter

import (
	"strings"
	"testing"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"github.com/ipcwatch/ipcwatch/probes"
)

// TestProbeHook scrapes the real probes loaded with each hook and finds
// that hook, and only it, in ipcwatch_probe_hook.
func TestProbeHook(t *testing.T) {
	testutil.RequirePrivileged(t)
	for hook, want := range map[probes.Hook]string{probes.HookRaw: "tp_btf", probes.HookSyscallTracepoints: "tracepoint"} {
		t.Run(want, func(t *testing.T) {
			p, err := probes.Load(probes.Options{Hook: hook, Groups: []probes.Group{probes.GroupLife}})
			if err != nil {
				t.Fatalf("loading probes: %v", err)
			}
			defer p.Close()
			e, err := New(Config{Probes: p, Collectors: only(probesCollector)})
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(scrapeText(t, e), "\n") {
				if strings.HasPrefix(l, "ipcwatch_probe_hook{") {
					lines = append(lines, l)
				}
			}
			if got := strings.Join(lines, "\n"); got != `ipcwatch_probe_hook{hook="`+want+`"} 1` {
				t.Errorf("hook series:\n%s\nwant only hook=%q", got, want)
			}
		})
	}
}
