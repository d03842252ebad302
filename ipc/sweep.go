package ipc

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ShmDir is where shm_open names live.
const ShmDir = "/dev/shm"

// Leftover is an ipcwatch object found on the host.
type Leftover struct {
	Kind string // path, posix_shm, posix_mq, sysv_msg, sysv_shm, sysv_sem
	Name string // path, name or System V id
	PID  int    // the pid of the ipcwatch process that created it
}

func (l Leftover) String() string { return fmt.Sprintf("%s %s (pid %d)", l.Kind, l.Name, l.PID) }

// removeObject removes one object by its journal kind and name.
func removeObject(kind, name string) error {
	switch kind {
	case kindPath:
		return os.Remove(name)
	case kindPosixShm:
		return unix.Unlink(filepath.Join(ShmDir, trimSlash(name)))
	case kindPosixMQ:
		return mqUnlink(name)
	}
	id, err := strconv.Atoi(name)
	if err != nil {
		return fmt.Errorf("bad System V id %q", name)
	}
	switch kind {
	case kindSysVMsg:
		return msgctlRemove(id)
	case kindSysVShm:
		return shmctlRemove(id)
	case kindSysVSem:
		return semctlRemove(id)
	}
	return fmt.Errorf("unknown object kind %q", kind)
}

// alive tells whether pid is a live process.
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}

// prefixPID parses the pid out of "ipcwatch-PID-…".
func prefixPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(trimSlash(name), Prefix+"-")
	if !ok {
		return 0, false
	}
	p, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(p)
	return pid, err == nil && pid > 0
}

// Objects lists every ipcwatch object on the host that this process can see:
// channel directories and their journals, /dev/shm names, System V objects
// by key, and message queues (through an mqueue mount, made privately if
// none is mounted and this process may).
func Objects() ([]Leftover, error) {
	var out []Leftover
	var errs []error
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), Prefix+"-*"))
	for _, d := range dirs {
		if pid, ok := prefixPID(filepath.Base(d)); ok {
			out = append(out, Leftover{kindPath, d, pid})
		}
	}
	shm, _ := filepath.Glob(filepath.Join(ShmDir, Prefix+"-*"))
	for _, p := range shm {
		if pid, ok := prefixPID(filepath.Base(p)); ok {
			out = append(out, Leftover{kindPosixShm, "/" + filepath.Base(p), pid})
		}
	}
	for kind, file := range map[string]string{kindSysVMsg: "msg", kindSysVShm: "shm", kindSysVSem: "sem"} {
		objs, err := sysvObjects("/proc/sysvipc/" + file)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, o := range objs {
			if pid, ok := sysvKeyPID(o[0]); ok {
				out = append(out, Leftover{kind, strconv.Itoa(o[1]), pid})
			}
		}
	}
	mqs, err := MQueueNames()
	if err != nil {
		errs = append(errs, err)
	}
	for _, n := range mqs {
		if pid, ok := prefixPID(n); ok {
			out = append(out, Leftover{kindPosixMQ, "/" + n, pid})
		}
	}
	return out, errors.Join(errs...)
}

// sysvObjects reads the key and id columns of a /proc/sysvipc file.
func sysvObjects(path string) ([][2]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][2]int
	s := bufio.NewScanner(f)
	s.Scan() // header
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 2 {
			continue
		}
		key, err1 := strconv.Atoi(fields[0])
		id, err2 := strconv.Atoi(fields[1])
		if err1 == nil && err2 == nil {
			out = append(out, [2]int{key, id})
		}
	}
	return out, s.Err()
}

// Sweep removes the objects of ipcwatch processes that are gone (killed with
// SIGKILL, say) and returns what it removed.
func Sweep() ([]Leftover, error) {
	objs, err := Objects()
	var removed []Leftover
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, o := range objs {
		if alive(o.PID) {
			continue
		}
		var rmErr error
		if o.Kind == kindPath {
			rmErr = sweepDir(o.Name)
		} else {
			rmErr = removeObject(o.Kind, o.Name)
		}
		if rmErr != nil && !isGone(rmErr) {
			errs = append(errs, fmt.Errorf("sweeping %s: %w", o, rmErr))
			continue
		}
		removed = append(removed, o)
	}
	return removed, errors.Join(errs...)
}

// sweepDir removes what a dead channel's journal lists, then its directory.
func sweepDir(dir string) error {
	entries, err := readJournal(filepath.Join(dir, journalName))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if err := removeObject(e[0], e[1]); err != nil && !isGone(err) {
			return err
		}
	}
	return os.RemoveAll(dir)
}

// MQueueNames lists the POSIX message queues of this IPC namespace. It reads
// /dev/mqueue if an mqueue file system is mounted there; otherwise it mounts
// one in a private mount namespace, which needs CAP_SYS_ADMIN.
func MQueueNames() ([]string, error) {
	if isMqueueFS("/dev/mqueue") {
		return readNames("/dev/mqueue")
	}
	type result struct {
		names []string
		err   error
	}
	var r result
	offMainThread(func() { r.names, r.err = privateMqueueNames() })
	return r.names, r.err
}

// offMainThread runs fn on a locked thread that is not the main thread, and
// lets that thread end with fn's goroutine, never unlocked: fn may leave it in
// another namespace. The main thread is avoided because the Go runtime keeps
// (wedges) a main thread whose locked goroutine exits rather than ending it,
// and /proc/PID/ns shows the main thread's namespaces.
func offMainThread(fn func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			offMainThread(fn)
			runtime.UnlockOSThread()
		} else {
			fn()
		}
		close(done)
	}()
	<-done
}

func privateMqueueNames() ([]string, error) {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return nil, fmt.Errorf("listing message queues: entering a private mount namespace (needs CAP_SYS_ADMIN): %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("listing message queues: making mounts private: %w", err)
	}
	dir, err := os.MkdirTemp("", Prefix+"-mqueue-")
	if err != nil {
		return nil, fmt.Errorf("listing message queues: %w", err)
	}
	defer os.Remove(dir)
	if err := unix.Mount("mqueue", dir, "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return nil, fmt.Errorf("listing message queues: mounting mqueue: %w", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	return readNames(dir)
}

func isMqueueFS(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == mqueueMagic
}

// mqueueMagic is MQUEUE_MAGIC from linux/magic.h.
const mqueueMagic = 0x19800202

func readNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}
