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
	order := map[string]int{}
	for i, t := range Types {
		order[t] = i
	}
	slices.SortStableFunc(inv.Objects, func(a, b Object) int {
		return cmp.Or(cmp.Compare(order[a.Type], order[b.Type]), cmp.Compare(a.Attributes.Namespace, b.Attributes.Namespace),
			cmp.Compare(a.ID, b.ID), cmp.Compare(a.Name, b.Name))
	})
	for i := range inv.Objects {
		sortEndpoints(inv.Objects[i].Endpoints)
	}
	// Empty lists, not null, in JSON.
	inv.Objects = nonNil(inv.Objects)
	inv.ShmFS, inv.SysV, inv.Signals, inv.Missing = nonNil(inv.ShmFS), nonNil(inv.SysV), nonNil(inv.Signals), nonNil(inv.Missing)
	return inv, nil
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

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
