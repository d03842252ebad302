package probes

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Probes holds the loaded BPF objects and the links that attach them.
type Probes struct {
	sys    *syscallsMaps
	progs  []*ebpf.Program
	sig    *signalObjects
	pipe   *pipeObjects
	links  []link.Link
	status []ProbeStatus
}

// Load loads and attaches the probes of opts.Groups. It attaches what it
// can: the error joins one error per probe that failed, and the returned
// Probes works with what did attach. It returns nil Probes only when
// nothing at all could load.
func Load(opts Options) (*Probes, error) {
	groups := opts.Groups
	if len(groups) == 0 {
		groups = AllGroups
	}
	for _, g := range groups {
		if !slices.Contains(AllGroups, g) {
			return nil, fmt.Errorf("loading probes: unknown group %q", g)
		}
	}
	hook := opts.Hook
	if hook == "" {
		hook = HookRaw
	}
	if hook != HookRaw && hook != HookSyscallTracepoints {
		return nil, fmt.Errorf("loading probes: unknown hook %q", hook)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("removing the memlock limit: %w", err)
	}
	p := &Probes{}
	var errs []error
	var sysGroups []Group
	for _, g := range groups {
		if g == GroupData || g == GroupLife || g == GroupSignal {
			sysGroups = append(sysGroups, g)
		}
	}
	if len(sysGroups) > 0 {
		errs = append(errs, p.loadSyscalls(sysGroups, hook))
	}
	if slices.Contains(groups, GroupSignal) {
		errs = append(errs, p.loadSignals())
	}
	if slices.Contains(groups, GroupPipeIter) {
		errs = append(errs, p.loadPipeIter())
	}
	err := errors.Join(errs...)
	if p.sys == nil && p.sig == nil && p.pipe == nil {
		return nil, err
	}
	return p, err
}

// attached records the outcome of attaching one probe and keeps its link.
func (p *Probes) attached(name string, l link.Link, err error) error {
	if err != nil {
		err = fmt.Errorf("attaching %s: %w", name, err)
		p.status = append(p.status, ProbeStatus{Name: name, Error: err.Error()})
		return err
	}
	p.links = append(p.links, l)
	p.status = append(p.status, ProbeStatus{Name: name, Attached: true})
	return nil
}

func (p *Probes) failed(name string, err error) error {
	p.status = append(p.status, ProbeStatus{Name: name, Error: err.Error()})
	return err
}

func (p *Probes) loadSyscalls(groups []Group, hook Hook) error {
	spec, specErr := loadSyscalls()
	if specErr != nil {
		return p.failed("syscalls", fmt.Errorf("loading the syscalls BPF spec: %w", specErr))
	}
	// Load only the programs of the chosen hook.
	var enter, exit *ebpf.Program
	var maps syscallsMaps
	var err error
	if hook == HookRaw {
		var objs struct {
			syscallsMaps
			rawProgs
		}
		err = spec.LoadAndAssign(&objs, nil)
		maps, enter, exit = objs.syscallsMaps, objs.Enter, objs.Exit
	} else {
		var objs struct {
			syscallsMaps
			tpProgs
		}
		err = spec.LoadAndAssign(&objs, nil)
		maps, enter, exit = objs.syscallsMaps, objs.Enter, objs.Exit
	}
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			slog.Debug("BPF verifier log", "log", fmt.Sprintf("%+v", ve))
		}
		return p.failed("syscalls", fmt.Errorf("loading the syscall probes: %w", err))
	}
	p.sys = &maps
	p.progs = append(p.progs, enter, exit)
	var traced []sysEntry
	for _, e := range syscallTable {
		if slices.Contains(groups, e.group) {
			traced = append(traced, e)
		}
	}
	var errs []error
	if hook == HookRaw {
		l, err := link.AttachTracing(link.TracingOptions{Program: enter})
		errs = append(errs, p.attached("tp_btf/sys_enter", l, err))
		l, err = link.AttachTracing(link.TracingOptions{Program: exit})
		errs = append(errs, p.attached("tp_btf/sys_exit", l, err))
	} else {
		unmount, err := ensureTracefs()
		if err != nil {
			return p.failed("tracefs", err)
		}
		var ok []sysEntry
		for _, e := range traced {
			l, err := link.Tracepoint("syscalls", "sys_enter_"+e.name, enter, nil)
			if err := p.attached("tracepoint/syscalls/sys_enter_"+e.name, l, err); err != nil {
				errs = append(errs, err)
				continue
			}
			l, err = link.Tracepoint("syscalls", "sys_exit_"+e.name, exit, nil)
			if err := p.attached("tracepoint/syscalls/sys_exit_"+e.name, l, err); err != nil {
				errs = append(errs, err)
				continue
			}
			ok = append(ok, e)
		}
		traced = ok
		unmount()
	}
	for _, e := range traced {
		if err := maps.CfgByNr.Put(uint32(e.nr), e.cfg()); err != nil {
			errs = append(errs, fmt.Errorf("configuring syscall %s: %w", e.name, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Probes) loadSignals() error {
	objs := &signalObjects{}
	if err := loadSignalObjects(objs, nil); err != nil {
		return p.failed("signal", fmt.Errorf("loading the signal probes: %w", err))
	}
	p.sig = objs
	l, err := link.AttachTracing(link.TracingOptions{Program: objs.SignalGenerate})
	err1 := p.attached("tp_btf/signal_generate", l, err)
	l, err = link.AttachTracing(link.TracingOptions{Program: objs.SignalDeliver})
	return errors.Join(err1, p.attached("tp_btf/signal_deliver", l, err))
}

func (p *Probes) loadPipeIter() error {
	objs := &pipeObjects{}
	if err := loadPipeObjects(objs, nil); err != nil {
		return p.failed("iter/task_file", fmt.Errorf("loading the pipe iterator: %w", err))
	}
	p.pipe = objs
	p.status = append(p.status, ProbeStatus{Name: "iter/task_file", Attached: true})
	return nil
}

// ensureTracefs mounts tracefs at /sys/kernel/tracing when it is missing,
// which the syscalls:* tracepoints need to be found; the returned func
// unmounts it again.
func ensureTracefs() (func(), error) {
	const dir = "/sys/kernel/tracing"
	if _, err := os.Stat(dir + "/events"); err == nil {
		return func() {}, nil
	}
	if err := unix.Mount("nodev", dir, "tracefs", 0, ""); err != nil {
		return nil, fmt.Errorf("mounting tracefs at %s (needs root): %w", dir, err)
	}
	return func() { _ = unix.Unmount(dir, 0) }, nil
}

// The programs of each hook, loaded on their own.
type rawProgs struct {
	Enter *ebpf.Program `ebpf:"raw_sys_enter"`
	Exit  *ebpf.Program `ebpf:"raw_sys_exit"`
}

type tpProgs struct {
	Enter *ebpf.Program `ebpf:"tp_sys_enter"`
	Exit  *ebpf.Program `ebpf:"tp_sys_exit"`
}

// Close detaches every probe and frees the maps.
func (p *Probes) Close() error {
	var errs []error
	for i := len(p.links) - 1; i >= 0; i-- {
		errs = append(errs, p.links[i].Close())
	}
	p.links = nil
	for _, prog := range p.progs {
		errs = append(errs, prog.Close())
	}
	p.progs = nil
	if p.sys != nil {
		errs = append(errs, p.sys.Close())
		p.sys = nil
	}
	if p.sig != nil {
		errs = append(errs, p.sig.Close())
		p.sig = nil
	}
	if p.pipe != nil {
		errs = append(errs, p.pipe.Close())
		p.pipe = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing probes: %w", err)
	}
	return nil
}
