package collector

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// fdKind says what an fd link points to.
type fdKind uint8

const (
	fdPath     fdKind = iota // "/dev/shm/x", "/run/app.fifo (deleted)", ...
	fdPipe                   // "pipe:[INODE]"
	fdSocket                 // "socket:[INODE]"
	fdEventfd                // "anon_inode:[eventfd]"
	fdSignalfd               // "anon_inode:[signalfd]"
)

// fdEntry is one open file descriptor of a process.
type fdEntry struct {
	FD     int
	Mode   uint32 // with Stat
	Kind   fdKind
	Stat   bool   // the open file was stat'ed: Dev, Ino, Mode and Size are its
	Path   string // fdPath: the /proc/PID/fd/N link
	Access string // from the link's mode, which mirrors the file's f_mode
	// Ino is the inode of a pipe or socket (from the link) or, with Stat,
	// of the open file.
	Ino  uint64
	Dev  uint64
	Size int64
	Info *fdInfo // eventfd and signalfd only
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

// scan reads every process under the procfs root, on GOMAXPROCS*2 workers
// (most of the time is spent in system calls). Processes that vanish are
// skipped; processes whose fds cannot be read are counted.
func (c *Collector) scan(ctx context.Context, w scanWants) (procs []*process, total, unreadable int, err error) {
	pfs, err := procfs.NewFS(c.opts.ProcRoot)
	if err != nil {
		return nil, 0, 0, err
	}
	all, err := pfs.AllProcs()
	if err != nil {
		return nil, 0, 0, err
	}
	jobs := make(chan int, 64)
	var mu sync.Mutex
	var wg sync.WaitGroup
	procs = make([]*process, 0, len(all))
	for range min(runtime.GOMAXPROCS(0)*2, len(all)) {
		wg.Go(func() {
			s, _ := c.scratch.Get().(*scratch)
			if s == nil {
				s = newScratch()
			}
			defer c.scratch.Put(s)
			for pid := range jobs {
				pr, denied := c.scanOne(pid, w, s)
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
		jobs <- p.PID
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
// whose fds could not be read. Every file is read relative to one fd on
// /proc/PID, which keeps naming the same process even if the PID is reused.
func (c *Collector) scanOne(pid int, w scanWants, s *scratch) (pr *process, isDenied bool) {
	dirfd, err := openat(unix.AT_FDCWD, c.opts.ProcRoot+"/"+strconv.Itoa(pid), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, false
	}
	defer unix.Close(dirfd)
	pr = &process{PID: pid}
	// With signals wanted, status is read anyway and its Name is comm.
	if w.signals {
		if b, err := s.readRecordAt(dirfd, "status"); err == nil {
			if name, ok := statusName(b); ok {
				pr.Comm = string(bytes.TrimSpace(name))
				if sig, err := parseStatusSignalsBytes(b); err == nil {
					sig.PID, sig.Comm = pr.PID, pr.Comm
					pr.Signals = &sig
				}
			}
		}
	}
	if pr.Signals == nil {
		comm, err := s.readRecordAt(dirfd, "comm")
		if err != nil {
			return nil, false
		}
		pr.Comm = string(bytes.TrimSpace(comm))
	}
	pr.NetNS = s.nsAt(dirfd, "ns/net")
	pr.IPCNS = s.nsAt(dirfd, "ns/ipc")
	pr.MntNS = s.nsAt(dirfd, "ns/mnt")
	if w.fds {
		fds, err := s.readFDs(dirfd)
		switch {
		case vanished(err):
			return nil, false
		case err != nil:
			isDenied = true
		}
		pr.FDs = fds
	}
	if w.maps && !isDenied {
		maps, err := c.sharedMaps(s, dirfd)
		if vanished(err) {
			return nil, false
		}
		pr.Maps = maps
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

// linkAccess is the access of an fd from its /proc/PID/fd/N link's mode,
// which mirrors the file's f_mode.
func linkAccess(st *unix.Stat_t) string {
	return access(st.Mode&unix.S_IRUSR != 0, st.Mode&unix.S_IWUSR != 0)
}

// readNS returns the inode of the namespace of a process directory (a
// /proc/PID path), 0 if unreadable.
func readNS(dir, kind string) uint64 {
	target, err := os.Readlink(dir + "/ns/" + kind)
	if err != nil {
		return 0
	}
	ino, _ := parseNSLink(target)
	return ino
}

// nsAt returns the inode of the namespace link name ("ns/net") under a
// /proc/PID dirfd, 0 if unreadable.
func (s *scratch) nsAt(dirfd int, name string) uint64 {
	link, err := s.readlinkAt(dirfd, name)
	if err != nil {
		return 0
	}
	ino, _ := nsLinkInode(link)
	return ino
}

// readFDs reads the fd links of the process at dirfd (/proc/PID), with the
// mode of pipe links, the stat of path targets and the fdinfo of eventfd and
// signalfd descriptors. Other anon inodes and kernel objects are not IPC
// and are left out.
func (s *scratch) readFDs(dirfd int) ([]fdEntry, error) {
	fdDir, err := openat(dirfd, "fd", unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fdDir)
	s.fds = s.fds[:0]
	err = s.readDirNames(fdDir, func(name []byte) {
		fd, ok := atou(name)
		if !ok {
			return
		}
		nm := string(name)
		target, err := s.readlinkAt(fdDir, nm)
		if err != nil {
			return // closed meanwhile
		}
		e := fdEntry{FD: int(fd)}
		var lst, st unix.Stat_t
		if ino, ok := bracketed(target, "socket:"); ok {
			e.Kind, e.Ino, e.Access = fdSocket, ino, AccessReadWrite
		} else if ino, ok := bracketed(target, "pipe:"); ok {
			if fstatat(fdDir, nm, &lst, unix.AT_SYMLINK_NOFOLLOW) != nil {
				return
			}
			e.Kind, e.Ino, e.Access = fdPipe, ino, linkAccess(&lst)
		} else if len(target) > 0 && target[0] == '/' {
			// Only FIFOs and regular files (posix_shm, memfd, posix_mq)
			// can be IPC objects: devices and directories are left out
			// before the link itself is stat'ed for the access.
			if fstatat(fdDir, nm, &st, 0) != nil {
				return
			}
			if t := st.Mode & unix.S_IFMT; t != unix.S_IFIFO && t != unix.S_IFREG {
				return
			}
			if fstatat(fdDir, nm, &lst, unix.AT_SYMLINK_NOFOLLOW) != nil {
				return
			}
			e.Kind, e.Path, e.Access = fdPath, string(target), linkAccess(&lst)
			e.Stat, e.Dev, e.Ino, e.Mode, e.Size = true, st.Dev, st.Ino, st.Mode, st.Size
		} else {
			switch string(target) {
			case "anon_inode:[eventfd]":
				e.Kind = fdEventfd
			case "anon_inode:[signalfd]":
				e.Kind = fdSignalfd
			default:
				return
			}
			b, err := s.readRecordAt(dirfd, "fdinfo/"+nm)
			if err != nil {
				return
			}
			fi, err := parseFDInfo(bytes.NewReader(b))
			if err != nil {
				return
			}
			e.Info = &fi
			e.Access = flagsAccess(fi.Flags)
		}
		s.fds = append(s.fds, e)
	})
	if len(s.fds) == 0 {
		return nil, err
	}
	return slices.Clone(s.fds), err
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
