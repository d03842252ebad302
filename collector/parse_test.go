package collector

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

func open(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSysVMsg(t *testing.T) {
	got, err := parseSysVMsg(open(t, "sysvipc_msg"))
	if err != nil {
		t.Fatal(err)
	}
	want := []sysvMsg{{Key: -2125940459, ID: 98323, Mode: 0o644}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestParseSysVShm(t *testing.T) {
	got, err := parseSysVShm(open(t, "sysvipc_shm"))
	if err != nil {
		t.Fatal(err)
	}
	want := sysvShm{Key: -1610288178, ID: 98341, Mode: 0o644, Size: 8192, CreatorPID: 32704}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestParseSysVSem(t *testing.T) {
	got, err := parseSysVSem(open(t, "sysvipc_sem"))
	if err != nil {
		t.Fatal(err)
	}
	want := sysvSem{Key: -1410468043, ID: 65555, Mode: 0o644, NSems: 3}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestParseSysVBad(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"missing column": "key msqid\n1 2\n",
		"short line":     strings.SplitN(string(readFixture(t, "sysvipc_msg")), "\n", 2)[0] + "\n1 2 3\n",
		"not a number":   strings.SplitN(string(readFixture(t, "sysvipc_msg")), "\n", 2)[0] + "\nx 1 644 0 0 0 0 0 0 0 0 0 0 0\n",
	} {
		if _, err := parseSysVMsg(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseUints(t *testing.T) {
	got, err := parseUints(strings.NewReader("32000\t1024000000\t500\t32000\n"))
	if err != nil || len(got) != 4 || got[1] != 1024000000 {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := parseUints(strings.NewReader("\n")); err == nil {
		t.Error("empty: no error")
	}
}

func TestParseMqueueFile(t *testing.T) {
	got, err := parseMqueueFile(open(t, "mqueue"))
	if err != nil {
		t.Fatal(err)
	}
	want := mqueueFile{QSize: 129, Notify: 2, NotifyPID: 4242}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := parseMqueueFile(strings.NewReader("NOTIFY:0")); err == nil {
		t.Error("no QSIZE: no error")
	}
}

func TestParseStatusSignals(t *testing.T) {
	got, err := parseStatusSignals(open(t, "status"))
	if err != nil {
		t.Fatal(err)
	}
	want := SignalSets{Pending: 0x4100, Blocked: 0x10000, Ignored: 0x1000, Caught: 0x180004a03, QueuedSignals: 2, QueueLimit: 96365}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestParseFDInfo(t *testing.T) {
	ev, err := parseFDInfo(open(t, "fdinfo_eventfd"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Flags != 0o2000002 || ev.Ino != 1038 || ev.EventfdCount == nil || *ev.EventfdCount != 5 || ev.EventfdID == nil || *ev.EventfdID != 1 || ev.SigMask != nil {
		t.Errorf("eventfd: %+v", ev)
	}
	sig, err := parseFDInfo(open(t, "fdinfo_signalfd"))
	if err != nil {
		t.Fatal(err)
	}
	if sig.SigMask == nil || *sig.SigMask != 0x4002 || sig.EventfdCount != nil {
		t.Errorf("signalfd: %+v", sig)
	}
	p, err := parseFDInfo(open(t, "fdinfo_pipe"))
	if err != nil {
		t.Fatal(err)
	}
	if flagsAccess(p.Flags) != AccessWrite || flagsAccess(ev.Flags) != AccessReadWrite {
		t.Errorf("access: pipe %s, eventfd %s", flagsAccess(p.Flags), flagsAccess(ev.Flags))
	}
}

func TestParseNSLinkAndFDTarget(t *testing.T) {
	if ino, err := parseNSLink("net:[4026531840]"); err != nil || ino != 4026531840 {
		t.Errorf("parseNSLink: %d, %v", ino, err)
	}
	for _, bad := range []string{"net:4026531840", "net:[]", "net:[12x]", "net", "net:[1]]"} {
		if _, err := parseNSLink(bad); err == nil {
			t.Errorf("parseNSLink(%q): no error", bad)
		}
	}
	for _, tc := range []struct {
		link, prefix string
		ino          uint64
		ok           bool
	}{
		{"pipe:[123]", "pipe:", 123, true},
		{"socket:[9]", "socket:", 9, true},
		{"socket:[9]", "pipe:", 0, false},
		{"anon_inode:[eventfd]", "anon_inode:", 0, false},
		{"/tmp/pipe:[1]", "pipe:", 0, false},
		{"pipe:[18446744073709551615]", "pipe:", 0, false}, // more than 19 digits
		{"pipe:[1234567890123456789]", "pipe:", 1234567890123456789, true},
		{"pipe:[-1]", "pipe:", 0, false},
	} {
		ino, ok := bracketed([]byte(tc.link), tc.prefix)
		if ino != tc.ino || ok != tc.ok {
			t.Errorf("bracketed(%q, %q) = %d, %v", tc.link, tc.prefix, ino, ok)
		}
	}
}

func TestParseUnixDiag(t *testing.T) {
	est, err := parseUnixDiag(readFixture(t, "unix_diag_established"))
	if err != nil {
		t.Fatal(err)
	}
	if est.Type != 1 || est.State != 1 || est.Inode != 0x120e9 || est.Peer != 0x120e8 || est.Name != "/tmp/p4exp/s.sock" ||
		!est.HasQueue || est.RQueue != 5 || est.WQueue != 0 || est.UID == nil || *est.UID != 0 || est.VFSIno == 0 {
		t.Errorf("established: %+v", est)
	}
	abs, err := parseUnixDiag(readFixture(t, "unix_diag_listen_abstract"))
	if err != nil {
		t.Fatal(err)
	}
	if abs.State != 10 || abs.Name != "\x00ipcwatch-fixture" || unixName(abs.Name) != "@ipcwatch-fixture" || !abs.HasQueue || abs.WQueue != 4096 {
		t.Errorf("abstract listener: %+v", abs)
	}
	path, err := parseUnixDiag(readFixture(t, "unix_diag_listen_path"))
	if err != nil {
		t.Fatal(err)
	}
	if path.State != 10 || path.Name != "/tmp/p4exp/s.sock" || path.Peer != 0 {
		t.Errorf("path listener: %+v", path)
	}
	bad := bytes.Clone(readFixture(t, "unix_diag_listen_path"))
	binary.NativeEndian.PutUint16(bad[16:], 200)
	if _, err := parseUnixDiag(bad); err == nil {
		t.Error("attribute longer than the message: no error")
	}
	if _, err := parseUnixDiag(bad[:10]); err == nil {
		t.Error("short message: no error")
	}
}

func FuzzParseSysVMsg(f *testing.F) {
	f.Add(readFixture(f, "sysvipc_msg"))
	f.Fuzz(func(t *testing.T, b []byte) { parseSysVMsg(bytes.NewReader(b)) })
}

func FuzzParseSysVShm(f *testing.F) {
	f.Add(readFixture(f, "sysvipc_shm"))
	f.Fuzz(func(t *testing.T, b []byte) { parseSysVShm(bytes.NewReader(b)) })
}

func FuzzParseSysVSem(f *testing.F) {
	f.Add(readFixture(f, "sysvipc_sem"))
	f.Fuzz(func(t *testing.T, b []byte) { parseSysVSem(bytes.NewReader(b)) })
}

func FuzzParseUints(f *testing.F) {
	f.Add([]byte("32000\t1024000000\t500\t32000\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := parseUints(bytes.NewReader(b)); err == nil && len(v) == 0 {
			t.Fatal("no values and no error")
		}
	})
}

func FuzzParseMqueueFile(f *testing.F) {
	f.Add(readFixture(f, "mqueue"))
	f.Fuzz(func(t *testing.T, b []byte) { parseMqueueFile(bytes.NewReader(b)) })
}

func FuzzParseStatusSignals(f *testing.F) {
	f.Add(readFixture(f, "status"))
	f.Fuzz(func(t *testing.T, b []byte) { parseStatusSignals(bytes.NewReader(b)) })
}

func FuzzParseFDInfo(f *testing.F) {
	for _, name := range []string{"fdinfo_eventfd", "fdinfo_signalfd", "fdinfo_pipe"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) { parseFDInfo(bytes.NewReader(b)) })
}

func FuzzParseNSLink(f *testing.F) {
	f.Add("net:[4026531840]")
	f.Add("pipe:[12]")
	f.Fuzz(func(t *testing.T, s string) {
		parseNSLink(s)
		if ino, ok := bracketed([]byte(s), "pipe:"); ok {
			inner, _ := strings.CutPrefix(s, "pipe:[")
			if v, err := strconv.ParseUint(strings.TrimSuffix(inner, "]"), 10, 64); err != nil || v != ino || !strings.HasSuffix(s, "]") {
				t.Fatalf("bracketed(%q) = %d", s, ino)
			}
		}
	})
}

func FuzzParseUnixDiag(f *testing.F) {
	for _, name := range []string{"unix_diag_established", "unix_diag_listen_abstract", "unix_diag_listen_path"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) { parseUnixDiag(b) })
}

func TestParseSharedMaps(t *testing.T) {
	got := parseSharedMaps(readFixture(t, "maps"), nil)
	dev := func(maj, min uint32) uint64 { return unix.Mkdev(maj, min) }
	want := []mapping{
		{Dev: dev(0, 1), Ino: 1451, Path: "/memfd:buf (deleted)", Access: AccessReadWrite},
		{Dev: dev(0, 1), Ino: 1450, Path: "/dev/zero (deleted)", Access: AccessReadWrite},
		{Dev: dev(0, 1), Ino: 32770, Path: "/SYSV0000abcd (deleted)", Access: AccessReadWrite},
		{Dev: dev(0xfe, 0), Ino: 9980112, Path: "/tmp/p10/plain (deleted)", Access: AccessRead},
		{Dev: dev(0xfe, 0), Ino: 9980111, Path: "/tmp/p10/a file  x", Access: AccessReadWrite},
		{Dev: dev(0xfe, 0), Ino: 325737, Path: "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache", Access: AccessRead},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got := parseSharedMaps([]byte("x rw-s\n1-2 rw-s 0 zz:00 12 /a\n1-2 rw-s 0 00:00 0 /a\n1-2 rw-s 0 00:00 12 [x]\n1-2 rw-s 0 00:00 12\n"), nil); len(got) != 0 {
		t.Errorf("malformed lines: %+v", got)
	}
}

// TestParseSharedMapsAsProcfs checks the parser against procfs's on this
// process's maps, with a shared mapping of its own.
func TestParseSharedMapsAsProcfs(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "shared map")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(4096); err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	self, err := procfs.Self()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := self.ProcMaps()
	if err != nil {
		t.Fatal(err)
	}
	var want []mapping
	for _, m := range pm {
		if m.Perms.Shared && m.Inode != 0 && strings.HasPrefix(m.Pathname, "/") {
			want = append(want, mapping{Dev: m.Dev, Ino: m.Inode, Path: m.Pathname, Access: access(m.Perms.Read, m.Perms.Write)})
		}
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	got := parseSharedMaps(b, nil)
	if !slices.ContainsFunc(got, func(m mapping) bool { return m.Path == f.Name() }) || !slices.Equal(got, want) {
		t.Fatalf("got %+v\nprocfs %+v", got, want)
	}
}

func TestForEachDirent(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := range 300 { // more than one getdents64 buffer
		name := strings.Repeat("n", i%40+1) + strconv.Itoa(i)
		if err := os.WriteFile(dir+"/"+name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var got []string
	if err := newScratch().readDirNames(fd, func(name []byte) { got = append(got, string(name)) }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d names %v, want %d", len(got), got, len(want))
	}
}

func TestParseStatusSignalsAllocs(t *testing.T) {
	b := readFixture(t, "status")
	if n := testing.AllocsPerRun(10, func() { parseStatusSignalsBytes(b) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func FuzzParseSharedMaps(f *testing.F) {
	f.Add(readFixture(f, "maps"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range parseSharedMaps(b, nil) {
			if m.Ino == 0 || !strings.HasPrefix(m.Path, "/") || strings.Contains(m.Path, "\n") {
				t.Fatalf("bad mapping %+v", m)
			}
		}
	})
}

func FuzzForEachDirent(f *testing.F) {
	f.Add([]byte("\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x18\x00\x04abc\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		forEachDirent(b, func(name []byte) {
			if len(name) == 0 || bytes.IndexByte(name, 0) >= 0 {
				t.Fatalf("bad name %q", name)
			}
		})
	})
}
