package collector

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

// mapShared maps this process's own shared file mappings of every kind the
// inventory tells apart: read-only and read-write files, an unlinked file,
// a path with a space and a newline, memfd, a System V segment and shared
// anonymous memory. It returns the paths the maps file shows for them.
func mapShared(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	mmap := func(fd int, prot int) {
		t.Helper()
		mem, err := unix.Mmap(fd, 0, 4096, prot, unix.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Munmap(mem) })
	}
	file := func(name string, flags int) int {
		t.Helper()
		fd, err := unix.Open(filepath.Join(dir, name), flags|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if err := unix.Ftruncate(fd, 4096); err != nil && flags&unix.O_ACCMODE != unix.O_RDONLY {
			t.Fatal(err)
		}
		return fd
	}
	rw := file("rw", unix.O_RDWR)
	mmap(rw, unix.PROT_READ|unix.PROT_WRITE)
	file("ro", unix.O_RDWR)
	mmap(file("ro", unix.O_RDONLY), unix.PROT_READ) // VM_MAYSHARE without VM_SHARED
	mmap(file("a b\nc", unix.O_RDWR), unix.PROT_READ|unix.PROT_WRITE)
	mmap(file("gone", unix.O_RDWR), unix.PROT_READ)
	if err := os.Remove(filepath.Join(dir, "gone")); err != nil {
		t.Fatal(err)
	}
	mfd, err := unix.MemfdCreate("procmaps test", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(mfd) })
	if err := unix.Ftruncate(mfd, 4096); err != nil {
		t.Fatal(err)
	}
	mmap(mfd, unix.PROT_READ|unix.PROT_WRITE)
	anon, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(anon) })
	if id, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600); err == nil {
		seg, err := unix.SysvShmAttach(id, 0, 0)
		unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.SysvShmDetach(seg) })
	}
	return []string{dir + "/rw", dir + "/ro", dir + `/a b\012c`, dir + "/gone (deleted)", "/memfd:procmaps test (deleted)", "/dev/zero (deleted)"}
}

// hasPaths tells whether maps has a mapping of each path.
func hasPaths(maps []mapping, paths []string) bool {
	for _, p := range paths {
		if !slices.ContainsFunc(maps, func(m mapping) bool { return m.Path == p }) {
			return false
		}
	}
	return true
}

// TestProcmapQueryMatchesMapsText checks that PROCMAP_QUERY finds exactly
// the shared file mappings parseSharedMaps finds in the text of the maps
// file: for this process's own mappings of every kind and, as root, for
// every process of the host.
func TestProcmapQueryMatchesMapsText(t *testing.T) {
	paths := mapShared(t)
	s := newScratch()
	compare := func(pid int) (query, text []mapping, ok bool) {
		dirfd, err := openat(unix.AT_FDCWD, "/proc/"+strconv.Itoa(pid), unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return nil, nil, true // gone
		}
		defer unix.Close(dirfd)
		fd, err := openat(dirfd, "maps", unix.O_RDONLY)
		if err != nil {
			return nil, nil, true
		}
		defer unix.Close(fd)
		query, err = s.queryMaps(fd)
		if err == unix.ENOTTY {
			t.Skip("no PROCMAP_QUERY (Linux 6.11+): the maps text is parsed instead")
		}
		if err != nil {
			t.Fatalf("pid %d: %v", pid, err)
		}
		b, err := s.readFileAt(dirfd, "maps")
		if err != nil {
			return nil, nil, true
		}
		text = parseSharedMaps(b, nil)
		return query, text, slices.Equal(query, text)
	}
	query, text, ok := compare(os.Getpid())
	if !ok || !hasPaths(query, paths) {
		t.Fatalf("this process: PROCMAP_QUERY %+v\nmaps text %+v", query, text)
	}
	t.Logf("%d shared file mappings here", len(query))
	testutil.RequirePrivileged(t)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// A process may map or unmap between the two reads: retry once.
		if _, _, ok := compare(pid); !ok {
			if query, text, ok := compare(pid); !ok {
				t.Errorf("pid %d: PROCMAP_QUERY %+v\nmaps text %+v", pid, query, text)
			}
		}
		n++
	}
	t.Logf("%d processes compared", n)
}

func TestSharedMapsFallback(t *testing.T) {
	paths := mapShared(t)
	c := New(Options{})
	s := newScratch()
	dirfd, err := openat(unix.AT_FDCWD, "/proc/self", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	got, err := c.sharedMaps(s, dirfd)
	if err != nil {
		t.Fatal(err)
	}
	c.noProcmapQuery.Store(true) // as on a kernel before 6.11
	text, err := c.sharedMaps(s, dirfd)
	if err != nil {
		t.Fatal(err)
	}
	if !hasPaths(got, paths) || !slices.Equal(got, text) {
		t.Fatalf("got %+v\nfrom the text %+v", got, text)
	}
}
