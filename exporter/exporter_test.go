package exporter

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ipcwatch/ipcwatch/collector"
)

type failingInventory struct{}

func (failingInventory) Collect(context.Context) (*collector.Inventory, error) {
	return nil, errors.New("reading /proc: permission denied")
}

// TestInventoryFailure: a failed inventory fails the object collectors of
// that scrape, and the others still serve.
func TestInventoryFailure(t *testing.T) {
	cfg := fixtureConfig(t)
	cfg.Inventory = failingInventory{}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := scrapeText(t, e)
	for _, want := range []string{
		`ipcwatch_scrape_collector_success{collector="inventory"} 0`,
		`ipcwatch_scrape_collector_success{collector="pipe"} 0`,
		`ipcwatch_scrape_collector_success{collector="probes"} 1`,
		`ipcwatch_scrape_collector_success{collector="selftest"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(text, "ipcwatch_objects") {
		t.Errorf("objects served without an inventory")
	}
}

func TestUnknownCollector(t *testing.T) {
	if _, err := New(Config{Collectors: map[string]bool{"nope": true}}); err == nil {
		t.Error("New accepted an unknown collector")
	}
}
