package collector

import "strings"

// sysvShmObjects adds the System V shared memory segments of one IPC
// namespace, with the processes of that namespace that have them attached:
// an attached segment shows in /proc/PID/maps as "/SYSV<key> (deleted)"
// with the shmid as its inode.
func (b *build) sysvShmObjects(ns uint64, procs []*process, v *ipcView) {
	attached := map[uint64][]Endpoint{}
	for _, p := range procs {
		seen := map[uint64]bool{}
		for _, m := range p.Maps {
			if !strings.HasPrefix(m.Path, "/SYSV") || seen[m.Ino] {
				continue
			}
			seen[m.Ino] = true
			attached[m.Ino] = append(attached[m.Ino], endpoint(p, NoFD, m.Access))
		}
	}
	for _, s := range v.shms {
		o := Object{Type: TypeSysVShm, ID: uint64(s.ID), Name: sysvName(s.Key)}
		a := &o.Attributes
		sysvAttrs(a, ns, s.Key, s.ID, s.UID, s.Mode)
		a.SizeBytes, a.Attached = ptr(s.Size), ptr(s.Attached)
		a.CreatorPID, a.LastPID = ptr(s.CreatorPID), ptr(s.LastPID)
		o.Endpoints = attached[uint64(s.ID)]
		b.inv.Objects = append(b.inv.Objects, o)
	}
}
