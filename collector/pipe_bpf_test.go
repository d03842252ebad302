package collector

import (
	"context"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
	"github.com/ipcwatch/ipcwatch/probes"
)

// TestLivePipeBuffersFromBPF reads the fill of a pipe and a FIFO from the
// BPF task_file iterator, and checks it against reopening them.
func TestLivePipeBuffersFromBPF(t *testing.T) {
	testutil.RequirePrivileged(t)
	p, err := probes.Load(probes.Options{Groups: []probes.Group{probes.GroupPipeIter}})
	if p == nil {
		t.Fatalf("loading the pipe iterator: %v", err)
	}
	defer p.Close()

	var pp [2]int
	must(t, unix.Pipe2(pp[:], unix.O_CLOEXEC))
	defer unix.Close(pp[0])
	defer unix.Close(pp[1])
	_, err = unix.FcntlInt(uintptr(pp[1]), unix.F_SETPIPE_SZ, 1<<20)
	must(t, err)
	_, err = unix.Write(pp[1], make([]byte, 3000))
	must(t, err)

	fifo := filepath.Join(t.TempDir(), "fifo")
	must(t, unix.Mkfifo(fifo, 0o600))
	fr, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(fr)
	fw, err := unix.Open(fifo, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(fw)
	_, err = unix.Write(fw, []byte("seven b"))
	must(t, err)

	kinds := []string{TypePipe, TypeFIFO}
	bpf, err := New(Options{Kinds: kinds, PipeBuffers: p}).Collect(context.Background())
	must(t, err)
	reopened, err := New(Options{Kinds: kinds, ReopenPipes: true}).Collect(context.Background())
	must(t, err)
	for _, c := range []struct {
		typ              string
		id               uint64
		queued, capacity uint64
	}{
		{TypePipe, ino(t, pp[0]), 3000, 1 << 20},
		{TypeFIFO, ino(t, fr), 7, 65536},
	} {
		for name, inv := range map[string]*Inventory{"bpf": bpf, "reopen": reopened} {
			o := find(t, inv, c.typ, c.id)
			checkValue(t, o, name+" queued", o.Attributes.QueuedBytes, c.queued)
			checkValue(t, o, name+" capacity", o.Attributes.CapacityBytes, c.capacity)
		}
	}
	if len(bpf.Missing) != 0 {
		t.Errorf("missing with a pipe buffer source: %+v", bpf.Missing)
	}
}
