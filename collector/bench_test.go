package collector

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

// holders starts n sleep processes holding fdsEach pipe and Unix socket fds
// between neighbours: half pipe ends, half socket ends. They are killed when
// the benchmark ends.
func holders(b *testing.B, n, fdsEach int) {
	b.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		b.Fatal(err)
	}
	var procs []*exec.Cmd
	b.Cleanup(func() {
		for _, p := range procs {
			p.Process.Kill()
			p.Wait()
		}
	})
	for i := 0; i < n; i += 2 {
		var a, z []*os.File     // the two neighbours' fds
		for range fdsEach / 2 { // one pipe end and one socket end each
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
				b.Fatal(err)
			}
			a, z = append(a, os.NewFile(uintptr(p[0]), "r")), append(z, os.NewFile(uintptr(p[1]), "w"))
			s, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				b.Fatal(err)
			}
			a, z = append(a, os.NewFile(uintptr(s[0]), "s")), append(z, os.NewFile(uintptr(s[1]), "s"))
		}
		for _, files := range [][]*os.File{a, z} {
			cmd := exec.Command(sleep, "3600")
			cmd.ExtraFiles = files
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			procs = append(procs, cmd)
			for _, f := range files {
				f.Close()
			}
		}
	}
}

// BenchmarkInventory compares one full inventory with lsfd listing every fd
// of the host, with 500 extra processes holding 10,000 pipe and socket fds.
// scripts/bench-ls-vs-lsfd.sh prints the ratio.
func BenchmarkInventory(b *testing.B) {
	testutil.RequirePrivileged(b)
	lsfd, err := exec.LookPath("lsfd")
	if err != nil {
		b.Fatal(err)
	}
	holders(b, 500, 20)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	b.Run("collector", func(b *testing.B) {
		c := New(Options{})
		for b.Loop() {
			inv, err := c.Collect(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if n := pipeAndSocketFDs(inv); inv.Processes < 500 || n < 10000 {
				b.Fatalf("%d processes, %d pipe and socket fds", inv.Processes, n)
			}
		}
	})
	b.Run("lsfd", func(b *testing.B) {
		for b.Loop() {
			cmd := exec.Command(lsfd)
			cmd.Stdout = devnull
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func pipeAndSocketFDs(inv *Inventory) int {
	n := 0
	for _, o := range inv.Objects {
		switch o.Type {
		case TypePipe, TypeUnixStream, TypeUnixDgram, TypeUnixSeqpacket:
			n += len(o.Endpoints)
		}
	}
	return n
}
