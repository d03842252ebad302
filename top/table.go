package top

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// View is one of top's screens.
type View int

// The views, in the order of their keys 1 to 4.
const (
	ViewProcesses View = iota
	ViewMechanisms
	ViewChannels
	ViewSignals
	viewCount
)

var viewNames = [viewCount]string{"processes", "mechanisms", "channels", "signals"}

func (v View) String() string { return viewNames[v] }

// ParseView returns the view of a name.
func ParseView(name string) (View, bool) {
	i := slices.Index(viewNames[:], name)
	return View(i), i >= 0
}

// ViewNames lists the views in order.
func ViewNames() []string { return slices.Clone(viewNames[:]) }

// Filter selects rows: by pid and by a text matched against names (a
// number is a pid). The zero Filter selects everything.
type Filter struct {
	PIDs []int
	Text string
}

// matches tells whether a row involving these processes and names passes.
func (f Filter) matches(pids []int, names ...string) bool {
	if len(f.PIDs) > 0 && !slices.ContainsFunc(pids, func(p int) bool { return slices.Contains(f.PIDs, p) }) {
		return false
	}
	if f.Text == "" {
		return true
	}
	if n, err := strconv.Atoi(f.Text); err == nil {
		return slices.Contains(pids, n)
	}
	t := strings.ToLower(f.Text)
	return slices.ContainsFunc(names, func(s string) bool { return strings.Contains(strings.ToLower(s), t) })
}

// Sort is a view's sort column and direction. Reverse flips the column's
// natural direction (numbers descending, names ascending).
type Sort struct {
	Column  int
	Reverse bool
}

// column is one column of a view over rows of type T.
type column[T any] struct {
	name  string
	right bool             // numbers: right-aligned, sorted descending
	cell  func(T) string   // what is printed
	cmp   func(a, b T) int // ascending order
}

// Table is a view's rows, filtered, sorted and printed as text cells.
type Table struct {
	Columns []string
	Right   []bool
	Desc    []bool // the natural order of each column is descending
	Rows    [][]string
	Sort    Sort
	// Extra is a second table shown under the first (pending signals).
	Extra *Table
}

// build filters, sorts and prints rows.
func build[T any](cols []column[T], rows []T, s Sort, keep func(T) bool) *Table {
	rows = slices.DeleteFunc(slices.Clone(rows), func(r T) bool { return !keep(r) })
	sortRows(cols, rows, s)
	return printRows(cols, rows, s)
}

// printRows prints rows in the order given.
func printRows[T any](cols []column[T], rows []T, s Sort) *Table {
	t := &Table{Sort: s}
	for _, c := range cols {
		t.Columns = append(t.Columns, c.name)
		t.Right = append(t.Right, c.right)
		t.Desc = append(t.Desc, c.descending())
	}
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.cell(r)
		}
		t.Rows = append(t.Rows, cells)
	}
	return t
}

// sortRows sorts by the chosen column, then by every column left to right
// so that the order is stable from one interval to the next.
func sortRows[T any](cols []column[T], rows []T, s Sort) {
	col := min(max(s.Column, 0), len(cols)-1)
	slices.SortStableFunc(rows, func(a, b T) int {
		if c := direction(cols[col], s.Reverse) * cols[col].cmp(a, b); c != 0 {
			return c
		}
		for i, c := range cols {
			if i == col {
				continue
			}
			if r := direction(c, false) * c.cmp(a, b); r != 0 {
				return r
			}
		}
		return 0
	})
}

func direction[T any](c column[T], reverse bool) int {
	d := 1
	if c.descending() {
		d = -1
	}
	if reverse {
		d = -d
	}
	return d
}

// descending tells whether a column sorts in descending order by default:
// the numbers, except ids.
func (c column[T]) descending() bool { return c.right && c.name != "PID" && c.name != "ID" }

// cmpPtr orders unknown values (nil) below every known one.
func cmpPtr(a, b *uint64) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return cmp.Compare(*a, *b)
}

// Columns returns the column names of a view.
func Columns(v View) []string {
	return (&Frame{}).Table(v, Sort{}, Filter{}).Columns
}

