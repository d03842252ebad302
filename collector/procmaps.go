package collector

import (
	"bytes"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Shared file mappings are found with the PROCMAP_QUERY ioctl on
// /proc/PID/maps (Linux 6.11+, include/uapi/linux/fs.h): the kernel skips
// the private and anonymous mappings, the most by far, instead of printing
// them. Older kernels answer ENOTTY and the text of the file is parsed.

// procmapQueryIoctl is _IOWR('f', 17, struct procmap_query).
const procmapQueryIoctl = 0xc0686611

// Flags of struct procmap_query: the VMA must have these permissions (in
// query_flags) or has them (in vma_flags). "Shared" is VM_MAYSHARE, the 's'
// of /proc/PID/maps.
const (
	procmapVMAReadable   = 0x01
	procmapVMAWritable   = 0x02
	procmapVMAShared     = 0x08
	procmapCoveringOrNxt = 0x10 // the VMA at query_addr or the next one
	procmapFileBacked    = 0x20
)

// procmapQuery is struct procmap_query.
type procmapQuery struct {
	Size        uint64
	QueryFlags  uint64
	QueryAddr   uint64
	VMAStart    uint64
	VMAEnd      uint64
	VMAFlags    uint64
	VMAPageSize uint64
	VMAOffset   uint64
	Inode       uint64
	DevMajor    uint32
	DevMinor    uint32
	VMANameSize uint32
	BuildIDSize uint32
	VMANameAddr uint64
	BuildIDAddr uint64
}

// sharedMaps returns the MAP_SHARED file mappings of the process at dirfd
// (/proc/PID), as parseSharedMaps finds them in its maps file.
func (c *Collector) sharedMaps(s *scratch, dirfd int) ([]mapping, error) {
	if c.noProcmapQuery.Load() {
		b, err := s.readFileAt(dirfd, "maps")
		if err != nil {
			return nil, err
		}
		return parseSharedMaps(b, nil), nil
	}
	fd, err := openat(dirfd, "maps", unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	maps, err := s.queryMaps(fd)
	if err == unix.ENOTTY || err == unix.EINVAL {
		c.noProcmapQuery.Store(true)
		b, err := s.readAll(fd, false)
		if err != nil {
			return nil, err
		}
		return parseSharedMaps(b, nil), nil
	}
	return maps, err
}

// queryMaps walks the shared file mappings of an open maps file with
// PROCMAP_QUERY. A process without memory (a kernel thread, or one that
// has just exited) has none.
func (s *scratch) queryMaps(fd int) ([]mapping, error) {
	var out []mapping
	var addr uint64
	for {
		q := &s.query
		*q = procmapQuery{
			Size:        uint64(unsafe.Sizeof(procmapQuery{})),
			QueryFlags:  procmapVMAShared | procmapFileBacked | procmapCoveringOrNxt,
			QueryAddr:   addr,
			VMANameSize: uint32(len(s.link)),
			VMANameAddr: uint64(uintptr(unsafe.Pointer(&s.link[0]))),
		}
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), procmapQueryIoctl, uintptr(unsafe.Pointer(q)))
		runtime.KeepAlive(s.link)
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.ENOENT, unix.ESRCH:
			return out, nil // no more mappings; no memory
		case unix.ENAMETOOLONG:
			if len(s.link) >= 1<<20 {
				return out, errno
			}
			s.link = make([]byte, 2*len(s.link))
			continue
		default:
			return out, errno
		}
		addr = q.VMAEnd
		var name []byte
		if q.VMANameSize > 0 && int(q.VMANameSize) <= len(s.link) {
			name = s.link[:q.VMANameSize-1] // the size counts the NUL
		}
		if q.Inode == 0 || len(name) == 0 || name[0] != '/' {
			continue
		}
		if bytes.IndexByte(name, '\n') >= 0 {
			name = bytes.ReplaceAll(name, []byte("\n"), []byte(`\012`)) // as the maps file escapes it
		}
		out = append(out, mapping{
			Dev: unix.Mkdev(q.DevMajor, q.DevMinor), Ino: q.Inode, Path: string(name),
			Access: access(q.VMAFlags&procmapVMAReadable != 0, q.VMAFlags&procmapVMAWritable != 0),
		})
	}
}
