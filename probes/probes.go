package probes

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
)

// Probes holds the loaded BPF objects and the links that attach them.
type Probes struct {
	sys    *syscallProbes
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
	if hook != HookAuto && hook != HookRaw && hook != HookSyscallTracepoints {
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
	// The signal maps are loaded first: the syscall probes count the
	// signals taken synchronously into them.
	if slices.Contains(groups, GroupSignal) {
		errs = append(errs, p.openSignals())
	}
	if len(sysGroups) > 0 {
		errs = append(errs, p.loadSyscalls(sysGroups, hook))
	}
	if p.sig != nil {
		errs = append(errs, p.attachSignals())
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

func (p *Probes) openSignals() error {
	objs := &signalObjects{}
	if err := loadSignalObjects(objs, nil); err != nil {
		return p.failed("signal", fmt.Errorf("loading the signal probes: %w", err))
	}
	p.sig = objs
	return nil
}

// signalMaps returns the maps of the signal probes that the syscall probes
// share, nil when they are not loaded.
func (p *Probes) signalMaps() map[string]*ebpf.Map {
	if p.sig == nil {
		return nil
	}
	return map[string]*ebpf.Map{
		"sig_stats": p.sig.SigStats, "sig_pending": p.sig.SigPending,
		"sig_hist": p.sig.SigHist, "sig_map_stats": p.sig.SigMapStats,
	}
}

func (p *Probes) attachSignals() error {
	objs := p.sig
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

// Hook returns the hook of the syscall probes in use, empty when no syscall
// group is loaded.
func (p *Probes) Hook() Hook {
	if p.sys == nil {
		return ""
	}
	return p.sys.hook
}

// Close detaches every probe and frees the maps.
func (p *Probes) Close() error {
	var errs []error
	for i := len(p.links) - 1; i >= 0; i-- {
		errs = append(errs, p.links[i].Close())
	}
	p.links = nil
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
