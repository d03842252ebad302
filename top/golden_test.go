package top

import (
	"bytes"
	"testing"

	"github.com/ipcwatch/ipcwatch/internal/testutil"

	"github.com/ipcwatch/ipcwatch/collector"
)

var testMissing = []collector.Missing{{What: "pipe and fifo queued bytes and capacity", Why: "no BPF pipe buffer source"}}

func TestBatchTextGolden(t *testing.T) {
	var b bytes.Buffer
	views := []View{ViewProcesses, ViewMechanisms, ViewChannels, ViewSignals}
	if err := writeText(&b, BuildFrame(testSamples()), testMissing, views, BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "batch.txt", b.Bytes())
}

func TestBatchJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := writeJSON(&b, BuildFrame(testSamples()), testMissing, Filter{}); err != nil {
		t.Fatal(err)
	}
	if bytes.Count(b.Bytes(), []byte("\n")) != 1 {
		t.Error("an iteration is not one line")
	}
	testutil.Golden(t, "batch.json", b.Bytes())
}

func TestBatchJSONFilter(t *testing.T) {
	var b bytes.Buffer
	if err := writeJSON(&b, BuildFrame(testSamples()), nil, Filter{PIDs: []int{200}}); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "batch_pid200.json", b.Bytes())
}
