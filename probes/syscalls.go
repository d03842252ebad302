package probes

import "golang.org/x/sys/unix"

// sysEntry says how one syscall is traced: which group it belongs to, how
// the kernel side classifies it (kind) and under which op name it counts.
type sysEntry struct {
	name  string // syscall name, also the syscalls:sys_enter_NAME tracepoint
	nr    uintptr
	group Group
	kind  syscallsKind
	mech  syscallsMech // for kindFixed
	op    string
	opAlt string // splice and vmsplice: the op when bytes leave the channel
	arg   uint8  // the argument holding the fd, mode or path
	bytes syscallsBytesSrc
	flags syscallsCfgFlags
}

const (
	kindFD       = syscallsKindKIND_FD
	kindFixed    = syscallsKindKIND_FIXED
	kindSocket   = syscallsKindKIND_SOCKET
	kindMknod    = syscallsKindKIND_MKNOD
	kindShmOpen  = syscallsKindKIND_SHM_OPEN
	kindMmap     = syscallsKindKIND_MMAP
	kindSplice   = syscallsKindKIND_SPLICE
	kindTee      = syscallsKindKIND_TEE
	kindVmsplice = syscallsKindKIND_VMSPLICE
	kindMmsg     = syscallsKindKIND_MMSG
	kindFutex    = syscallsKindKIND_FUTEX
	kindSigwait  = syscallsKindKIND_SIGWAIT
	bytesRet     = syscallsBytesSrcBYTES_RET
	bytesArg     = syscallsBytesSrcBYTES_ARG
)

func fdOp(name string, nr uintptr, op string) sysEntry {
	return sysEntry{name: name, nr: nr, group: GroupData, kind: kindFD, op: op, bytes: bytesRet}
}

func fixed(name string, nr uintptr, g Group, mech syscallsMech) sysEntry {
	return sysEntry{name: name, nr: nr, group: g, kind: kindFixed, mech: mech, op: name}
}

func life(name string, nr uintptr, kind syscallsKind, arg uint8) sysEntry {
	return sysEntry{name: name, nr: nr, group: GroupLife, kind: kind, op: name, arg: arg}
}

