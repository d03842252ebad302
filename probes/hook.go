package probes

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// syscallProbes are the syscall programs of one hook, their maps and, while
// attached, their links.
type syscallProbes struct {
	hook        Hook
	maps        syscallsMaps
	enter, exit *ebpf.Program
	taskExit    *ebpf.Program // flushes an exiting task's counters
	flush       *ebpf.Program // iterator flushing every task's counters
	traced      []sysEntry    // the syscalls of the loaded groups
	links       []link.Link
}

// attachTracing attaches a tp_btf program; a variable so that tests can make
// it fail as it does on kernels without BTF.
var attachTracing = link.AttachTracing

// loadSyscallsSpec returns the syscall probes' BPF spec; a variable so that
// benchmarks can compare with an older build of it.
var loadSyscallsSpec = loadSyscalls

// loadSyscalls loads and attaches the syscall probes of groups with hook.
// HookAuto tries HookRaw and falls back to HookSyscallTracepoints when the
// tp_btf programs do not load or attach (no kernel BTF, old kernel).
func (p *Probes) loadSyscalls(groups []Group, hook Hook) error {
	if hook == HookAuto {
		s, status, err := openSyscalls(groups, HookRaw, p.signalMaps())
		if err == nil {
			p.sys = s
			p.status = append(p.status, status...)
			return nil
		}
		slog.Debug("tp_btf syscall hooks unavailable, using the per-syscall tracepoints", "err", err)
		if s != nil {
			s.Close()
		}
		hook = HookSyscallTracepoints
	}
	s, status, err := openSyscalls(groups, hook, p.signalMaps())
	p.status = append(p.status, status...)
	if s != nil {
		p.sys = s
	}
	return err
}

// openSyscalls loads the programs of hook and attaches them, with the
// signal probes' maps sigMaps (nil: signals taken synchronously are not
// counted). It returns nil syscallProbes only when nothing loaded; otherwise
// what attached works, and the error joins one error per probe that did not.
func openSyscalls(groups []Group, hook Hook, sigMaps map[string]*ebpf.Map) (*syscallProbes, []ProbeStatus, error) {
	spec, err := loadSyscallsSpec()
	if err != nil {
		err = fmt.Errorf("loading the syscalls BPF spec: %w", err)
		return nil, []ProbeStatus{{Name: "syscalls", Error: err.Error()}}, err
	}
	opts := &ebpf.CollectionOptions{MapReplacements: sigMaps}
	if sigMaps == nil {
		// Placeholders that nothing reads.
		for name := range spec.Maps {
			if strings.HasPrefix(name, "sig_") && spec.Maps[name].Type != ebpf.PerCPUArray {
				spec.Maps[name].MaxEntries = 1
			}
		}
	}
	s := &syscallProbes{hook: hook}
	if hook == HookRaw {
		var objs struct {
			syscallsMaps
			rawProgs
		}
		err = spec.LoadAndAssign(&objs, opts)
		s.maps, s.enter, s.exit, s.taskExit, s.flush = objs.syscallsMaps, objs.Enter, objs.Exit, objs.TaskExit, objs.Flush
	} else {
		var objs struct {
			syscallsMaps
			tpProgs
		}
		err = spec.LoadAndAssign(&objs, opts)
		s.maps, s.enter, s.exit, s.taskExit, s.flush = objs.syscallsMaps, objs.Enter, objs.Exit, objs.TaskExit, objs.Flush
	}
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			slog.Debug("BPF verifier log", "log", fmt.Sprintf("%+v", ve))
		}
		err = fmt.Errorf("loading the syscall probes: %w", err)
		return nil, []ProbeStatus{{Name: "syscalls", Error: err.Error()}}, err
	}
	for _, e := range syscallTable {
		if slices.Contains(groups, e.group) {
			s.traced = append(s.traced, e)
		}
	}
	status, err := s.attach()
	return s, status, err
}

