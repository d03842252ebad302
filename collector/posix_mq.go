package collector

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mqueueEntry is one POSIX message queue as its mqueue file shows it.
type mqueueEntry struct {
	Name                     string
	Ino                      uint64
	UID, Mode                uint32
	File                     mqueueFile
	MaxMsg, MsgSize, CurMsgs uint64
	HasAttr                  bool
}

// readMqueues lists the POSIX message queues of the calling thread's IPC
// namespace. The mqueue file system is often not mounted, so it mounts one
// privately: the thread moves to a mount namespace of its own (it is
// thrown away afterwards, see inThread), where mounting mqueue over the
// temporary directory is seen by no other process. It returns the queues
// and the device of the mqueue file system, which the fds of the holders
// carry.
func readMqueues() ([]mqueueEntry, uint64, error) {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return nil, 0, fmt.Errorf("entering a private mount namespace (needs CAP_SYS_ADMIN): %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, 0, fmt.Errorf("making mounts private: %w", err)
	}
	dir := os.TempDir()
	if err := unix.Mount("mqueue", dir, "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, ""); err != nil {
		if err == unix.ENODEV {
			return nil, 0, errNoMqueue
		}
		return nil, 0, fmt.Errorf("mounting mqueue: %w", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return nil, 0, fmt.Errorf("reading the mqueue mount: %w", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the mqueue mount: %w", err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("reading the mqueue mount: %w", err)
	}
	var out []mqueueEntry
	for _, name := range names {
		if e, ok := readMqueue(dir + "/" + name); ok {
			e.Name = "/" + name
			out = append(out, e)
		}
	}
	return out, st.Dev, nil
}

// readMqueue reads one queue: its file's text (bytes queued, notify pid) and
// mq_getsetattr (max messages, message size, messages queued). Opening an
// mqueue file read-only changes nothing in the queue.
func readMqueue(path string) (mqueueEntry, bool) {
	var e mqueueEntry
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return e, false // removed meanwhile
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return e, false
	}
	e.Ino, e.UID, e.Mode = st.Ino, st.Uid, st.Mode&0o777
	if e.File, err = parseMqueueFile(f); err != nil {
		return e, false
	}
	var attr [8]int64 // struct mq_attr
	_, _, errno := unix.Syscall(unix.SYS_MQ_GETSETATTR, uintptr(fd), 0, uintptr(unsafe.Pointer(&attr[0])))
	if errno == 0 {
		e.HasAttr = true
		e.MaxMsg, e.MsgSize, e.CurMsgs = uint64(attr[1]), uint64(attr[2]), uint64(attr[3])
	}
	return e, true
}

// posixMQObjects adds the message queues of one IPC namespace with the
// processes of that namespace holding a descriptor on them.
func (b *build) posixMQObjects(ns uint64, procs []*process, v *ipcView) {
	holders := map[uint64][]Endpoint{}
	for _, p := range procs {
		for _, e := range p.FDs {
			if e.Stat && e.Dev == v.mqDev {
				holders[e.Ino] = append(holders[e.Ino], endpoint(p, e.FD, e.Access))
			}
		}
	}
	for _, m := range v.mqs {
		o := Object{Type: TypePosixMQ, ID: m.Ino, Name: m.Name, Endpoints: holders[m.Ino]}
		a := &o.Attributes
		a.Namespace = ns
		a.QueuedBytes, a.NotifyPID = ptr(m.File.QSize), ptr(m.File.NotifyPID)
		a.Owner, a.Mode = ptr(m.UID), ptr(m.Mode)
		if m.HasAttr {
			a.Messages, a.MaxMessages, a.MessageSize = ptr(m.CurMsgs), ptr(m.MaxMsg), ptr(m.MsgSize)
		}
		b.inv.Objects = append(b.inv.Objects, o)
	}
}