// syscallTable lists every traced syscall available on all architectures;
// legacySyscalls (per architecture) adds the older ones.
var syscallTable = append([]sysEntry{
	// A read of a signalfd returns signal records: the signals it took.
	{name: "read", nr: unix.SYS_READ, group: GroupData, kind: kindFD, op: "read", bytes: bytesRet, flags: syscallsCfgFlagsCFG_READ_BUF},
	fdOp("write", unix.SYS_WRITE, "write"),
	fdOp("readv", unix.SYS_READV, "readv"),
	fdOp("writev", unix.SYS_WRITEV, "writev"),
	fdOp("pread64", unix.SYS_PREAD64, "pread"),
	fdOp("pwrite64", unix.SYS_PWRITE64, "pwrite"),
	fdOp("sendto", unix.SYS_SENDTO, "send"),
	fdOp("recvfrom", unix.SYS_RECVFROM, "recv"),
	fdOp("sendmsg", unix.SYS_SENDMSG, "sendmsg"),
	fdOp("recvmsg", unix.SYS_RECVMSG, "recvmsg"),
	{name: "sendmmsg", nr: unix.SYS_SENDMMSG, group: GroupData, kind: kindMmsg, op: "sendmmsg"},
	{name: "recvmmsg", nr: unix.SYS_RECVMMSG, group: GroupData, kind: kindMmsg, op: "recvmmsg"},
	{name: "splice", nr: unix.SYS_SPLICE, group: GroupData, kind: kindSplice, op: "splice_write", opAlt: "splice_read", bytes: bytesRet},
	{name: "tee", nr: unix.SYS_TEE, group: GroupData, kind: kindTee, op: "tee", bytes: bytesRet},
	{name: "vmsplice", nr: unix.SYS_VMSPLICE, group: GroupData, kind: kindVmsplice, op: "vmsplice_write", opAlt: "vmsplice_read", bytes: bytesRet},
	{name: "mq_timedsend", nr: unix.SYS_MQ_TIMEDSEND, group: GroupData, kind: kindFD, op: "mq_timedsend", bytes: bytesArg},
	fdOp("mq_timedreceive", unix.SYS_MQ_TIMEDRECEIVE, "mq_timedreceive"),
	{name: "msgsnd", nr: unix.SYS_MSGSND, group: GroupData, kind: kindFixed, mech: syscallsMechMECH_SYSV_MSG, op: "msgsnd", arg: 2, bytes: bytesArg},
	{name: "msgrcv", nr: unix.SYS_MSGRCV, group: GroupData, kind: kindFixed, mech: syscallsMechMECH_SYSV_MSG, op: "msgrcv", bytes: bytesRet},
	// Shared futexes, by the file mapped at their address: the wake-ups of
	// shared memory. futex(2) waits and wakes (and their _BITSET forms),
	// futex_wait and futex_wake (6.7+).
	{name: "futex", nr: unix.SYS_FUTEX, group: GroupData, kind: kindFutex, op: "futex_wait", opAlt: "futex_wake", arg: 1},
	{name: "futex_wait", nr: unix.SYS_FUTEX_WAIT, group: GroupData, kind: kindFutex, op: "futex_wait", arg: 3},
	{name: "futex_wake", nr: unix.SYS_FUTEX_WAKE, group: GroupData, kind: kindFutex, op: "futex_wake", arg: 3},
	fixed("semop", unix.SYS_SEMOP, GroupData, syscallsMechMECH_SYSV_SEM),
	fixed("semtimedop", unix.SYS_SEMTIMEDOP, GroupData, syscallsMechMECH_SYSV_SEM),

	fixed("pipe2", unix.SYS_PIPE2, GroupLife, syscallsMechMECH_PIPE),
	life("mknodat", unix.SYS_MKNODAT, kindMknod, 2),
	life("socket", unix.SYS_SOCKET, kindSocket, 0),
	life("socketpair", unix.SYS_SOCKETPAIR, kindSocket, 0),
	life("bind", unix.SYS_BIND, kindFD, 0),
	life("listen", unix.SYS_LISTEN, kindFD, 0),
	life("connect", unix.SYS_CONNECT, kindFD, 0),
	life("accept", unix.SYS_ACCEPT, kindFD, 0),
	life("accept4", unix.SYS_ACCEPT4, kindFD, 0),
	fixed("mq_open", unix.SYS_MQ_OPEN, GroupLife, syscallsMechMECH_POSIX_MQ),
	fixed("mq_unlink", unix.SYS_MQ_UNLINK, GroupLife, syscallsMechMECH_POSIX_MQ),
	fixed("mq_notify", unix.SYS_MQ_NOTIFY, GroupLife, syscallsMechMECH_POSIX_MQ),
	fixed("msgget", unix.SYS_MSGGET, GroupLife, syscallsMechMECH_SYSV_MSG),
	fixed("msgctl", unix.SYS_MSGCTL, GroupLife, syscallsMechMECH_SYSV_MSG),
	fixed("shmget", unix.SYS_SHMGET, GroupLife, syscallsMechMECH_SYSV_SHM),
	fixed("shmat", unix.SYS_SHMAT, GroupLife, syscallsMechMECH_SYSV_SHM),
	fixed("shmdt", unix.SYS_SHMDT, GroupLife, syscallsMechMECH_SYSV_SHM),
	fixed("shmctl", unix.SYS_SHMCTL, GroupLife, syscallsMechMECH_SYSV_SHM),
	fixed("semget", unix.SYS_SEMGET, GroupLife, syscallsMechMECH_SYSV_SEM),
	fixed("semctl", unix.SYS_SEMCTL, GroupLife, syscallsMechMECH_SYSV_SEM),
	{name: "openat", nr: unix.SYS_OPENAT, group: GroupLife, kind: kindShmOpen, op: "shm_open", arg: 1},
	fixed("memfd_create", unix.SYS_MEMFD_CREATE, GroupLife, syscallsMechMECH_POSIX_SHM),
	fixed("eventfd2", unix.SYS_EVENTFD2, GroupLife, syscallsMechMECH_EVENTFD),
	{name: "mmap", nr: unix.SYS_MMAP, group: GroupLife, kind: kindMmap, op: "mmap", bytes: bytesArg},

	fixed("kill", unix.SYS_KILL, GroupSignal, syscallsMechMECH_SIGNAL),
	fixed("tkill", unix.SYS_TKILL, GroupSignal, syscallsMechMECH_SIGNAL),
	fixed("tgkill", unix.SYS_TGKILL, GroupSignal, syscallsMechMECH_SIGNAL),
	fixed("rt_sigqueueinfo", unix.SYS_RT_SIGQUEUEINFO, GroupSignal, syscallsMechMECH_SIGNAL),
	fixed("rt_tgsigqueueinfo", unix.SYS_RT_TGSIGQUEUEINFO, GroupSignal, syscallsMechMECH_SIGNAL),
	fixed("pidfd_send_signal", unix.SYS_PIDFD_SEND_SIGNAL, GroupSignal, syscallsMechMECH_SIGNAL),
	// sigwaitinfo and sigtimedwait: the signal returned was taken without
	// signal_deliver.
	{name: "rt_sigtimedwait", nr: unix.SYS_RT_SIGTIMEDWAIT, group: GroupSignal, kind: kindSigwait, mech: syscallsMechMECH_SIGNAL, op: "rt_sigtimedwait"},
}, legacySyscalls...)

