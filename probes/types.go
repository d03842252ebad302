package probes

import "errors"

// Group selects a set of probes to load.
type Group string

// The groups of probes. An empty Options.Groups loads them all.
const (
	// GroupData traces the syscalls that move data through an IPC channel:
	// read/write and friends on pipes, FIFOs, Unix sockets, eventfds and
	// TCP sockets connected to a loopback address (tcp),
	// splice/vmsplice/tee, mq_timedsend/mq_timedreceive, msgsnd/msgrcv, semop,
	// and the shared futexes that wake processes sharing memory (futex_wait
	// and futex_wake, counted as posix_shm, sysv_shm or mmap by the file
	// mapped at the futex's address).
	GroupData Group = "data"
	// GroupLife traces the syscalls that create, open, attach and remove IPC
	// objects: pipe2, mknodat, socket, socketpair, bind, mq_open, shmget, ...
	GroupLife Group = "life"
	// GroupSignal traces the signal-sending syscalls, the
	// signal_generate/signal_deliver tracepoints and rt_sigtimedwait; with
	// GroupData, reads of signalfds count the signals they take too.
	GroupSignal Group = "signal"
	// GroupPipeIter loads the task_file iterator behind PipeBuffers.
	GroupPipeIter Group = "pipe_iter"
)

// AllGroups lists every group, in the order Load attaches them.
var AllGroups = []Group{GroupData, GroupLife, GroupSignal, GroupPipeIter}

// Hook selects how the syscall probes attach.
type Hook string

const (
	// HookAuto uses HookRaw where tp_btf programs load and attach (kernels
	// with BTF, 5.5+) and HookSyscallTracepoints elsewhere.
	HookAuto Hook = ""
	// HookRaw attaches one BTF raw tracepoint on sys_enter and one on
	// sys_exit; a table indexed by syscall number tells which to aggregate.
	HookRaw Hook = "raw"
	// HookSyscallTracepoints attaches to the syscalls:sys_enter_NAME and
	// sys_exit_NAME tracepoints of each traced syscall only.
	HookSyscallTracepoints Hook = "tracepoint"
)

// Options says which probes Load attaches.
type Options struct {
	// Groups to load; empty means AllGroups.
	Groups []Group
	// Hook for the syscall probes; empty (HookAuto) picks the fastest that
	// works.
	Hook Hook
}

// The mechanism names, as used everywhere in ipcwatch.
const (
	MechPipe          = "pipe"
	MechFIFO          = "fifo"
	MechUnixStream    = "unix_stream"
	MechUnixDgram     = "unix_dgram"
	MechUnixSeqpacket = "unix_seqpacket"
	MechSignal        = "signal"
	MechPosixMQ       = "posix_mq"
	MechSysvMsg       = "sysv_msg"
	MechPosixShm      = "posix_shm"
	MechSysvShm       = "sysv_shm"
	MechSysvSem       = "sysv_sem"
	MechMmap          = "mmap"
	MechEventfd       = "eventfd"
	// MechTCP is TCP between processes of the host: connected sockets
	// whose peer address is loopback (127.0.0.0/8, ::1, ::ffff:127.x).
	MechTCP = "tcp"
)

// Direction says whether an operation moves bytes into a channel or out of it.
type Direction string

const (
	// DirectionNone: the operation moves no payload (creation, control).
	DirectionNone Direction = ""
	// DirectionWrite: bytes go into the channel.
	DirectionWrite Direction = "write"
	// DirectionRead: bytes come out of the channel.
	DirectionRead Direction = "read"
)

// OpDirection returns the direction of an operation name as it appears in
// Snapshot (e.g. "write", "sendmsg", "mq_timedsend" are DirectionWrite).
func OpDirection(op string) Direction { return opDirection(op) }

// HistogramBuckets is the number of buckets of every Histogram.
const HistogramBuckets = 40

// Histogram is a log2 histogram of nanoseconds. Buckets[i] counts the values
// v with 2^i <= v < 2^(i+1) (bucket 0 also counts 0); the last bucket also
// counts everything larger. Count and Sum are the number and the sum of all
// observed values.
type Histogram struct {
	Buckets [HistogramBuckets]uint64
	Count   uint64
	Sum     uint64 // nanoseconds
}

// BucketUpperBound returns the exclusive upper bound of bucket i, in
// nanoseconds: 2^(i+1).
func BucketUpperBound(i int) uint64 { return 1 << (i + 1) }

// OpCounters are the calls, failed calls, bytes and time in the calls of one
// operation on one mechanism by one process (thread group).
type OpCounters struct {
	Mechanism string
	Op        string
	PID       uint32
	Comm      string
	Calls     uint64
	Errors    uint64 // calls that returned a negative value
	Bytes     uint64 // bytes moved by successful calls
	// Nanos is the time spent in the calls, from syscall entry to exit,
	// summed over the process's threads: how long they were blocked.
	Nanos uint64
}

// OpLatency is the histogram of time spent in the syscall (enter to exit)
// for one operation on one mechanism, over all processes.
type OpLatency struct {
	Mechanism string
	Op        string
	Histogram Histogram
}

// SignalCount counts one signal number sent by one process to another.
type SignalCount struct {
	Signal       int
	SenderPID    uint32
	SenderComm   string
	ReceiverPID  uint32
	ReceiverComm string
	Generated    uint64 // signal_generate events (including ignored ones)
	// Delivered counts this sender's signals delivered to a handler or
	// default action (signal_deliver), or taken synchronously: returned by
	// rt_sigtimedwait (sigwaitinfo, sigtimedwait) or read from a signalfd.
	Delivered uint64
}

// SignalLatency is the histogram of delivery latency of one signal number:
// from signal_generate to signal_deliver, or to the return of the
// rt_sigtimedwait or signalfd read that took it.
type SignalLatency struct {
	Signal    int
	Histogram Histogram
}

// ProbeStatus says whether one probe attached, and why not.
type ProbeStatus struct {
	Name     string // e.g. "tp_btf/sys_enter", "iter/task_file"
	Attached bool
	Error    string
}

// MapDrops counts the entries a BPF map lost because it was full; for
// "futex_vma", the futex calls not counted because their address space was
// locked when the probe looked up the mapping.
type MapDrops struct {
	Map     string
	Dropped uint64
}

// Snapshot is what the probes aggregated since Load, as plain values.
type Snapshot struct {
	// Hook is the hook of the syscall probes in use; empty when no syscall
	// group is loaded.
	Hook          Hook
	Ops           []OpCounters
	Latency       []OpLatency
	Signals       []SignalCount
	SignalLatency []SignalLatency
	Probes        []ProbeStatus
	Drops         []MapDrops
}

// ForPID returns the counters of one process.
func (s *Snapshot) ForPID(pid uint32) []OpCounters {
	var out []OpCounters
	for _, c := range s.Ops {
		if c.PID == pid {
			out = append(out, c)
		}
	}
	return out
}

// Counters returns the counters of one (mechanism, op, pid), zero if none.
func (s *Snapshot) Counters(mechanism, op string, pid uint32) OpCounters {
	for _, c := range s.Ops {
		if c.Mechanism == mechanism && c.Op == op && c.PID == pid {
			return c
		}
	}
	return OpCounters{Mechanism: mechanism, Op: op, PID: pid}
}

// PipeBuffer is the fill of one pipe or FIFO, keyed by inode number.
type PipeBuffer struct {
	Inode, Queued, Capacity uint64
}

// ErrNotLoaded is returned by methods of Probes whose group was not loaded.
var ErrNotLoaded = errors.New("probe group not loaded")
