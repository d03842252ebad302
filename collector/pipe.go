package collector

import (
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/ipcwatch/ipcwatch/probes"
)

// pipesAndFIFOs finds anonymous pipes ("pipe:[INODE]" fd links) and FIFOs
// (path fds whose file is S_IFIFO), with every endpoint and, when known,
// the bytes queued and the buffer capacity.
//
// Bytes queued and capacity come from the PipeBufferSource (a BPF task_file
// iterator). Without one they stay unknown, unless Options.ReopenPipes asks
// to reopen each pipe through /proc/PID/fd/N (O_RDONLY|O_NONBLOCK) and ask
// FIONREAD and F_GETPIPE_SZ. Opening a pipe that way is a real open: it
// counts as one more reader while it lasts. It is done only when some
// process already holds the read end, so no writer blocked in open(2) on a
// FIFO is woken and no writer misses an EPIPE it would otherwise get.
func (b *build) pipesAndFIFOs() {
	type key struct{ dev, ino uint64 }
	first := len(b.inv.Objects)
	objs := map[key]int{} // index in b.inv.Objects
	for _, p := range b.procs {
		for _, e := range p.FDs {
			var k key
			var typ, name string
			switch {
			case e.Kind == fdPipe:
				k, typ = key{0, e.Ino}, TypePipe
			case e.Stat && e.Mode&unix.S_IFMT == unix.S_IFIFO:
				k, typ, name = key{e.Dev, e.Ino}, TypeFIFO, e.Path
			default:
				continue
			}
			i, ok := objs[k]
			if !ok {
				i = len(b.inv.Objects)
				objs[k] = i
				// Most pipes have a reader and a writer.
				b.inv.Objects = append(b.inv.Objects, Object{Type: typ, ID: k.ino, Name: name, Endpoints: make([]Endpoint, 0, 2)})
			}
			o := &b.inv.Objects[i]
			o.Endpoints = append(o.Endpoints, endpoint(p, e.FD, e.Access))
		}
	}
	found := b.inv.Objects[first:]
	var buffers map[uint64]probes.PipeBuffer
	if src := b.c.opts.PipeBuffers; src != nil {
		var err error
		if buffers, err = src.PipeBuffers(); err != nil {
			b.missing("pipe and fifo queued bytes", "reading pipe buffers: "+err.Error())
		}
	} else if !b.c.opts.ReopenPipes && len(found) > 0 {
		b.missing("pipe and fifo queued bytes and capacity", "no BPF pipe buffer source")
	}
	for i := range found {
		o := &found[i]
		if pb, ok := buffers[o.ID]; ok && buffers != nil {
			o.Attributes.QueuedBytes, o.Attributes.CapacityBytes = b.u64(pb.Queued), b.u64(pb.Capacity)
		} else if b.c.opts.ReopenPipes {
			o.Attributes.QueuedBytes, o.Attributes.CapacityBytes = b.reopenPipe(o.Endpoints)
		}
	}
}

// reopenPipe opens the pipe through a holder's fd link and reads the bytes
// queued and the capacity; nil, nil when no reader holds it or it fails.
func (b *build) reopenPipe(eps []Endpoint) (queued, capacity *uint64) {
	for _, ep := range eps {
		if ep.Access != AccessRead && ep.Access != AccessReadWrite {
			continue
		}
		path := b.c.opts.ProcRoot + "/" + strconv.Itoa(ep.PID) + "/fd/" + strconv.Itoa(ep.FD)
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if err != nil {
			continue
		}
		n, err1 := unix.IoctlGetInt(fd, unix.TIOCINQ) // FIONREAD
		size, err2 := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0)
		unix.Close(fd)
		if err1 == nil && err2 == nil {
			return ptr(uint64(n)), ptr(uint64(size))
		}
	}
	return nil, nil
}