// attach attaches the programs and fills cfg_by_nr with the syscalls whose
// probes attached.
func (s *syscallProbes) attach() ([]ProbeStatus, error) {
	var status []ProbeStatus
	var errs []error
	add := func(name string, l link.Link, err error) bool {
		if err != nil {
			err = fmt.Errorf("attaching %s: %w", name, err)
			status = append(status, ProbeStatus{Name: name, Error: err.Error()})
			errs = append(errs, err)
			return false
		}
		s.links = append(s.links, l)
		status = append(status, ProbeStatus{Name: name, Attached: true})
		return true
	}
	// Counts of exited tasks would be lost without the exit hook: nothing
	// is traced without it.
	traced := s.traced
	if s.hook == HookRaw {
		l, err := attachTracing(link.TracingOptions{Program: s.taskExit})
		ok := add("tp_btf/sched_process_exit", l, err)
		l, err = attachTracing(link.TracingOptions{Program: s.enter})
		ok = add("tp_btf/sys_enter", l, err) && ok
		l, err = attachTracing(link.TracingOptions{Program: s.exit})
		if !add("tp_btf/sys_exit", l, err) || !ok {
			traced = nil
		}
	} else {
		unmount, err := ensureTracefs()
		if err != nil {
			return []ProbeStatus{{Name: "tracefs", Error: err.Error()}}, err
		}
		l, err := link.Tracepoint("sched", "sched_process_exit", s.taskExit, nil)
		if !add("tracepoint/sched/sched_process_exit", l, err) {
			traced = nil
		}
		var ok []sysEntry
		for _, e := range traced {
			l, err := link.Tracepoint("syscalls", "sys_enter_"+e.name, s.enter, nil)
			if !add("tracepoint/syscalls/sys_enter_"+e.name, l, err) {
				continue
			}
			l, err = link.Tracepoint("syscalls", "sys_exit_"+e.name, s.exit, nil)
			if !add("tracepoint/syscalls/sys_exit_"+e.name, l, err) {
				continue
			}
			ok = append(ok, e)
		}
		traced = ok
		unmount()
	}
	for _, e := range traced {
		if err := s.maps.CfgByNr.Put(uint32(e.nr), e.cfg()); err != nil {
			errs = append(errs, fmt.Errorf("configuring syscall %s: %w", e.name, err))
		}
	}
	return status, errors.Join(errs...)
}

// detach closes the links, all at once: detaching a syscall tracepoint waits
// for a grace period, and concurrent detaches share them.
func (s *syscallProbes) detach() error {
	errs := make([]error, len(s.links))
	var wg sync.WaitGroup
	for i, l := range s.links {
		wg.Go(func() { errs[i] = l.Close() })
	}
	wg.Wait()
	s.links = nil
	return errors.Join(errs...)
}

// Close detaches the programs and frees them and their maps.
func (s *syscallProbes) Close() error {
	return errors.Join(s.detach(), s.enter.Close(), s.exit.Close(), s.taskExit.Close(),
		s.flush.Close(), s.maps.Close())
}

// flushTasks runs the iterator that moves every task's counters into
// op_stats.
func (s *syscallProbes) flushTasks() error {
	it, err := link.AttachIter(link.IterOptions{Program: s.flush})
	if err != nil {
		return fmt.Errorf("attaching iter/task: %w", err)
	}
	defer it.Close()
	rd, err := it.Open()
	if err != nil {
		return fmt.Errorf("opening iter/task: %w", err)
	}
	defer rd.Close()
	if _, err := io.Copy(io.Discard, rd); err != nil {
		return fmt.Errorf("running iter/task: %w", err)
	}
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
	Enter    *ebpf.Program `ebpf:"raw_sys_enter"`
	Exit     *ebpf.Program `ebpf:"raw_sys_exit"`
	TaskExit *ebpf.Program `ebpf:"raw_task_exit"`
	Flush    *ebpf.Program `ebpf:"flush_tasks"`
}

type tpProgs struct {
	Enter    *ebpf.Program `ebpf:"tp_sys_enter"`
	Exit     *ebpf.Program `ebpf:"tp_sys_exit"`
	TaskExit *ebpf.Program `ebpf:"tp_task_exit"`
	Flush    *ebpf.Program `ebpf:"flush_tasks"`
}
