package collector

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// fdEntry is one open file descriptor of a process.
type fdEntry struct {
	FD     int
	Target string // the /proc/PID/fd/N link: "pipe:[12]", "/dev/shm/x", ...
	Access string // from the link's mode, which mirrors the file's f_mode
	// Stat of the open file, for targets that are paths.
	Stat bool
	Dev  uint64
	Ino  uint64
	Mode uint32
	Size int64
	Info *fdInfo // eventfd and signalfd only
}

// mapping is one shared file mapping in /proc/PID/maps.
type mapping struct {
	Dev, Ino uint64
	Path     string
	Access   string
}

// process is what the scan read about one process.
type process struct {
	PID                 int
	Comm                string
	NetNS, IPCNS, MntNS uint64
	FDs                 []fdEntry
	Maps                []mapping // MAP_SHARED file mappings
	Signals             *SignalSets
}

// scanWants says which per-process files to read.
type scanWants struct {
	fds, maps, signals bool
}

// scan reads every process under the procfs root. Processes that vanish
// are skipped; processes whose fds cannot be read are counted.
func (c *Collector) scan(ctx context.Context, w scanWants) (procs []*process, total, unreadable int, err error) {
	pfs, err := procfs.NewFS(c.opts.ProcRoot)
	if err != nil {
		return nil, 0, 0, err
	}
	all, err := pfs.AllProcs()
	if err != nil {
		return nil, 0, 0, err
	}
	jobs := make(chan procfs.Proc)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) * 2 {
		wg.Go(func() {
			for p := range jobs {
				pr, denied := c.scanOne(p, w)
				mu.Lock()
				if denied {
					unreadable++
				}
				if pr != nil {
					procs = append(procs, pr)
				}
				mu.Unlock()
			}
		})
	}
	for _, p := range all {
		if ctx.Err() != nil {
			break
		}
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, 0, 0, err
	}
	slices.SortFunc(procs, func(a, b *process) int { return a.PID - b.PID })
	return procs, len(all), unreadable, nil
}

// vanished tells whether err means the process or fd went away mid-scan.
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH)
}

// scanOne reads one process; nil if it vanished. denied reports a process
// whose fds could not be read.
func (c *Collector) scanOne(p procfs.Proc, w scanWants) (pr *process, isDenied bool) {
	dir := filepath.Join(c.opts.ProcRoot, strconv.Itoa(p.PID))
	comm, err := p.Comm()
	if err != nil {
		return nil, false
	}
	pr = &process{PID: p.PID, Comm: comm}
	pr.NetNS = readNS(dir, "net")
	pr.IPCNS = readNS(dir, "ipc")
	pr.MntNS = readNS(dir, "mnt")
	if w.fds {
		fds, err := readFDs(dir)
		switch {
		case vanished(err):
			return nil, false
		case err != nil:
			isDenied = true
		}
		pr.FDs = fds
	}
	if w.maps && !isDenied {
		maps, err := p.ProcMaps()
		if vanished(err) {
			return nil, false
		}
		for _, m := range maps {
			if m.Perms == nil || !m.Perms.Shared || m.Inode == 0 || !strings.HasPrefix(m.Pathname, "/") {
				continue
			}
			pr.Maps = append(pr.Maps, mapping{Dev: m.Dev, Ino: m.Inode, Path: m.Pathname, Access: access(m.Perms.Read, m.Perms.Write)})
		}
	}
	if w.signals {
		f, err := os.Open(filepath.Join(dir, "status"))
		if err == nil {
			s, err := parseStatusSignals(f)
			f.Close()
			if err == nil {
				s.PID, s.Comm = pr.PID, pr.Comm
				pr.Signals = &s
			}
		}
	}
	return pr, isDenied
}

func access(r, w bool) string {
	switch {
	case r && w:
		return AccessReadWrite
	case w:
		return AccessWrite
	case r:
		return AccessRead
	}
	return ""
}

// readNS returns the inode of a process's namespace, 0 if unreadable.
func readNS(dir, kind string) uint64 {
	target, err := os.Readlink(dir + "/ns/" + kind)
	if err != nil {
		return 0
	}
	ino, _ := parseNSLink(target)
	return ino
}

// readFDs reads a process's fd links, with the stat of path targets and the
// fdinfo of eventfd and signalfd descriptors.
func readFDs(dir string) ([]fdEntry, error) {
	fdDir := dir + "/fd/"
	f, err := os.Open(fdDir)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	out := make([]fdEntry, 0, len(names))
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		link := fdDir + name
		target, err := os.Readlink(link)
		if err != nil {
			continue // closed meanwhile
		}
		e := fdEntry{FD: fd, Target: target}
		switch {
		case strings.HasPrefix(target, "socket:"):
			e.Access = AccessReadWrite
		case strings.HasPrefix(target, "pipe:"):
			var st unix.Stat_t
			if unix.Lstat(link, &st) != nil {
				continue
			}
			e.Access = access(st.Mode&unix.S_IRUSR != 0, st.Mode&unix.S_IWUSR != 0)
		case target == "anon_inode:[eventfd]" || target == "anon_inode:[signalfd]":
			fi, err := readFDInfo(dir, name)
			if err != nil {
				continue
			}
			e.Info = &fi
			e.Access = flagsAccess(fi.Flags)
		case strings.HasPrefix(target, "/"):
			var lst, st unix.Stat_t
			if unix.Lstat(link, &lst) != nil || unix.Stat(link, &st) != nil {
				continue
			}
			e.Access = access(lst.Mode&unix.S_IRUSR != 0, lst.Mode&unix.S_IWUSR != 0)
			e.Stat, e.Dev, e.Ino, e.Mode, e.Size = true, st.Dev, st.Ino, st.Mode, st.Size
		default:
			continue // other anon inodes and kernel objects are not IPC
		}
		out = append(out, e)
	}
	return out, nil
}

func readFDInfo(dir, fd string) (fdInfo, error) {
	f, err := os.Open(dir + "/fdinfo/" + fd)
	if err != nil {
		return fdInfo{}, err
	}
	defer f.Close()
	return parseFDInfo(f)
}

func flagsAccess(flags uint64) string {
	switch flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		return AccessRead
	case unix.O_WRONLY:
		return AccessWrite
	}
	return AccessReadWrite
}
