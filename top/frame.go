package top

import (
	"cmp"
	"slices"
	"time"

	"github.com/ipcwatch/ipcwatch/collector"
	"github.com/ipcwatch/ipcwatch/probes"
)

// Frame is what one interval shows: the activity between two samples and
// the inventory of the later one. Its rows are in no particular order;
// Table sorts and filters them.
type Frame struct {
	Time time.Time `json:"time"`
	// Interval is the time between the two samples; 0 for the first
	// sample, which has no activity yet.
	Interval time.Duration `json:"-"`
	// Activity tells whether the probes counted this interval.
	Activity bool `json:"activity"`

	Processes      []Process       `json:"processes"`
	Mechanisms     []Mechanism     `json:"mechanisms"`
	Channels       []Channel       `json:"channels"`
	Signals        []Signal        `json:"signals"`
	PendingSignals []PendingSignal `json:"pending_signals"`

	// Objects and Scanned count the IPC objects and processes the
	// inventory saw; Unreadable the processes it could not read.
	Objects    int `json:"objects"`
	Scanned    int `json:"processes_scanned"`
	Unreadable int `json:"processes_unreadable"`
	// Probes attached, out of ProbesTotal; Dropped counts the entries the
	// probes' maps lost this interval because they were full.
	Probes      int    `json:"probes_attached"`
	ProbesTotal int    `json:"probes_total"`
	Dropped     uint64 `json:"map_entries_dropped"`
	// Missing is what the inventory could not see.
	Missing []collector.Missing `json:"-"`
}

// MechActivity is one process's activity on one mechanism in an interval.
type MechActivity struct {
	Mechanism   string  `json:"mechanism"`
	Calls       uint64  `json:"calls"`
	Errors      uint64  `json:"errors"`
	Bytes       uint64  `json:"bytes"`
	CallsPerSec float64 `json:"calls_per_sec"`
	BytesPerSec float64 `json:"bytes_per_sec"`
}

// Process is one process's IPC in an interval: activity from the probes,
// objects held from the inventory.
type Process struct {
	PID         int     `json:"pid"`
	Comm        string  `json:"comm"`
	Calls       uint64  `json:"calls"`
	Errors      uint64  `json:"errors"`
	Bytes       uint64  `json:"bytes"`
	CallsPerSec float64 `json:"calls_per_sec"`
	BytesPerSec float64 `json:"bytes_per_sec"`
	// Blocked is the time the process's threads spent in IPC syscalls this
	// interval, entry to exit, as the probes summed it. BlockedPerSec is
	// the same per second of interval (1 = one thread blocked all along).
	Blocked       time.Duration `json:"-"`
	BlockedPerSec float64       `json:"blocked_seconds_per_sec"`
	// Objects is how many IPC objects the process holds.
	Objects    int            `json:"objects"`
	Mechanisms []MechActivity `json:"mechanisms"` // busiest first
}

