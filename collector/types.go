package collector

import (
	"encoding/json"
	"log/slog"
	"slices"

	"github.com/ipcwatch/ipcwatch/probes"
)

// Object types: the mechanism names used everywhere in ipcwatch, plus
// signalfd, whose holders the inventory lists next to eventfd's.
const (
	TypePipe          = "pipe"
	TypeFIFO          = "fifo"
	TypeUnixStream    = "unix_stream"
	TypeUnixDgram     = "unix_dgram"
	TypeUnixSeqpacket = "unix_seqpacket"
	TypePosixMQ       = "posix_mq"
	TypeSysVMsg       = "sysv_msg"
	TypeSysVShm       = "sysv_shm"
	TypeSysVSem       = "sysv_sem"
	TypePosixShm      = "posix_shm"
	TypeEventfd       = "eventfd"
	TypeSignalfd      = "signalfd"
	TypeMmap          = "mmap"
)

// KindSignal selects the per-process signal sets (Inventory.Signals); it is a
// kind to collect, not an object type.
const KindSignal = "signal"

// Types lists every object type, in the order ls prints them.
var Types = []string{
	TypePipe, TypeFIFO, TypeUnixStream, TypeUnixDgram, TypeUnixSeqpacket,
	TypePosixMQ, TypeSysVMsg, TypeSysVShm, TypeSysVSem, TypePosixShm,
	TypeEventfd, TypeSignalfd, TypeMmap,
}

// Kinds lists everything Options.Kinds may name: every type and KindSignal.
var Kinds = append(slices.Clone(Types), KindSignal)

// Access modes of an endpoint.
const (
	AccessRead      = "r"
	AccessWrite     = "w"
	AccessReadWrite = "rw"
)

// NoFD is Endpoint.FD for a process that holds an object through a memory
// mapping (mmap, posix_shm, sysv_shm attach) rather than a file descriptor.
const NoFD = -1

// Endpoint is one process holding an object.
type Endpoint struct {
	PID    int    `json:"pid"`
	Comm   string `json:"comm"`
	FD     int    `json:"fd"`     // NoFD for a mapping; null in JSON
	Access string `json:"access"` // AccessRead, AccessWrite or AccessReadWrite
}

// MarshalJSON writes fd as null for a mapping.
func (e Endpoint) MarshalJSON() ([]byte, error) {
	var fd *int
	if e.FD != NoFD {
		fd = &e.FD
	}
	return json.Marshal(struct {
		PID    int    `json:"pid"`
		Comm   string `json:"comm"`
		FD     *int   `json:"fd"`
		Access string `json:"access"`
	}{e.PID, e.Comm, fd, e.Access})
}

