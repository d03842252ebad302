package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcwatch/ipcwatch/collector"
	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

func p64(v uint64) *uint64 { return &v }

// lsObjects is a small inventory with a connected socket pair, a listener,
// a pipe of unknown fill and a shared mapping.
func lsObjects() []collector.Object {
	w := collector.Endpoint{PID: 100, Comm: "producer", FD: 4, Access: "w"}
	r := collector.Endpoint{PID: 200, Comm: "consumer", FD: 3, Access: "r"}
	return []collector.Object{
		{Type: "pipe", ID: 5001, Endpoints: []collector.Endpoint{w, r}},
		{Type: "fifo", ID: 5002, Name: "/run/very/long/directory/name/that/goes/on/and/on/queue.fifo",
			Attributes: collector.Attributes{QueuedBytes: p64(42), CapacityBytes: p64(65536)}, Endpoints: []collector.Endpoint{w, r}},
		{Type: "unix_stream", ID: 6001, Name: "/run/app.sock", Attributes: collector.Attributes{State: "listen", Backlog: p64(0), BacklogLimit: p64(128)},
			Endpoints: []collector.Endpoint{{PID: 300, Comm: "server", FD: 5, Access: "rw"}}},
		{Type: "unix_stream", ID: 6002, Peer: p64(6003), Attributes: collector.Attributes{State: "established", RecvQueueBytes: p64(0), SendQueueBytes: p64(0)},
			Endpoints: []collector.Endpoint{{PID: 300, Comm: "server", FD: 6, Access: "rw"}}},
		{Type: "unix_stream", ID: 6003, Peer: p64(6002), Attributes: collector.Attributes{State: "established", RecvQueueBytes: p64(17), SendQueueBytes: p64(0)},
			Endpoints: []collector.Endpoint{{PID: 400, Comm: "client", FD: 3, Access: "rw"}}},
		{Type: "mmap", ID: 7001, Name: "/var/lib/db/data", Attributes: collector.Attributes{SizeBytes: p64(8192), Attached: p64(12)},
			Endpoints: func() []collector.Endpoint {
				var eps []collector.Endpoint
				for i := range 12 {
					eps = append(eps, collector.Endpoint{PID: 1000 + i, Comm: "worker", FD: collector.NoFD, Access: "rw"})
				}
				return eps
			}()},
	}
}

func TestLsTableGolden(t *testing.T) {
	objs := lsObjects()
	var b bytes.Buffer
	if err := writeTable(&b, objs, peers(objs), 0); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "ls_table.golden", b.Bytes())

	b.Reset()
	if err := writeTable(&b, objs, peers(objs), 120); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if n := len([]rune(line)); n > 120 {
			t.Errorf("line of %d runes on a 120-column terminal: %q", n, line)
		}
	}
	testutil.Golden(t, "ls_table_120.golden", b.Bytes())
}

func TestLsJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := writeJSON(&b, lsObjects()); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "ls.golden.json", b.Bytes())
	var back []map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != len(lsObjects()) {
		t.Fatalf("JSON is not a list of %d objects: %v", len(lsObjects()), err)
	}
	if back[0]["attributes"].(map[string]any)["queued_bytes"] != nil {
		t.Errorf("unknown queued bytes are not null: %v", back[0]["attributes"])
	}
}

func TestLsFilters(t *testing.T) {
	objs := lsObjects()
	for _, c := range []struct {
		flags lsFlags
		want  []uint64
	}{
		{lsFlags{types: []string{"unix_stream"}}, []uint64{6001, 6002, 6003}},
		{lsFlags{types: []string{"pipe,fifo"}}, []uint64{5001, 5002}},
		{lsFlags{pids: []int{400}}, []uint64{6003}},
		{lsFlags{name: "/run/*"}, []uint64{6001}},
		{lsFlags{name: "/run/*/queue.fifo"}, nil},
		{lsFlags{name: "/run/*/*/*/*/*/*/*/*/*/queue.fifo"}, []uint64{5002}},
	} {
		flt, err := c.flags.filter()
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, o := range objs {
			if flt.match(o) {
				got = append(got, o.ID)
			}
		}
		if !slicesEqual(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.flags, got, c.want)
		}
	}
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLsUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"ls", "--type", "bogus"},
		{"ls", "--type", "pipe,tcp"},
		{"ls", "--pid", "-3"},
		{"ls", "--name", "["},
		{"ls", "-o", "yaml"},
		{"ls", "--path.procfs", "/nonexistent"},
	} {
		if code := run(args); code != exitUsage {
			t.Errorf("ipcwatch %s: exit %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
	}
}

// TestLsLive lists a pipe this test holds, as JSON, filtered by pid and type.
func TestLsLive(t *testing.T) {
	testutil.RequirePrivileged(t)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	if _, err := unix.Write(p[1], []byte("twelve bytes")); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(p[0], &st); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	f := &lsFlags{output: "json", types: []string{"pipe"}, pids: []int{os.Getpid()}, procfs: "/proc", reopenPipes: true, noBPF: true}
	if err := runLs(context.Background(), f, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var objs []collector.Object
	if err := json.Unmarshal(out.Bytes(), &objs); err != nil {
		t.Fatalf("%v: %s", err, out.Bytes())
	}
	for _, o := range objs {
		if o.Type != "pipe" {
			t.Errorf("--type pipe listed a %s", o.Type)
		}
		if o.ID != st.Ino {
			continue
		}
		if o.Attributes.QueuedBytes == nil || *o.Attributes.QueuedBytes != 12 || len(o.Endpoints) != 2 {
			t.Errorf("the pipe: %+v", o)
		}
		return
	}
	t.Fatalf("pipe %d not listed for pid %s: %s", st.Ino, strconv.Itoa(os.Getpid()), out.Bytes())
}

func TestLsNotes(t *testing.T) {
	var b bytes.Buffer
	writeNotes(&b, &collector.Inventory{
		Unreadable: 412,
		Missing:    []collector.Missing{{What: "posix_mq in ipc namespace 4026531839", Why: "needs CAP_SYS_ADMIN"}},
		ShmFS: []collector.ShmFS{
			{MountNS: 1, UsedBytes: 60 << 20, TotalBytes: 64 << 20},
			{MountNS: 2, UsedBytes: 1 << 20, TotalBytes: 64 << 20},
		},
	})
	want := "412 processes not readable: run as root\n" +
		"not seen: posix_mq in ipc namespace 4026531839: needs CAP_SYS_ADMIN\n" +
		"/dev/shm of mount namespace 1 is 93% full: 62914560 of 67108864 bytes used\n"
	if b.String() != want {
		t.Errorf("notes:\n%s\nwant:\n%s", b.String(), want)
	}
}
