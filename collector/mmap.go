package collector

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mmaps finds regular files mapped MAP_SHARED ('s' in /proc/PID/maps) by two
// or more processes. System V segments, memfd and /dev/shm files are
// posix_shm and sysv_shm objects; device mappings are not files.
func (b *build) mmaps() {
	type key struct{ dev, ino uint64 }
	objs := map[key]*Object{}
	var order []key
	for _, p := range b.procs {
		seen := map[key]bool{}
		for _, m := range p.Maps {
			k := key{m.Dev, m.Ino}
			if seen[k] || strings.HasPrefix(m.Path, "/SYSV") || strings.HasPrefix(m.Path, "/memfd:") ||
				strings.HasPrefix(m.Path, "/dev/") {
				continue
			}
			seen[k] = true
			o := objs[k]
			if o == nil {
				name, deleted := strings.CutSuffix(m.Path, " (deleted)")
				o = &Object{Type: TypeMmap, ID: m.Ino, Name: name}
				o.Attributes.Deleted = deleted
				if !deleted {
					var st unix.Stat_t
					root := b.c.opts.ProcRoot + "/" + strconv.Itoa(p.PID) + "/root"
					if unix.Stat(root+name, &st) == nil && st.Ino == m.Ino && st.Mode&unix.S_IFMT == unix.S_IFREG {
						o.Attributes.SizeBytes = ptr(uint64(st.Size))
					}
				}
				objs[k] = o
				order = append(order, k)
			}
			o.Endpoints = append(o.Endpoints, endpoint(p, NoFD, m.Access))
		}
	}
	for _, k := range order {
		o := objs[k]
		if len(o.Endpoints) < 2 {
			continue
		}
		o.Attributes.Attached = ptr(uint64(len(o.Endpoints)))
		b.inv.Objects = append(b.inv.Objects, *o)
	}
}
