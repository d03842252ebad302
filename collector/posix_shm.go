package collector

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// posixShm finds POSIX shared memory: the files of /dev/shm in each mount
// namespace a process uses (read through /proc/PID/root/dev/shm, with the
// file system's used and total bytes), and memfd objects ("/memfd:NAME
// (deleted)" fd links and mappings). Holders are the processes with an fd
// on the file or a shared mapping of it, matched by device and inode.
func (b *build) posixShm() {
	type key struct{ dev, ino uint64 }
	objs := map[key]*Object{}
	var order []key
	add := func(k key, o Object) *Object {
		if p := objs[k]; p != nil {
			return p
		}
		objs[k] = &o
		order = append(order, k)
		return objs[k]
	}
	shmDevs := map[uint64]uint64{} // device of a /dev/shm -> mount namespace
	seenNS := map[uint64]bool{}
	for _, p := range b.procs {
		if p.MntNS == 0 || seenNS[p.MntNS] {
			continue
		}
		seenNS[p.MntNS] = true
		dir := b.c.opts.ProcRoot + "/" + strconv.Itoa(p.PID) + "/root/dev/shm"
		var sfs unix.Statfs_t
		var dst unix.Stat_t
		if err := unix.Statfs(dir, &sfs); err != nil || unix.Stat(dir, &dst) != nil {
			if err != nil && !vanished(err) {
				b.missing(fmt.Sprintf("/dev/shm of mount namespace %d", p.MntNS), err.Error())
			}
			continue
		}
		if _, dup := shmDevs[dst.Dev]; dup {
			continue // the same /dev/shm seen from another namespace
		}
		shmDevs[dst.Dev] = p.MntNS
		bs := uint64(sfs.Bsize)
		b.inv.ShmFS = append(b.inv.ShmFS, ShmFS{MountNS: p.MntNS, Path: dir,
			UsedBytes: (sfs.Blocks - sfs.Bfree) * bs, TotalBytes: sfs.Blocks * bs})
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, de := range entries {
			var st unix.Stat_t
			if unix.Lstat(dir+"/"+de.Name(), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
				continue
			}
			o := Object{Type: TypePosixShm, ID: st.Ino, Name: "/dev/shm/" + de.Name()}
			o.Attributes.Kind, o.Attributes.Namespace, o.Attributes.SizeBytes = "shm", p.MntNS, ptr(uint64(st.Size))
			add(key{st.Dev, st.Ino}, o)
		}
	}
	// classify reports the object a file held or mapped by p belongs to.
	classify := func(p *process, dev, ino uint64, path string, size *uint64) *Object {
		k := key{dev, ino}
		if o := objs[k]; o != nil {
			return o
		}
		name, deleted := strings.CutSuffix(path, " (deleted)")
		switch {
		case strings.HasPrefix(name, "/memfd:"):
			o := Object{Type: TypePosixShm, ID: ino, Name: name[1:]}
			o.Attributes.Kind, o.Attributes.Deleted, o.Attributes.SizeBytes = "memfd", deleted, size
			return add(k, o)
		case shmDevs[dev] != 0:
			o := Object{Type: TypePosixShm, ID: ino, Name: name}
			o.Attributes.Kind, o.Attributes.Deleted, o.Attributes.SizeBytes = "shm", deleted, size
			o.Attributes.Namespace = shmDevs[dev]
			return add(k, o)
		}
		return nil
	}
	for _, p := range b.procs {
		for _, e := range p.FDs {
			if !e.Stat || e.Mode&unix.S_IFMT != unix.S_IFREG {
				continue
			}
			if o := classify(p, e.Dev, e.Ino, e.Path, ptr(uint64(e.Size))); o != nil {
				o.Endpoints = append(o.Endpoints, endpoint(p, e.FD, e.Access))
			}
		}
		seen := map[key]bool{}
		for _, m := range p.Maps {
			k := key{m.Dev, m.Ino}
			if seen[k] {
				continue
			}
			seen[k] = true
			if o := classify(p, m.Dev, m.Ino, m.Path, nil); o != nil {
				o.Endpoints = append(o.Endpoints, endpoint(p, NoFD, m.Access))
			}
		}
	}
	for _, k := range order {
		b.inv.Objects = append(b.inv.Objects, *objs[k])
	}
}
