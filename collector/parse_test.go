package collector

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"
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
	if _, err := parseNSLink("net:4026531840"); err == nil {
		t.Error("parseNSLink without brackets: no error")
	}
	for in, want := range map[string][2]string{
		"pipe:[123]":           {"pipe", "123"},
		"socket:[9]":           {"socket", "9"},
		"anon_inode:[eventfd]": {"anon_inode", "eventfd"},
		"/tmp/a:[1]":           {"", ""},
		"/dev/null":            {"", ""},
	} {
		k, i, _ := parseFDTarget(in)
		if k != want[0] || i != want[1] {
			t.Errorf("parseFDTarget(%q) = %q, %q", in, k, i)
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
		if k, i, ok := parseFDTarget(s); ok && (k == "" || len(k)+len(i)+3 != len(s)) {
			t.Fatalf("parseFDTarget(%q) = %q, %q", s, k, i)
		}
	})
}

func FuzzParseUnixDiag(f *testing.F) {
	for _, name := range []string{"unix_diag_established", "unix_diag_listen_abstract", "unix_diag_listen_path"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) { parseUnixDiag(b) })
}