// Mechanism is the activity of one operation on one mechanism, or with Op
// "" the total of the mechanism, in an interval.
type Mechanism struct {
	Mechanism   string  `json:"mechanism"`
	Op          string  `json:"op"` // "" for the mechanism's total
	Objects     int     `json:"objects"`
	Calls       uint64  `json:"calls"`
	Errors      uint64  `json:"errors"`
	Bytes       uint64  `json:"bytes"`
	CallsPerSec float64 `json:"calls_per_sec"`
	BytesPerSec float64 `json:"bytes_per_sec"`
	// P50 and P99 of the time spent in the call (for op "delivery" of
	// signal: generation to delivery), in this interval; 0 if no call.
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`

	hist probes.Histogram
}

// Signal is one signal number sent by one process to another.
type Signal struct {
	Signal            int     `json:"signal"`
	Name              string  `json:"name"`
	SenderPID         int     `json:"sender_pid"`
	SenderComm        string  `json:"sender_comm"`
	ReceiverPID       int     `json:"receiver_pid"`
	ReceiverComm      string  `json:"receiver_comm"`
	Generated         uint64  `json:"generated"`
	Delivered         uint64  `json:"delivered"`
	GeneratedPerSec   float64 `json:"generated_per_sec"`
	DeliveredPerSec   float64 `json:"delivered_per_sec"`
	GeneratedSinceRun uint64  `json:"generated_total"` // since the probes loaded
}

// PendingSignal is a process with signals pending, from /proc/PID/status.
type PendingSignal struct {
	PID     int    `json:"pid"`
	Comm    string `json:"comm"`
	Pending []int  `json:"pending"`
	Blocked []int  `json:"blocked"`
	// QueuedSignals and QueueLimit are the real-time signals queued for
	// the owner's uid and its limit.
	QueuedSignals uint64 `json:"queued_signals"`
	QueueLimit    uint64 `json:"queue_limit"`
}

// BuildFrame computes the frame of the interval from prev to cur. With prev
// nil (the first sample) it fills only what the inventory gives.
func BuildFrame(prev, cur *Sample) *Frame {
	f := &Frame{Time: cur.Time}
	inv := cur.Inventory
	if inv == nil {
		inv = &collector.Inventory{}
	}
	f.Objects, f.Scanned, f.Unreadable = len(inv.Objects), inv.Processes, inv.Unreadable
	f.Missing = inv.Missing
	var d *delta
	if prev != nil && cur.Time.After(prev.Time) {
		f.Interval = cur.Time.Sub(prev.Time)
	}
	if f.Interval > 0 && prev.Snapshot != nil && cur.Snapshot != nil {
		f.Activity = true
		d = newDelta(prev.Snapshot, cur.Snapshot)
		f.Dropped = d.dropped
	}
	if cur.Snapshot != nil {
		for _, p := range cur.Snapshot.Probes {
			f.ProbesTotal++
			if p.Attached {
				f.Probes++
			}
		}
	}
	f.Processes = buildProcesses(f, d, inv)
	f.Mechanisms = buildMechanisms(f, d, inv)
	f.Channels = buildChannels(inv)
	f.Signals = buildSignals(f, d)
	f.PendingSignals = buildPending(inv)
	return f
}

// perSec turns a count over the frame's interval into a rate.
func (f *Frame) perSec(n uint64) float64 {
	if f.Interval <= 0 {
		return 0
	}
	return float64(n) / f.Interval.Seconds()
}

func buildProcesses(f *Frame, d *delta, inv *collector.Inventory) []Process {
	byPID := make(map[int]*Process, inv.Processes)
	get := func(pid int, comm string) *Process {
		p := byPID[pid]
		if p == nil {
			p = &Process{PID: pid, Comm: comm}
			byPID[pid] = p
		}
		return p
	}
	for _, o := range inv.Objects {
		seen := map[int]bool{}
		for _, e := range o.Endpoints {
			if !seen[e.PID] {
				seen[e.PID] = true
				get(e.PID, e.Comm).Objects++
			}
		}
	}
	if d != nil {
		mechs := map[int]map[string]*MechActivity{}
		for _, c := range d.ops {
			if c.Calls == 0 {
				continue
			}
			p := get(int(c.PID), c.Comm)
			p.Calls += c.Calls
			p.Errors += c.Errors
			p.Bytes += c.Bytes
			p.Blocked += time.Duration(c.Nanos)
			m := mechs[p.PID]
			if m == nil {
				m = map[string]*MechActivity{}
				mechs[p.PID] = m
			}
			a := m[c.Mechanism]
			if a == nil {
				a = &MechActivity{Mechanism: c.Mechanism}
				m[c.Mechanism] = a
			}
			a.Calls += c.Calls
			a.Errors += c.Errors
			a.Bytes += c.Bytes
		}
		for pid, m := range mechs {
			p := byPID[pid]
			for _, a := range m {
				a.CallsPerSec, a.BytesPerSec = f.perSec(a.Calls), f.perSec(a.Bytes)
				p.Mechanisms = append(p.Mechanisms, *a)
			}
			slices.SortFunc(p.Mechanisms, func(a, b MechActivity) int {
				return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Mechanism, b.Mechanism))
			})
		}
	}
	out := make([]Process, 0, len(byPID))
	for _, p := range byPID {
		p.CallsPerSec, p.BytesPerSec = f.perSec(p.Calls), f.perSec(p.Bytes)
		if f.Interval > 0 {
			p.BlockedPerSec = p.Blocked.Seconds() / f.Interval.Seconds()
		}
		if p.Mechanisms == nil {
			p.Mechanisms = []MechActivity{}
		}
		out = append(out, *p)
	}
	return out
}

func buildMechanisms(f *Frame, d *delta, inv *collector.Inventory) []Mechanism {
	objects := map[string]int{}
	for _, o := range inv.Objects {
		objects[o.Type]++
	}
	totals := map[string]*Mechanism{}
	total := func(mech string) *Mechanism {
		t := totals[mech]
		if t == nil {
			t = &Mechanism{Mechanism: mech, Objects: objects[mech]}
			totals[mech] = t
		}
		return t
	}
	for typ := range objects {
		total(typ)
	}
	var out []Mechanism
	if d != nil {
		ops := map[opKey]*Mechanism{}
		for _, c := range d.ops {
			k := opKey{c.Mechanism, c.Op}
			m := ops[k]
			if m == nil {
				m = &Mechanism{Mechanism: c.Mechanism, Op: c.Op}
				ops[k] = m
			}
			m.Calls += c.Calls
			m.Errors += c.Errors
			m.Bytes += c.Bytes
		}
		for k, h := range d.latency {
			m := ops[k]
			if m == nil {
				m = &Mechanism{Mechanism: k.mech, Op: k.op}
				ops[k] = m
			}
			m.hist = h
		}
		for _, m := range ops {
			if m.Calls == 0 && m.hist.Count == 0 {
				continue
			}
			t := total(m.Mechanism)
			t.Calls += m.Calls
			t.Errors += m.Errors
			t.Bytes += m.Bytes
			addHist(&t.hist, m.hist)
			out = append(out, *m)
		}
	}
	for _, t := range totals {
		out = append(out, *t)
	}
	for i := range out {
		m := &out[i]
		m.CallsPerSec, m.BytesPerSec = f.perSec(m.Calls), f.perSec(m.Bytes)
		m.P50, m.P99 = quantile(m.hist, 0.50), quantile(m.hist, 0.99)
	}
	return out
}

func buildSignals(f *Frame, d *delta) []Signal {
	if d == nil {
		return []Signal{}
	}
	out := []Signal{}
	for _, s := range d.signals {
		if s.delta.Generated == 0 && s.delta.Delivered == 0 {
			continue
		}
		out = append(out, Signal{
			Signal: s.delta.Signal, Name: signalName(s.delta.Signal),
			SenderPID: int(s.delta.SenderPID), SenderComm: s.delta.SenderComm,
			ReceiverPID: int(s.delta.ReceiverPID), ReceiverComm: s.delta.ReceiverComm,
			Generated: s.delta.Generated, Delivered: s.delta.Delivered,
			GeneratedPerSec: f.perSec(s.delta.Generated), DeliveredPerSec: f.perSec(s.delta.Delivered),
			GeneratedSinceRun: s.total,
		})
	}
	return out
}

func buildPending(inv *collector.Inventory) []PendingSignal {
	out := []PendingSignal{}
	for _, s := range inv.Signals {
		// SigQ counts per uid, not per process: only pending signals
		// select a process.
		if s.Pending == 0 {
			continue
		}
		out = append(out, PendingSignal{
			PID: s.PID, Comm: s.Comm, Pending: signalNumbers(s.Pending), Blocked: signalNumbers(s.Blocked),
			QueuedSignals: s.QueuedSignals, QueueLimit: s.QueueLimit,
		})
	}
	return out
}

// signalNumbers lists the signals of a mask (bit n-1 is signal n).
func signalNumbers(mask uint64) []int {
	out := []int{}
	for i := range 64 {
		if mask&(1<<i) != 0 {
			out = append(out, i+1)
		}
	}
	return out
}