// DefaultSort is the sort a view starts with.
func DefaultSort(v View) Sort {
	switch v {
	case ViewProcesses:
		return Sort{Column: 2} // CALLS/s
	case ViewMechanisms:
		return Sort{Column: 3} // CALLS/s
	case ViewChannels:
		return Sort{Column: 2} // QUEUED
	case ViewSignals:
		return Sort{Column: 3} // SENT/s
	}
	return Sort{}
}

// Table returns the rows of one view.
func (f *Frame) Table(v View, s Sort, flt Filter) *Table {
	switch v {
	case ViewMechanisms:
		return f.mechanismTable(s, flt)
	case ViewChannels:
		return build(channelColumns, f.Channels, s, func(c Channel) bool {
			return flt.matches(endPIDs(c), append(endComms(c), c.Name, c.Type)...)
		})
	case ViewSignals:
		t := build(signalColumns, f.Signals, s, func(g Signal) bool {
			return flt.matches([]int{g.SenderPID, g.ReceiverPID}, g.SenderComm, g.ReceiverComm, g.Name)
		})
		t.Extra = build(pendingColumns, f.PendingSignals, Sort{}, func(p PendingSignal) bool {
			return flt.matches([]int{p.PID}, p.Comm)
		})
		return t
	}
	return build(processColumns(f.Activity), f.Processes, s, func(p Process) bool {
		return flt.matches([]int{p.PID}, p.Comm)
	})
}

func processColumns(activity bool) []column[Process] {
	rate := func(v float64, f func(float64) string) string {
		if !activity {
			return "-"
		}
		return f(v)
	}
	return []column[Process]{
		{"PID", true, func(p Process) string { return strconv.Itoa(p.PID) }, func(a, b Process) int { return cmp.Compare(a.PID, b.PID) }},
		{"COMM", false, func(p Process) string { return p.Comm }, func(a, b Process) int { return cmp.Compare(a.Comm, b.Comm) }},
		{"CALLS/s", true, func(p Process) string { return rate(p.CallsPerSec, count) },
			func(a, b Process) int { return cmp.Compare(a.Calls, b.Calls) }},
		{"BYTES/s", true, func(p Process) string { return rate(p.BytesPerSec, size) },
			func(a, b Process) int { return cmp.Compare(a.Bytes, b.Bytes) }},
		{"ERR/s", true, func(p Process) string { return rate(p.CallsPerSec*errRatio(p.Errors, p.Calls), count) },
			func(a, b Process) int { return cmp.Compare(a.Errors, b.Errors) }},
		{"BLOCKED", true, func(p Process) string { return rate(p.BlockedPerSec, percent) },
			func(a, b Process) int { return cmp.Compare(a.Blocked, b.Blocked) }},
		{"OBJECTS", true, func(p Process) string { return strconv.Itoa(p.Objects) },
			func(a, b Process) int { return cmp.Compare(a.Objects, b.Objects) }},
		{"MECHANISMS", false, func(p Process) string { return mechList(p.Mechanisms) },
			func(a, b Process) int { return cmp.Compare(mechList(a.Mechanisms), mechList(b.Mechanisms)) }},
	}
}

func errRatio(errs, calls uint64) float64 {
	if calls == 0 {
		return 0
	}
	return float64(errs) / float64(calls)
}

// mechList prints a process's busiest mechanisms: "pipe 200/s 19.5K/s, ...".
func mechList(ms []MechActivity) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.Mechanism + " " + count(m.CallsPerSec) + "/s " + size(m.BytesPerSec) + "B/s"
	}
	return strings.Join(parts, ", ")
}

