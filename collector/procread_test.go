package collector

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

func TestStatusName(t *testing.T) {
	for in, want := range map[string]string{
		"Name:\tcat\nUmask:\t0022\n": "cat",
		"Name:\ta\\nb\\\\c\td \n":    "a\nb\\c\td ",
		"Name:\tend\\\n":             "end\\",
	} {
		got, ok := statusName([]byte(in))
		if !ok || string(got) != want {
			t.Errorf("statusName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "Name:\tno newline", "Umask:\t0022\nName:\tx\n"} {
		if _, ok := statusName([]byte(bad)); ok {
			t.Errorf("statusName(%q): ok", bad)
		}
	}
}

// TestStatusNameIsComm checks that the Name of /proc/PID/status is the
// content of /proc/PID/comm, for this process with a name the kernel
// escapes and, as root, for every process of the host; and that comm and
// status are read whole in one read each.
func TestStatusNameIsComm(t *testing.T) {
	old, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/proc/self/comm", []byte("a\\b\nc\td "), 0); err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile("/proc/self/comm", bytes.TrimSuffix(old, []byte("\n")), 0)
	s := newScratch()
	compare := func(pid int) (comm, name string, ok bool) {
		dirfd, err := openat(unix.AT_FDCWD, "/proc/"+strconv.Itoa(pid), unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return "", "", true // gone
		}
		defer unix.Close(dirfd)
		b, err := s.readRecordAt(dirfd, "comm")
		if err != nil {
			return "", "", true
		}
		comm = string(bytes.TrimSpace(b))
		whole, err := s.readFileAt(dirfd, "status")
		if err != nil {
			return "", "", true
		}
		whole = bytes.Clone(whole)
		b, err = s.readRecordAt(dirfd, "status")
		if err != nil {
			return "", "", true
		}
		n, ok := statusName(b)
		if !ok {
			t.Fatalf("pid %d: no Name in %q", pid, b)
		}
		// A status changes between reads (VmRSS, ...): one read must
		// have got up to the same last line.
		if lastKey(b) != lastKey(whole) {
			return "", "status ends with " + lastKey(b) + ", not " + lastKey(whole), false
		}
		name = string(bytes.TrimSpace(n))
		return comm, name, comm == name
	}
	if comm, name, ok := compare(os.Getpid()); !ok || comm != "a\\b\nc\td" {
		t.Fatalf("this process: comm %q, status Name %q", comm, name)
	}
	testutil.RequirePrivileged(t)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// A process may rename itself between the two reads: retry once.
		if _, _, ok := compare(pid); !ok {
			if comm, name, ok := compare(pid); !ok {
				t.Errorf("pid %d: comm %q, status Name %q", pid, comm, name)
			}
		}
	}
}

// lastKey returns the key of the last line of a status file.
func lastKey(b []byte) string {
	b = bytes.TrimSuffix(b, []byte("\n"))
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	k, _, _ := bytes.Cut(b, []byte(":"))
	return string(k)
}

func FuzzStatusName(f *testing.F) {
	f.Add([]byte("Name:\ta\\nb\\\\c\td \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		if n, ok := statusName(b); ok && (len(n) > len(in) || !bytes.HasPrefix(in, []byte("Name:\t"))) {
			t.Fatalf("statusName(%q) = %q", in, n)
		}
	})
}
