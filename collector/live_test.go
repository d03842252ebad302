package collector

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

// ino returns the inode of an open fd.
func ino(t *testing.T, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// find returns the object of a type with an id, failing the test without it.
func find(t *testing.T, inv *Inventory, typ string, id uint64) Object {
	t.Helper()
	for _, o := range inv.Objects {
		if o.Type == typ && o.ID == id {
			return o
		}
	}
	t.Fatalf("no %s with id %d among %d objects", typ, id, len(inv.Objects))
	return Object{}
}

func findName(t *testing.T, inv *Inventory, typ, name string) Object {
	t.Helper()
	for _, o := range inv.Objects {
		if o.Type == typ && o.Name == name {
			return o
		}
	}
	t.Fatalf("no %s named %q", typ, name)
	return Object{}
}

func checkEndpoints(t *testing.T, o Object, want ...Endpoint) {
	t.Helper()
	sortEndpoints(want)
	got := slices.Clone(o.Endpoints)
	for i := range got {
		got[i].Comm = "" // comm is checked once below
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s %d %q: endpoints %+v, want %+v", o.Type, o.ID, o.Name, got, want)
	}
}

func checkValue[T comparable](t *testing.T, o Object, what string, got *T, want T) {
	t.Helper()
	if got == nil {
		t.Errorf("%s %d: %s unknown, want %v", o.Type, o.ID, what, want)
	} else if *got != want {
		t.Errorf("%s %d: %s = %v, want %v", o.Type, o.ID, what, *got, want)
	}
}

func ep(pid, fd int, acc string) Endpoint { return Endpoint{PID: pid, FD: fd, Access: acc} }

// TestLiveInventory creates every kind of object between this process and a
// child and finds each with its endpoints, sizes and queue depths.
func TestLiveInventory(t *testing.T) {
	testutil.RequirePrivileged(t)
	me := os.Getpid()
	dir := t.TempDir()
	var files []*os.File // the child's fds 3, 4, ...
	// pass gives fd to the child; this process closes it once the child runs.
	pass := func(fd int) int {
		files = append(files, os.NewFile(uintptr(fd), "passed"))
		return 2 + len(files)
	}
	// share gives the child a copy of fd; this process keeps fd.
	share := func(fd int) int {
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		must(t, err)
		return pass(d)
	}
	closeLater := func(fd int) { t.Cleanup(func() { unix.Close(fd) }) }

	// pipe: the child reads, this process writes 100 bytes.
	var p [2]int
	must(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
	closeLater(p[1])
	pipeIno, pipeChildFD := ino(t, p[0]), pass(p[0])
	_, err := unix.Write(p[1], make([]byte, 100))
	must(t, err)

	// fifo: the child reads, this process writes 7 bytes.
	fifo := filepath.Join(dir, "fifo")
	must(t, unix.Mkfifo(fifo, 0o600))
	fr, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	must(t, err)
	fw, err := unix.Open(fifo, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	must(t, err)
	closeLater(fw)
	_, err = unix.Write(fw, []byte("1234567"))
	must(t, err)
	fifoIno, fifoChildFD := ino(t, fr), pass(fr)

	// Unix socket pairs, the child holding one end of each, data queued to it.
	pair := func(typ int, msgs ...string) (mine, theirs uint64, theirFD int) {
		fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
		must(t, err)
		closeLater(fds[0])
		for _, m := range msgs {
			_, err := unix.Write(fds[0], []byte(m))
			must(t, err)
		}
		return ino(t, fds[0]), ino(t, fds[1]), pass(fds[1])
	}
	streamMine, streamTheirs, streamFD := pair(unix.SOCK_STREAM, "hello")
	dgramMine, dgramTheirs, dgramFD := pair(unix.SOCK_DGRAM, "0123456789", "abc")
	seqMine, seqTheirs, seqFD := pair(unix.SOCK_SEQPACKET, "abcd", "efgh")

	// A listener with backlog 7 and two connections it has not accepted.
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	must(t, err)
	closeLater(lfd)
	lname := fmt.Sprintf("@ipcwatch-test-%d", me)
	must(t, unix.Bind(lfd, &unix.SockaddrUnix{Name: lname}))
	must(t, unix.Listen(lfd, 7))
	for range 2 {
		c, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		must(t, err)
		closeLater(c)
		must(t, unix.Connect(c, &unix.SockaddrUnix{Name: lname}))
	}

	// eventfd with count 3, shared with the child; a signalfd for SIGUSR2.
	efd, err := unix.Eventfd(3, unix.EFD_CLOEXEC)
	must(t, err)
	closeLater(efd)
	eventChildFD := share(efd)
	var mask unix.Sigset_t
	mask.Val[0] = 1 << (unix.SIGUSR2 - 1)
	sfd, err := unix.Signalfd(-1, &mask, unix.SFD_CLOEXEC)
	must(t, err)
	closeLater(sfd)

	// memfd of 4096 bytes, shared with the child.
	mfd, err := unix.MemfdCreate(fmt.Sprintf("ipcwatch-test-%d", me), unix.MFD_CLOEXEC)
	must(t, err)
	closeLater(mfd)
	must(t, unix.Ftruncate(mfd, 4096))
	memfdIno, memfdChildFD := ino(t, mfd), share(mfd)

	// /dev/shm file of 12288 bytes: mapped here, held and mapped by the child.
	shmName := fmt.Sprintf("/dev/shm/ipcwatch-test-%d", me)
	shmFD, err := unix.Open(shmName, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	must(t, err)
	t.Cleanup(func() { os.Remove(shmName) })
	must(t, unix.Ftruncate(shmFD, 12288))
	shmMap, err := unix.Mmap(shmFD, 0, 12288, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	must(t, err)
	t.Cleanup(func() { unix.Munmap(shmMap) })
	shmIno, shmChildFD := ino(t, shmFD), pass(shmFD)

	// A regular file of 8192 bytes mapped shared here (read-only) and by the child.
	dataPath := filepath.Join(dir, "data")
	must(t, os.WriteFile(dataPath, make([]byte, 8192), 0o600))
	dfd, err := unix.Open(dataPath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	must(t, err)
	dataMap, err := unix.Mmap(dfd, 0, 8192, unix.PROT_READ, unix.MAP_SHARED)
	must(t, err)
	t.Cleanup(func() { unix.Munmap(dataMap) })
	dataIno, dataChildFD := ino(t, dfd), pass(dfd)

	// System V: a queue with two messages, a segment attached by both, a set of 3.
	msqid, err := msgget()
	must(t, err)
	t.Cleanup(func() { msgRemove(msqid) })
	must(t, msgsnd(msqid, []byte("123456789")))
	must(t, msgsnd(msqid, []byte("abcd")))
	shmid, err := unix.SysvShmGet(unix.IPC_PRIVATE, 8192, unix.IPC_CREAT|0o600)
	must(t, err)
	t.Cleanup(func() { unix.SysvShmCtl(shmid, unix.IPC_RMID, nil) })
	seg, err := unix.SysvShmAttach(shmid, 0, 0)
	must(t, err)
	t.Cleanup(func() { unix.SysvShmDetach(seg) })
	semid, err := semget(3)
	must(t, err)
	t.Cleanup(func() { semRemove(semid) })

	// A POSIX queue of at most 5 messages of 64 bytes, holding 10 + 20 bytes.
	mqName := fmt.Sprintf("/ipcwatch-test-%d", me)
	mqfd, err := mqOpen(mqName, 5, 64)
	must(t, err)
	t.Cleanup(func() { mqUnlinkName(mqName) })
	closeLater(mqfd)
	must(t, mqSend(mqfd, make([]byte, 10)))
	must(t, mqSend(mqfd, make([]byte, 20)))
	mqChildFD := share(mqfd)

	kid := startChild(t, fmt.Sprintf("mmap:%d,mmap:%d,shmat:%d", shmChildFD, dataChildFD, shmid), files, nil)
	for _, f := range files {
		f.Close()
	}
	cp := kid.pid()

	inv, err := New(Options{ReopenPipes: true}).Collect(context.Background())
	must(t, err)
	if inv.Processes < 2 || inv.Unreadable != 0 {
		t.Errorf("processes %d, unreadable %d", inv.Processes, inv.Unreadable)
	}

	o := find(t, inv, TypePipe, pipeIno)
	checkEndpoints(t, o, ep(me, p[1], AccessWrite), ep(cp, pipeChildFD, AccessRead))
	checkValue(t, o, "queued", o.Attributes.QueuedBytes, 100)
	checkValue(t, o, "capacity", o.Attributes.CapacityBytes, 65536)
	for _, e := range o.Endpoints {
		if e.PID == me && e.Comm != "collector.test" {
			t.Errorf("comm of this process: %q", e.Comm)
		}
	}

	o = find(t, inv, TypeFIFO, fifoIno)
	if o.Name != fifo {
		t.Errorf("fifo name %q, want %q", o.Name, fifo)
	}
	checkEndpoints(t, o, ep(me, fw, AccessWrite), ep(cp, fifoChildFD, AccessRead))
	checkValue(t, o, "queued", o.Attributes.QueuedBytes, 7)

	for _, s := range []struct {
		typ            string
		mine, theirs   uint64
		fd             int
		queued, msgsFD int
	}{
		{TypeUnixStream, streamMine, streamTheirs, streamFD, 5, 0},
		{TypeUnixDgram, dgramMine, dgramTheirs, dgramFD, 10, 0}, // dgram: the first datagram's length
		{TypeUnixSeqpacket, seqMine, seqTheirs, seqFD, 8, 0},
	} {
		o := find(t, inv, s.typ, s.theirs)
		checkEndpoints(t, o, ep(cp, s.fd, AccessReadWrite))
		checkValue(t, o, "peer", o.Peer, s.mine)
		checkValue(t, o, "recv queue", o.Attributes.RecvQueueBytes, uint64(s.queued))
		if o.Attributes.State != "established" {
			t.Errorf("%s state %q", s.typ, o.Attributes.State)
		}
		mine := find(t, inv, s.typ, s.mine)
		checkValue(t, mine, "peer", mine.Peer, s.theirs)
		checkValue(t, mine, "recv queue", mine.Attributes.RecvQueueBytes, 0)
	}
	o = findName(t, inv, TypeUnixStream, lname)
	checkEndpoints(t, o, ep(me, lfd, AccessReadWrite))
	checkValue(t, o, "backlog", o.Attributes.Backlog, 2)
	checkValue(t, o, "backlog limit", o.Attributes.BacklogLimit, 7)
	if o.Attributes.State != "listen" || !o.Attributes.Abstract {
		t.Errorf("listener: %+v", o.Attributes)
	}

	o = findEndpoint(t, inv, TypeEventfd, me, efd)
	checkEndpoints(t, o, ep(me, efd, AccessReadWrite), ep(cp, eventChildFD, AccessReadWrite))
	checkValue(t, o, "count", o.Attributes.EventfdCount, 3)
	o = findEndpoint(t, inv, TypeSignalfd, me, sfd)
	checkValue(t, o, "mask", o.Attributes.SignalMask, 1<<(unix.SIGUSR2-1))

	o = find(t, inv, TypePosixShm, memfdIno)
	if o.Name != fmt.Sprintf("memfd:ipcwatch-test-%d", me) || o.Attributes.Kind != "memfd" {
		t.Errorf("memfd: %q %+v", o.Name, o.Attributes)
	}
	checkEndpoints(t, o, ep(me, mfd, AccessReadWrite), ep(cp, memfdChildFD, AccessReadWrite))
	checkValue(t, o, "size", o.Attributes.SizeBytes, 4096)

	o = find(t, inv, TypePosixShm, shmIno)
	if o.Name != shmName || o.Attributes.Kind != "shm" || o.Attributes.Namespace == 0 {
		t.Errorf("/dev/shm object: %q %+v", o.Name, o.Attributes)
	}
	checkEndpoints(t, o, ep(me, NoFD, AccessReadWrite), ep(cp, shmChildFD, AccessReadWrite), ep(cp, NoFD, AccessReadWrite))
	checkValue(t, o, "size", o.Attributes.SizeBytes, 12288)
	if len(inv.ShmFS) == 0 || inv.ShmFS[0].TotalBytes == 0 {
		t.Errorf("/dev/shm file systems: %+v", inv.ShmFS)
	}

	o = find(t, inv, TypeMmap, dataIno)
	if o.Name != dataPath {
		t.Errorf("mmap name %q, want %q", o.Name, dataPath)
	}
	checkEndpoints(t, o, ep(me, NoFD, AccessRead), ep(cp, NoFD, AccessReadWrite))
	checkValue(t, o, "size", o.Attributes.SizeBytes, 8192)
	checkValue(t, o, "attached", o.Attributes.Attached, 2)

	ipcns := ownNS("ipc")
	o = find(t, inv, TypeSysVMsg, uint64(msqid))
	checkValue(t, o, "messages", o.Attributes.Messages, 2)
	checkValue(t, o, "bytes", o.Attributes.QueuedBytes, 13)
	checkValue(t, o, "last sender", o.Attributes.LastSendPID, me)
	checkValue(t, o, "key", o.Attributes.Key, 0)
	checkValue(t, o, "mode", o.Attributes.Mode, 0o600)
	if o.Attributes.Namespace != ipcns {
		t.Errorf("sysv_msg namespace %d, want %d", o.Attributes.Namespace, ipcns)
	}
	if v, err := readParsed("/proc/sys/kernel/msgmnb", parseUints); err == nil {
		checkValue(t, o, "capacity", o.Attributes.CapacityBytes, v[0])
	}
	o = find(t, inv, TypeSysVShm, uint64(shmid))
	checkValue(t, o, "size", o.Attributes.SizeBytes, 8192)
	checkValue(t, o, "attached", o.Attributes.Attached, 2)
	checkValue(t, o, "creator", o.Attributes.CreatorPID, me)
	checkEndpoints(t, o, ep(me, NoFD, AccessReadWrite), ep(cp, NoFD, AccessReadWrite))
	o = find(t, inv, TypeSysVSem, uint64(semid))
	checkValue(t, o, "semaphores", o.Attributes.Semaphores, 3)

	o = findName(t, inv, TypePosixMQ, mqName)
	checkEndpoints(t, o, ep(me, mqfd, AccessReadWrite), ep(cp, mqChildFD, AccessReadWrite))
	checkValue(t, o, "messages", o.Attributes.Messages, 2)
	checkValue(t, o, "max messages", o.Attributes.MaxMessages, 5)
	checkValue(t, o, "message size", o.Attributes.MessageSize, 64)
	checkValue(t, o, "bytes", o.Attributes.QueuedBytes, 30)
	checkValue(t, o, "notify pid", o.Attributes.NotifyPID, 0)

	var sysv *SysV
	for i := range inv.SysV {
		if inv.SysV[i].Namespace == ipcns {
			sysv = &inv.SysV[i]
		}
	}
	if sysv == nil || sysv.MsgQueues == 0 || sysv.ShmSegments == 0 || sysv.SemSets == 0 || sysv.MsgMni == 0 || sysv.SemMsl == 0 {
		t.Errorf("System V usage of this namespace: %+v", sysv)
	}
	if len(inv.Missing) != 0 {
		t.Errorf("missing: %+v", inv.Missing)
	}
}

func findEndpoint(t *testing.T, inv *Inventory, typ string, pid, fd int) Object {
	t.Helper()
	for _, o := range inv.Objects {
		if o.Type == typ && slices.ContainsFunc(o.Endpoints, func(e Endpoint) bool { return e.PID == pid && e.FD == fd }) {
			return o
		}
	}
	t.Fatalf("no %s held by %d/%d", typ, pid, fd)
	return Object{}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
