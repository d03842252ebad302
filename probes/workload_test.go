package probes

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The child workloads: each performs a known number of operations of known
// sizes on one mechanism, with raw syscalls, then exits.
const (
	childEnv  = "IPCWATCH_PROBES_CHILD"
	childDir  = "IPCWATCH_PROBES_DIR"
	opsN      = 7    // operations of each kind
	opsSize   = 100  // bytes per operation
	fillBytes = 3000 // bytes left in the pipe of the "fill" child
)

var workloads = map[string]func() error{
	"pipe":           pipeWork,
	"fifo":           fifoWork,
	"unix_stream":    func() error { return unixWork(unix.SOCK_STREAM) },
	"unix_dgram":     func() error { return unixWork(unix.SOCK_DGRAM) },
	"unix_seqpacket": func() error { return unixWork(unix.SOCK_SEQPACKET) },
	"eventfd":        eventfdWork,
	"posix_mq":       posixMQWork,
	"sysv_msg":       sysvMsgWork,
	"sysv_sem":       sysvSemWork,
	"sysv_shm":       sysvShmWork,
	"posix_shm":      posixShmWork,
	"mmap":           mmapWork,
	"signal":         signalWork,
	"fill":           fillWork,
}

func runChild(name string) {
	w, ok := workloads[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown workload", name)
		os.Exit(2)
	}
	if err := w(); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// moveN writes opsN times opsSize bytes with write, then reads them back with read.
func moveN(wfd, rfd int) error {
	buf := make([]byte, opsSize)
	for range opsN {
		if n, err := unix.Write(wfd, buf); err != nil || n != opsSize {
			return fmt.Errorf("write: %d %v", n, err)
		}
		if n, err := unix.Read(rfd, buf); err != nil || n != opsSize {
			return fmt.Errorf("read: %d %v", n, err)
		}
	}
	return nil
}

func pipeWork() error {
	p := make([]int, 2)
	if err := unix.Pipe2(p, 0); err != nil {
		return err
	}
	if err := moveN(p[1], p[0]); err != nil {
		return err
	}
	// splice: from a pipe into a second pipe (splice_write on the second),
	// tee copies between them, vmsplice writes into one.
	q := make([]int, 2)
	if err := unix.Pipe2(q, 0); err != nil {
		return err
	}
	buf := make([]byte, opsSize)
	if _, err := unix.Write(p[1], buf); err != nil {
		return err
	}
	if n, err := unix.Splice(p[0], nil, q[1], nil, opsSize, 0); err != nil || n != opsSize {
		return fmt.Errorf("splice: %d %v", n, err)
	}
	if n, err := unix.Tee(q[0], p[1], opsSize, 0); err != nil || n != opsSize {
		return fmt.Errorf("tee: %d %v", n, err)
	}
	iov := []unix.Iovec{{Base: &buf[0], Len: opsSize}}
	if n, err := unix.Vmsplice(p[1], iov, 0); err != nil || n != opsSize {
		return fmt.Errorf("vmsplice: %d %v", n, err)
	}
	return nil
}

func fifoWork() error {
	path := filepath.Join(os.Getenv(childDir), "fifo")
	if err := unix.Mknodat(unix.AT_FDCWD, path, unix.S_IFIFO|0o600, 0); err != nil {
		return err
	}
	fd, err := unix.Open(path, unix.O_RDWR, 0)
	if err != nil {
		return err
	}
	return moveN(fd, fd)
}

func unixWork(typ int) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, typ, 0)
	if err != nil {
		return err
	}
	return sendRecvN(fds[0], fds[1])
}

// sendRecvN sends opsN times opsSize bytes from a to b with sendto and
// recvfrom, and back with sendmsg and recvmsg.
func sendRecvN(a, b int) error {
	buf := make([]byte, opsSize)
	for range opsN {
		if err := unix.Sendto(a, buf, 0, nil); err != nil {
			return err
		}
		if n, _, err := unix.Recvfrom(b, buf, 0); err != nil || n != opsSize {
			return fmt.Errorf("recvfrom: %d %v", n, err)
		}
		if n, err := unix.SendmsgN(b, buf, nil, nil, 0); err != nil || n != opsSize {
			return fmt.Errorf("sendmsg: %d %v", n, err)
		}
		if n, _, _, _, err := unix.Recvmsg(a, buf, nil, 0); err != nil || n != opsSize {
			return fmt.Errorf("recvmsg: %d %v", n, err)
		}
	}
	return nil
}

func eventfdWork() error {
	fd, err := unix.Eventfd(0, 0)
	if err != nil {
		return err
	}
	return moveEventfd(fd)
}

