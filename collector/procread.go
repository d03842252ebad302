package collector

import (
	"bytes"
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// The scan reads /proc with plain system calls relative to directory fds
// (openat, readlinkat, fstatat, getdents64) into buffers each scan worker
// reuses: with a thousand processes and tens of thousands of fds, path
// lookups from / and a heap allocation per file read or link would cost more
// than the kernel's work.

// scratch holds one scan worker's reusable buffers.
type scratch struct {
	file  []byte // whole-file reads: comm, maps, status, fdinfo
	link  []byte // readlinkat targets
	dents []byte // getdents64 records
	fds   []fdEntry
	query procmapQuery
}

func newScratch() *scratch {
	return &scratch{file: make([]byte, 16<<10), link: make([]byte, unix.PathMax), dents: make([]byte, 8<<10)}
}

// readFileAt reads the whole file name under dirfd into s.file, which grows
// as needed; the result is valid until the next call.
func (s *scratch) readFileAt(dirfd int, name string) ([]byte, error) {
	fd, err := openat(dirfd, name, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return s.readAll(fd, false)
}

// readRecordAt is readFileAt for the /proc files the kernel shows as one
// seq_file record (single_open: comm, status, fdinfo/N): a read that does
// not fill the buffer has returned the whole file, so no read is spent to
// see the end.
func (s *scratch) readRecordAt(dirfd int, name string) ([]byte, error) {
	fd, err := openat(dirfd, name, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return s.readAll(fd, true)
}

// readAll reads the open file fd to its end into s.file, as readFileAt;
// with record, a short read is the end (see readRecordAt).
func (s *scratch) readAll(fd int, record bool) ([]byte, error) {
	n := 0
	for {
		if n == len(s.file) {
			s.file = append(s.file, make([]byte, len(s.file))...)
		}
		m, err := unix.Read(fd, s.file[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 || record && n+m < len(s.file) {
			return s.file[:n+m], nil
		}
		n += m
	}
}

// readlinkAt reads the link name under dirfd into s.link; the result is
// valid until the next call.
func (s *scratch) readlinkAt(dirfd int, name string) ([]byte, error) {
	for {
		n, err := unix.Readlinkat(dirfd, name, s.link)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n < len(s.link) {
			return s.link[:n], nil
		}
		s.link = make([]byte, 2*len(s.link)) // possibly truncated: retry larger
	}
}

// readDirNames calls fn with the name of each entry of the open directory
// fd, "." and ".." excluded. name is only valid during the call.
func (s *scratch) readDirNames(fd int, fn func(name []byte)) error {
	for {
		n, err := unix.Getdents(fd, s.dents)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		forEachDirent(s.dents[:n], fn)
	}
}

// forEachDirent calls fn with the name of each linux_dirent64 record in buf
// (u64 ino, s64 off, u16 reclen, u8 type, NUL-terminated name), skipping
// "." and "..".
func forEachDirent(buf []byte, fn func(name []byte)) {
	const nameOff = 19
	for len(buf) >= nameOff {
		reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
		if reclen < nameOff || reclen > len(buf) {
			return
		}
		name := buf[nameOff:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		buf = buf[reclen:]
		if len(name) == 0 || string(name) == "." || string(name) == ".." {
			continue
		}
		fn(name)
	}
}

// openat opens name under dirfd close-on-exec, retrying on EINTR.
func openat(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// fstatat stats name under dirfd (flags: 0 follows a final symlink,
// AT_SYMLINK_NOFOLLOW does not), retrying on EINTR.
func fstatat(dirfd int, name string, st *unix.Stat_t, flags int) error {
	for {
		err := unix.Fstatat(dirfd, name, st, flags)
		if err != unix.EINTR {
			return err
		}
	}
}
