package collector

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
)

// Collector builds inventories. It is safe for one Collect at a time.
type Collector struct {
	opts   Options
	log    *slog.Logger
	logged sync.Map // what absences were already logged at debug
	// scratch holds *scratch buffers for the scan workers, reused across
	// inventories.
	scratch sync.Pool
	// noProcmapQuery is set once the kernel refused PROCMAP_QUERY.
	noProcmapQuery atomic.Bool
}

// New returns a Collector for the given options.
func New(opts Options) *Collector {
	if opts.ProcRoot == "" {
		opts.ProcRoot = "/proc"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Collector{opts: opts, log: opts.Logger}
}

// ValidKind tells whether name is something Options.Kinds may hold.
func ValidKind(name string) bool { return slices.Contains(Kinds, name) }

// build is the state of one Collect.
type build struct {
	c     *Collector
	inv   *Inventory
	procs []*process
	want  map[string]bool
	u64s  []uint64 // backs the pointers u64 returns
}

// Collect takes one inventory of the host. What cannot be seen (a namespace
// that cannot be entered, a missing kernel feature) is reported in
// Inventory.Missing, not as an error.
func (c *Collector) Collect(ctx context.Context) (*Inventory, error) {
	want := map[string]bool{}
	for _, k := range c.opts.Kinds {
		if !ValidKind(k) {
			return nil, fmt.Errorf("unknown kind %q", k)
		}
		want[k] = true
	}
	if len(want) == 0 {
		for _, k := range Kinds {
			want[k] = true
		}
	}
	any := func(kinds ...string) bool {
		return slices.ContainsFunc(kinds, func(k string) bool { return want[k] })
	}
	w := scanWants{
		fds: any(TypePipe, TypeFIFO, TypeUnixStream, TypeUnixDgram, TypeUnixSeqpacket,
			TypePosixMQ, TypePosixShm, TypeEventfd, TypeSignalfd),
		maps:    any(TypePosixShm, TypeSysVShm, TypeMmap),
		signals: want[KindSignal],
	}
	procs, total, unreadable, err := c.scan(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("scanning processes in %s: %w", c.opts.ProcRoot, err)
	}
	b := &build{c: c, inv: &Inventory{Processes: total, Unreadable: unreadable}, procs: procs, want: want}
	// Most objects are held through an fd or a mapping: room for them all
	// at once.
	n := 0
	for _, p := range procs {
		n += len(p.FDs) + len(p.Maps)
	}
	b.inv.Objects = make([]Object, 0, n+64)
	if any(TypePipe, TypeFIFO) {
		b.pipesAndFIFOs()
	}
	if any(TypeUnixStream, TypeUnixDgram, TypeUnixSeqpacket) {
		b.unixSockets()
	}
	if any(TypePosixMQ, TypeSysVMsg, TypeSysVShm, TypeSysVSem) {
		b.ipcNamespaces()
	}
	if want[TypePosixShm] {
		b.posixShm()
	}
	if any(TypeEventfd, TypeSignalfd) {
		b.eventfdsAndSignalfds()
	}
	if want[TypeMmap] {
		b.mmaps()
	}
	if want[KindSignal] {
		b.signals()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inv := b.inv
	inv.Objects = slices.DeleteFunc(inv.Objects, func(o Object) bool { return !want[o.Type] })
	sortObjects(inv.Objects)
	for i := range inv.Objects {
		sortEndpoints(inv.Objects[i].Endpoints)
	}
	// Empty lists, not null, in JSON.
	inv.Objects = nonNil(inv.Objects)
	inv.ShmFS, inv.SysV, inv.Signals, inv.Missing = nonNil(inv.ShmFS), nonNil(inv.SysV), nonNil(inv.Signals), nonNil(inv.Missing)
	return inv, nil
}

// typeRank is the place of each type in Types.
var typeRank = func() map[string]int {
	m := map[string]int{}
	for i, t := range Types {
		m[t] = i
	}
	return m
}()

// sortObjects sorts objects by type (in the order of Types), namespace, id
// and name, keeping the order they were found in otherwise. Objects are
// large: small keys are sorted, then the objects are moved once each.
func sortObjects(objs []Object) {
	type key struct {
		rank   int
		ns, id uint64
		name   string
		i      int
	}
	keys := make([]key, len(objs))
	for i, o := range objs {
		keys[i] = key{typeRank[o.Type], o.Attributes.Namespace, o.ID, o.Name, i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.ns, b.ns), cmp.Compare(a.id, b.id),
			cmp.Compare(a.name, b.name), cmp.Compare(a.i, b.i))
	})
	// Position j takes the object at keys[j].i: follow each cycle of the
	// permutation, marking the places filled with i = -1.
	for start := range keys {
		if keys[start].i < 0 || keys[start].i == start {
			continue
		}
		tmp := objs[start]
		j := start
		for {
			src := keys[j].i
			keys[j].i = -1
			if src == start {
				objs[j] = tmp
				break
			}
			objs[j] = objs[src]
			j = src
		}
	}
}

func sortEndpoints(eps []Endpoint) {
	slices.SortFunc(eps, func(a, b Endpoint) int { return cmp.Or(cmp.Compare(a.PID, b.PID), cmp.Compare(a.FD, b.FD)) })
}

// missing records something the inventory could not see, logged once at
// debug.
func (b *build) missing(what, why string) {
	b.inv.Missing = append(b.inv.Missing, Missing{What: what, Why: why})
	if _, seen := b.c.logged.LoadOrStore(what+"\x00"+why, true); !seen {
		b.c.log.Debug("not collected", "what", what, "why", why)
	}
}

func endpoint(p *process, fd int, acc string) Endpoint {
	return Endpoint{PID: p.PID, Comm: p.Comm, FD: fd, Access: acc}
}

func ptr[T any](v T) *T { return &v }

// u64 is ptr for the many attributes of one inventory: they are allocated
// a thousand at a time.
func (b *build) u64(v uint64) *uint64 {
	if len(b.u64s) == cap(b.u64s) {
		b.u64s = make([]uint64, 0, 1024)
	}
	b.u64s = append(b.u64s, v)
	return &b.u64s[len(b.u64s)-1]
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
