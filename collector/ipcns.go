package collector

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ipcView is what one IPC namespace holds, read from inside it.
type ipcView struct {
	msgs    []sysvMsg
	qbytes  map[int]uint64 // msqid -> msg_qbytes, from msgctl(IPC_STAT)
	shms    []sysvShm
	sems    []sysvSem
	limits  SysV
	sysvErr error
	mqs     []mqueueEntry
	mqDev   uint64
	mqErr   error
}

// ipcNamespaces visits each IPC namespace a process uses, on a thread of its
// own that enters it (setns CLONE_NEWIPC) and is thrown away afterwards, and
// reads System V objects, limits and POSIX message queues there:
// /proc/sysvipc and the mqueue file system show only the reader's IPC
// namespace.
func (b *build) ipcNamespaces() {
	byNS := map[uint64][]*process{}
	var order []uint64
	for _, p := range b.procs {
		if p.IPCNS == 0 {
			continue
		}
		if byNS[p.IPCNS] == nil {
			order = append(order, p.IPCNS)
		}
		byNS[p.IPCNS] = append(byNS[p.IPCNS], p)
	}
	own := ownNS("ipc")
	wantSysV := b.want[TypeSysVMsg] || b.want[TypeSysVShm] || b.want[TypeSysVSem]
	for _, ns := range order {
		procs := byNS[ns]
		nsPath := b.c.opts.ProcRoot + "/" + strconv.Itoa(procs[0].PID) + "/ns/ipc"
		var v ipcView
		err := inThread(func() error {
			if ns != own {
				if err := enterNS(nsPath, unix.CLONE_NEWIPC); err != nil {
					return err
				}
			}
			if wantSysV {
				v.sysvErr = b.readSysV(&v)
			}
			if b.want[TypePosixMQ] {
				v.mqs, v.mqDev, v.mqErr = readMqueues()
			}
			return nil
		})
		where := fmt.Sprintf("ipc namespace %d", ns)
		if err != nil {
			b.missing("System V objects and posix_mq in "+where, err.Error())
			continue
		}
		if wantSysV {
			if v.sysvErr != nil {
				b.missing("System V objects in "+where, v.sysvErr.Error())
			} else {
				v.limits.Namespace = ns
				b.inv.SysV = append(b.inv.SysV, v.limits)
				b.sysvMsgObjects(ns, &v)
				b.sysvShmObjects(ns, procs, &v)
				b.sysvSemObjects(ns, &v)
			}
		}
		if b.want[TypePosixMQ] {
			if v.mqErr != nil {
				b.missing("posix_mq in "+where, v.mqErr.Error())
			} else {
				b.posixMQObjects(ns, procs, &v)
			}
		}
	}
}

// readSysV reads /proc/sysvipc and the System V limits of the calling
// thread's IPC namespace.
func (b *build) readSysV(v *ipcView) error {
	root := b.c.opts.ProcRoot
	var err error
	if v.msgs, err = readParsed(root+"/sysvipc/msg", parseSysVMsg); err != nil {
		return err
	}
	if v.shms, err = readParsed(root+"/sysvipc/shm", parseSysVShm); err != nil {
		return err
	}
	if v.sems, err = readParsed(root+"/sysvipc/sem", parseSysVSem); err != nil {
		return err
	}
	v.qbytes = map[int]uint64{}
	for _, m := range v.msgs {
		if q, ok := msgQueueBytes(m.ID); ok {
			v.qbytes[m.ID] = q
		}
	}
	l := &v.limits
	for name, dst := range map[string]*uint64{
		"msgmni": &l.MsgMni, "msgmax": &l.MsgMax, "msgmnb": &l.MsgMnb,
		"shmmax": &l.ShmMax, "shmall": &l.ShmAll, "shmmni": &l.ShmMni,
	} {
		if vals, err := readParsed(root+"/sys/kernel/"+name, parseUints); err == nil {
			*dst = vals[0]
		}
	}
	if vals, err := readParsed(root+"/sys/kernel/sem", parseUints); err == nil && len(vals) == 4 {
		l.SemMsl, l.SemMns, l.SemOpm, l.SemMni = vals[0], vals[1], vals[2], vals[3]
	}
	for _, m := range v.msgs {
		l.MsgQueues++
		l.MsgMessages += m.Messages
		l.MsgBytes += m.Bytes
	}
	for _, s := range v.shms {
		l.ShmSegments++
		l.ShmBytes += s.Size
	}
	for _, s := range v.sems {
		l.SemSets++
		l.SemSemaphores += s.NSems
	}
	return nil
}

// readParsed opens a file and runs a parser on it.
func readParsed[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return parse(f)
}

// sysvAttrs sets the key, owner and mode common to every System V object.
func sysvAttrs(a *Attributes, ns uint64, key int32, id int, uid, mode uint32) {
	a.Namespace = ns
	a.Key, a.SysVID, a.Owner, a.Mode = ptr(key), ptr(id), ptr(uid), ptr(mode&0o777)
}

var errNoMqueue = errors.New("no mqueue file system (needs CONFIG_POSIX_MQUEUE)")

// sysvName is the name ls shows for a System V object: its key in hex as
// ipcs prints it, "" for IPC_PRIVATE.
func sysvName(key int32) string {
	if key == 0 {
		return ""
	}
	return fmt.Sprintf("0x%08x", uint32(key))
}