// mechNames maps the kernel side's mechanism ids to their names.
var mechNames = map[syscallsMech]string{
	syscallsMechMECH_PIPE:           MechPipe,
	syscallsMechMECH_FIFO:           MechFIFO,
	syscallsMechMECH_UNIX_STREAM:    MechUnixStream,
	syscallsMechMECH_UNIX_DGRAM:     MechUnixDgram,
	syscallsMechMECH_UNIX_SEQPACKET: MechUnixSeqpacket,
	syscallsMechMECH_SIGNAL:         MechSignal,
	syscallsMechMECH_POSIX_MQ:       MechPosixMQ,
	syscallsMechMECH_SYSV_MSG:       MechSysvMsg,
	syscallsMechMECH_POSIX_SHM:      MechPosixShm,
	syscallsMechMECH_SYSV_SHM:       MechSysvShm,
	syscallsMechMECH_SYSV_SEM:       MechSysvSem,
	syscallsMechMECH_MMAP:           MechMmap,
	syscallsMechMECH_EVENTFD:        MechEventfd,
	syscallsMechMECH_TCP:            MechTCP,
}

// maxOps is MAX_OPS of syscalls.bpf.c: op ids are below it.
const maxOps = 64

// opNames[id] is the name of op id; id 0 is unused.
var opNames, opIDs = func() ([]string, map[string]uint8) {
	names := []string{""}
	ids := map[string]uint8{}
	add := func(op string) {
		if op == "" || ids[op] != 0 {
			return
		}
		ids[op] = uint8(len(names))
		names = append(names, op)
	}
	for _, e := range syscallTable {
		add(e.op)
		add(e.opAlt)
	}
	if len(names) > maxOps {
		panic("probes: more ops than MAX_OPS")
	}
	return names, ids
}()

func (e sysEntry) cfg() syscallsSyscallCfg {
	return syscallsSyscallCfg{
		Kind: uint8(e.kind), Mech: uint8(e.mech), Op: opIDs[e.op], OpAlt: opIDs[e.opAlt],
		Arg: e.arg, Bytes: uint8(e.bytes), Flags: uint8(e.flags),
	}
}