func moveEventfd(fd int) error {
	buf := make([]byte, 8)
	buf[0] = 1
	for range opsN {
		if _, err := unix.Write(fd, buf); err != nil {
			return err
		}
		if _, err := unix.Read(fd, buf); err != nil {
			return err
		}
	}
	return nil
}

func posixMQWork() error {
	name, _ := unix.BytePtrFromString("ipcwatch-probes-test")
	attr := struct{ flags, maxmsg, msgsize, curmsgs int64 }{0, 8, opsSize, 0}
	fd, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(name)),
		unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600, uintptr(unsafe.Pointer(&attr)), 0, 0)
	if errno != 0 {
		return errno
	}
	defer unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(name)), 0, 0)
	buf := make([]byte, opsSize)
	for range opsN {
		if _, _, e := unix.Syscall6(unix.SYS_MQ_TIMEDSEND, fd, uintptr(unsafe.Pointer(&buf[0])), opsSize, 0, 0, 0); e != 0 {
			return e
		}
		if n, _, e := unix.Syscall6(unix.SYS_MQ_TIMEDRECEIVE, fd, uintptr(unsafe.Pointer(&buf[0])), opsSize, 0, 0, 0); e != 0 || n != opsSize {
			return fmt.Errorf("mq_timedreceive: %d %v", n, e)
		}
	}
	return nil
}

func sysvMsgWork() error {
	id, _, e := unix.Syscall(unix.SYS_MSGGET, unix.IPC_PRIVATE, unix.IPC_CREAT|0o600, 0)
	if e != 0 {
		return e
	}
	defer unix.Syscall(unix.SYS_MSGCTL, id, unix.IPC_RMID, 0)
	msg := make([]byte, 8+opsSize)
	msg[0] = 1 // mtype
	for range opsN {
		if _, _, e := unix.Syscall6(unix.SYS_MSGSND, id, uintptr(unsafe.Pointer(&msg[0])), opsSize, 0, 0, 0); e != 0 {
			return e
		}
		if n, _, e := unix.Syscall6(unix.SYS_MSGRCV, id, uintptr(unsafe.Pointer(&msg[0])), opsSize, 0, 0, 0); e != 0 || n != opsSize {
			return fmt.Errorf("msgrcv: %d %v", n, e)
		}
	}
	return nil
}

func sysvSemWork() error {
	id, _, e := unix.Syscall(unix.SYS_SEMGET, unix.IPC_PRIVATE, 1, unix.IPC_CREAT|0o600)
	if e != 0 {
		return e
	}
	defer unix.Syscall6(unix.SYS_SEMCTL, id, 0, unix.IPC_RMID, 0, 0, 0)
	ops := [2]struct {
		num  uint16
		op   int16
		flag int16
	}{{0, 1, 0}, {0, -1, 0}}
	for range opsN {
		if _, _, e := unix.Syscall(unix.SYS_SEMOP, id, uintptr(unsafe.Pointer(&ops[0])), 2); e != 0 {
			return e
		}
	}
	return nil
}

func sysvShmWork() error {
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600)
	if err != nil {
		return err
	}
	defer unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	b, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		return err
	}
	b[0] = 1
	return unix.SysvShmDetach(b)
}

func posixShmWork() error {
	path := "/dev/shm/ipcwatch-probes-test"
	fd, err := unix.Openat(unix.AT_FDCWD, path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer unix.Unlink(path)
	if err := mapShared(fd); err != nil {
		return err
	}
	mfd, err := unix.MemfdCreate("ipcwatch-probes", 0)
	if err != nil {
		return err
	}
	return mapShared(mfd)
}

func mmapWork() error {
	fd, err := unix.Open(filepath.Join(os.Getenv(childDir), "mapped"), unix.O_RDWR|unix.O_CREAT, 0o600)
	if err != nil {
		return err
	}
	return mapShared(fd)
}

// mapShared maps 4096 bytes of fd shared, stores to it and unmaps it.
func mapShared(fd int) error {
	if err := unix.Ftruncate(fd, 4096); err != nil {
		return err
	}
	b, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	b[0] = 1
	return unix.Munmap(b)
}

// signalWork sends itself SIGUSR1 opsN times with kill, waiting for each.
func signalWork() error {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	for range opsN {
		if err := unix.Kill(unix.Getpid(), unix.SIGUSR1); err != nil {
			return err
		}
		<-ch
	}
	return nil
}

// fillWork leaves fillBytes in a pipe, says so on stdout and waits for stdin
// to close.
func fillWork() error {
	p := make([]int, 2)
	if err := unix.Pipe2(p, 0); err != nil {
		return err
	}
	if _, err := unix.Write(p[1], make([]byte, fillBytes)); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(p[0], &st); err != nil {
		return err
	}
	fmt.Println(st.Ino)
	_, err := unix.Read(0, make([]byte, 1))
	return err
}