// UnmarshalJSON reads fd null as NoFD.
func (e *Endpoint) UnmarshalJSON(b []byte) error {
	var v struct {
		PID    int    `json:"pid"`
		Comm   string `json:"comm"`
		FD     *int   `json:"fd"`
		Access string `json:"access"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Endpoint{PID: v.PID, Comm: v.Comm, FD: NoFD, Access: v.Access}
	if v.FD != nil {
		e.FD = *v.FD
	}
	return nil
}

// Attributes are the type-specific facts about an object. A nil pointer is a
// value that is unknown (pipe bytes queued without BPF) or does not apply;
// it is never reported as 0. In JSON each type has a fixed set of keys
// (attributeKeys) and an unknown value is null.
type Attributes struct {
	// Queues: pipe and fifo buffer, posix_mq and sysv_msg bytes queued.
	QueuedBytes   *uint64 `json:"queued_bytes"`
	CapacityBytes *uint64 `json:"capacity_bytes"` // pipe, fifo buffer size; sysv_msg qbytes limit
	Messages      *uint64 `json:"messages"`       // posix_mq, sysv_msg messages queued
	MaxMessages   *uint64 `json:"max_messages"`   // posix_mq mq_maxmsg
	MessageSize   *uint64 `json:"message_size"`   // posix_mq mq_msgsize

	// Memory: posix_shm, memfd, sysv_shm, mmap file size.
	SizeBytes *uint64 `json:"size_bytes"`
	Attached  *uint64 `json:"attached"` // sysv_shm nattch; mmap processes mapping
	// Semaphores is the number of semaphores in a sysv_sem set.
	Semaphores *uint64 `json:"semaphores"`

	// Unix sockets.
	State          string  `json:"state"`             // listen, established, unconnected, ...
	Backlog        *uint64 `json:"backlog"`           // listening: connections waiting
	BacklogLimit   *uint64 `json:"backlog_limit"`     // listening: listen() backlog
	RecvQueueBytes *uint64 `json:"recv_queue_bytes"`  // bytes (stream) waiting to be read
	SendQueueBytes *uint64 `json:"send_queue_bytes"`  // bytes written, not yet read by the peer
	Abstract       bool    `json:"abstract"`          // name is in the abstract namespace (shown with @)
	EventfdCount   *uint64 `json:"eventfd_count"`     // eventfd counter
	SignalMask     *uint64 `json:"signal_mask"`       // signalfd: signals it accepts (bit n-1 = signal n)
	Deleted        bool    `json:"deleted,omitempty"` // posix_shm/memfd/mmap: file unlinked
	Kind           string  `json:"kind,omitempty"`    // posix_shm: "shm" or "memfd"

	// System V and POSIX mq.
	Key         *int32  `json:"key"`           // System V key (0 is IPC_PRIVATE)
	SysVID      *int    `json:"sysv_id"`       // System V id (also Object.ID)
	NotifyPID   *int    `json:"notify_pid"`    // posix_mq: process registered with mq_notify
	CreatorPID  *int    `json:"creator_pid"`   // sysv_shm cpid, sysv_msg none
	LastPID     *int    `json:"last_pid"`      // sysv_shm lpid, sysv_msg lrpid
	LastSendPID *int    `json:"last_send_pid"` // sysv_msg lspid
	Owner       *uint32 `json:"owner"`         // uid of the owner
	Mode        *uint32 `json:"mode"`          // permission bits

	// Namespace is the inode of the namespace the object lives in: network
	// for Unix sockets, IPC for System V and posix_mq, mount for /dev/shm.
	// 0 when it is not per namespace (pipes, memfd, eventfd).
	Namespace uint64 `json:"namespace"`
}

// attributeKeys is the stable JSON schema: the attribute keys of each type.
var attributeKeys = map[string][]string{
	TypePipe:          {"queued_bytes", "capacity_bytes"},
	TypeFIFO:          {"queued_bytes", "capacity_bytes"},
	TypeUnixStream:    unixKeys,
	TypeUnixDgram:     unixKeys,
	TypeUnixSeqpacket: unixKeys,
	TypePosixMQ:       {"messages", "max_messages", "message_size", "queued_bytes", "notify_pid", "owner", "mode", "namespace"},
	TypeSysVMsg:       {"key", "sysv_id", "messages", "queued_bytes", "capacity_bytes", "owner", "mode", "last_send_pid", "last_pid", "namespace"},
	TypeSysVShm:       {"key", "sysv_id", "size_bytes", "attached", "owner", "mode", "creator_pid", "last_pid", "namespace"},
	TypeSysVSem:       {"key", "sysv_id", "semaphores", "owner", "mode", "namespace"},
	TypePosixShm:      {"kind", "size_bytes", "deleted", "namespace"},
	TypeEventfd:       {"eventfd_count"},
	TypeSignalfd:      {"signal_mask"},
	TypeMmap:          {"size_bytes", "attached", "deleted"},
}

var unixKeys = []string{"state", "abstract", "recv_queue_bytes", "send_queue_bytes", "backlog", "backlog_limit", "namespace"}

// AttributeKeys returns the JSON attribute keys of an object type.
func AttributeKeys(typ string) []string { return slices.Clone(attributeKeys[typ]) }

// Object is one live IPC object and the processes holding it.
type Object struct {
	Type       string     `json:"type"`       // one of Types
	ID         uint64     `json:"id"`         // inode for fd-based objects, kernel id for System V
	Name       string     `json:"name"`       // path or name; "" if none
	Attributes Attributes `json:"attributes"` // type-specific
	Peer       *uint64    `json:"peer"`       // connected socket: the peer socket's id
	Endpoints  []Endpoint `json:"endpoints"`  // never nil in JSON
}

// MarshalJSON writes the stable schema: only the attribute keys of the
// object's type, unknown values as null.
func (o Object) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(o.Attributes)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, err
	}
	attrs := make(map[string]json.RawMessage, len(attributeKeys[o.Type]))
	for _, k := range attributeKeys[o.Type] {
		if v, ok := all[k]; ok {
			attrs[k] = v
		} else {
			attrs[k] = json.RawMessage("null")
		}
	}
	eps := o.Endpoints
	if eps == nil {
		eps = []Endpoint{}
	}
	return json.Marshal(struct {
		Type       string                     `json:"type"`
		ID         uint64                     `json:"id"`
		Name       string                     `json:"name"`
		Attributes map[string]json.RawMessage `json:"attributes"`
		Peer       *uint64                    `json:"peer"`
		Endpoints  []Endpoint                 `json:"endpoints"`
	}{o.Type, o.ID, o.Name, attrs, o.Peer, eps})
}

// ShmFS is the /dev/shm file system of one mount namespace.
type ShmFS struct {
	MountNS    uint64 `json:"mount_namespace"`
	Path       string `json:"path"` // as read, e.g. /proc/1/root/dev/shm
	UsedBytes  uint64 `json:"used_bytes"`
	TotalBytes uint64 `json:"total_bytes"`
}

// SysV is the System V limits and usage of one IPC namespace, from
// /proc/sys/kernel and /proc/sysvipc read inside that namespace.
type SysV struct {
	Namespace uint64 `json:"namespace"`
	// Limits.
	MsgMni uint64 `json:"msgmni"` // max queues
	MsgMax uint64 `json:"msgmax"` // max message size
	MsgMnb uint64 `json:"msgmnb"` // default max bytes per queue
	ShmMax uint64 `json:"shmmax"` // max segment size, bytes
	ShmAll uint64 `json:"shmall"` // max total shared memory, pages
	ShmMni uint64 `json:"shmmni"` // max segments
	SemMsl uint64 `json:"semmsl"` // max semaphores per set
	SemMns uint64 `json:"semmns"` // max semaphores in total
	SemOpm uint64 `json:"semopm"` // max operations per semop
	SemMni uint64 `json:"semmni"` // max sets
	// Usage.
	MsgQueues     uint64 `json:"msg_queues"`
	MsgMessages   uint64 `json:"msg_messages"`
	MsgBytes      uint64 `json:"msg_bytes"`
	ShmSegments   uint64 `json:"shm_segments"`
	ShmBytes      uint64 `json:"shm_bytes"`
	SemSets       uint64 `json:"sem_sets"`
	SemSemaphores uint64 `json:"sem_semaphores"`
}

// SignalSets are one process's signal masks from /proc/PID/status: bit n-1
// stands for signal n.
type SignalSets struct {
	PID     int    `json:"pid"`
	Comm    string `json:"comm"`
	Pending uint64 `json:"pending"` // SigPnd | ShdPnd
	Blocked uint64 `json:"blocked"`
	Ignored uint64 `json:"ignored"`
	Caught  uint64 `json:"caught"`
	// QueuedSignals and QueueLimit are SigQ: real-time signals queued for
	// the owner's uid and its limit.
	QueuedSignals uint64 `json:"queued_signals"`
	QueueLimit    uint64 `json:"queue_limit"`
}

// Missing is something the inventory could not see, and why.
type Missing struct {
	What string `json:"what"` // "posix_mq in ipc namespace 4026531839", "pipe queued bytes"
	Why  string `json:"why"`  // "needs root", "no BPF pipe buffer source"
}

// Inventory is everything one Collect saw.
type Inventory struct {
	Objects []Object `json:"objects"`
	// Processes is how many processes were scanned; Unreadable how many of
	// them could not be read (no permission: run as root).
	Processes  int          `json:"processes"`
	Unreadable int          `json:"unreadable"`
	ShmFS      []ShmFS      `json:"shm_fs"`
	SysV       []SysV       `json:"sysv"`
	Signals    []SignalSets `json:"signals"`
	Missing    []Missing    `json:"missing"`
}

// PipeBufferSource gives the bytes queued in every pipe and FIFO, keyed by
// inode (*probes.Probes does, from a BPF task_file iterator).
type PipeBufferSource interface {
	PipeBuffers() (map[uint64]probes.PipeBuffer, error)
}

// Options say what to collect and where to read it.
type Options struct {
	// ProcRoot is the procfs mount to read (--path.procfs); "" is /proc.
	ProcRoot string
	// Kinds lists what to collect (Kinds); nil collects everything.
	Kinds []string
	// PipeBuffers gives bytes queued in pipes and FIFOs; nil leaves them
	// unknown.
	PipeBuffers PipeBufferSource
	// ReopenPipes, without PipeBuffers, reads bytes queued and capacity by
	// reopening each pipe read-only through /proc/PID/fd/N (see
	// pipesAndFIFOs for why that is safe); otherwise they stay unknown.
	ReopenPipes bool
	// Logger gets debug lines about what is absent; nil discards them.
	Logger *slog.Logger
}