var channelColumns = []column[Channel]{
	{"TYPE", false, func(c Channel) string { return c.Type }, func(a, b Channel) int { return cmp.Compare(a.Type, b.Type) }},
	{"ID", true, func(c Channel) string { return strconv.FormatUint(c.ID, 10) }, func(a, b Channel) int { return cmp.Compare(a.ID, b.ID) }},
	{"QUEUED", true, func(c Channel) string { return sizePtr(c.Queued) }, func(a, b Channel) int { return cmpPtr(a.Queued, b.Queued) }},
	{"CAPACITY", true, func(c Channel) string {
		if c.Capacity == nil {
			return "-"
		}
		return size(float64(*c.Capacity))
	}, func(a, b Channel) int { return cmpPtr(a.Capacity, b.Capacity) }},
	{"FILL", true, func(c Channel) string {
		if f, ok := fill(c); ok {
			return percent(f)
		}
		return "-"
	}, func(a, b Channel) int {
		fa, oka := fill(a)
		fb, okb := fill(b)
		return cmp.Or(cmp.Compare(boolInt(oka), boolInt(okb)), cmp.Compare(fa, fb))
	}},
	{"MSGS", true, func(c Channel) string {
		if c.Messages == nil {
			return "-"
		}
		return strconv.FormatUint(*c.Messages, 10)
	}, func(a, b Channel) int { return cmpPtr(a.Messages, b.Messages) }},
	{"NAME", false, func(c Channel) string { return cutMiddle(orDash(c.Name), 32) }, func(a, b Channel) int { return cmp.Compare(a.Name, b.Name) }},
	{"WRITERS -> READERS", false, func(c Channel) string { return ends(c.Writers) + " -> " + ends(c.Readers) },
		func(a, b Channel) int { return cmp.Compare(ends(a.Writers), ends(b.Writers)) }},
}

func fill(c Channel) (float64, bool) {
	if c.Queued == nil || c.Capacity == nil || *c.Capacity == 0 {
		return 0, false
	}
	return float64(*c.Queued) / float64(*c.Capacity), true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func endPIDs(c Channel) []int {
	var out []int
	for _, e := range append(slices.Clone(c.Writers), c.Readers...) {
		out = append(out, e.PID)
	}
	return out
}

func endComms(c Channel) []string {
	var out []string
	for _, e := range append(slices.Clone(c.Writers), c.Readers...) {
		out = append(out, e.Comm)
	}
	return out
}

var signalColumns = []column[Signal]{
	{"SIGNAL", false, func(s Signal) string { return s.Name }, func(a, b Signal) int { return cmp.Compare(a.Signal, b.Signal) }},
	{"FROM", false, func(s Signal) string { return endName(s.SenderPID, s.SenderComm) }, func(a, b Signal) int { return cmp.Compare(a.SenderPID, b.SenderPID) }},
	{"TO", false, func(s Signal) string { return endName(s.ReceiverPID, s.ReceiverComm) }, func(a, b Signal) int { return cmp.Compare(a.ReceiverPID, b.ReceiverPID) }},
	{"SENT/s", true, func(s Signal) string { return count(s.GeneratedPerSec) }, func(a, b Signal) int { return cmp.Compare(a.Generated, b.Generated) }},
	{"DELIVERED/s", true, func(s Signal) string { return count(s.DeliveredPerSec) }, func(a, b Signal) int { return cmp.Compare(a.Delivered, b.Delivered) }},
	{"TOTAL", true, func(s Signal) string { return count(float64(s.GeneratedSinceRun)) }, func(a, b Signal) int { return cmp.Compare(a.GeneratedSinceRun, b.GeneratedSinceRun) }},
}

var pendingColumns = []column[PendingSignal]{
	{"PID", true, func(p PendingSignal) string { return strconv.Itoa(p.PID) }, func(a, b PendingSignal) int { return cmp.Compare(a.PID, b.PID) }},
	{"COMM", false, func(p PendingSignal) string { return p.Comm }, func(a, b PendingSignal) int { return cmp.Compare(a.Comm, b.Comm) }},
	{"PENDING", false, func(p PendingSignal) string { return intList(p.Pending) }, func(a, b PendingSignal) int { return cmp.Compare(len(a.Pending), len(b.Pending)) }},
	{"BLOCKED", false, func(p PendingSignal) string { return intList(p.Blocked) }, func(a, b PendingSignal) int { return cmp.Compare(len(a.Blocked), len(b.Blocked)) }},
}
