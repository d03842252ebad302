package top

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipcwatch/ipcwatch/collector"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}

var testMissing = []collector.Missing{{What: "pipe and fifo queued bytes and capacity", Why: "no BPF pipe buffer source"}}

func TestBatchTextGolden(t *testing.T) {
	var b bytes.Buffer
	views := []View{ViewProcesses, ViewMechanisms, ViewChannels, ViewSignals}
	if err := writeText(&b, BuildFrame(testSamples()), testMissing, views, BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "batch.txt", b.Bytes())
}

func TestBatchJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := writeJSON(&b, BuildFrame(testSamples()), testMissing, Filter{}); err != nil {
		t.Fatal(err)
	}
	if bytes.Count(b.Bytes(), []byte("\n")) != 1 {
		t.Error("an iteration is not one line")
	}
	golden(t, "batch.json", b.Bytes())
}

func TestBatchJSONFilter(t *testing.T) {
	var b bytes.Buffer
	if err := writeJSON(&b, BuildFrame(testSamples()), nil, Filter{PIDs: []int{200}}); err != nil {
		t.Fatal(err)
	}
	golden(t, "batch_pid200.json", b.Bytes())
}
