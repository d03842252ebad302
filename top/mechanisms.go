package top

import (
	"cmp"
	"slices"
	"strconv"
)

// opAll is the OP cell of a mechanism's total row.
const opAll = "all"

var mechanismColumns = []column[Mechanism]{
	{"MECHANISM", false, func(m Mechanism) string { return m.Mechanism }, func(a, b Mechanism) int { return cmp.Compare(a.Mechanism, b.Mechanism) }},
	{"OP", false, func(m Mechanism) string {
		if m.Op == "" {
			return opAll
		}
		return m.Op
	}, func(a, b Mechanism) int { return cmp.Compare(a.Op, b.Op) }},
	{"OBJECTS", true, func(m Mechanism) string {
		if m.Op != "" {
			return ""
		}
		return strconv.Itoa(m.Objects)
	}, func(a, b Mechanism) int { return cmp.Compare(a.Objects, b.Objects) }},
	{"CALLS/s", true, func(m Mechanism) string { return count(m.CallsPerSec) }, func(a, b Mechanism) int { return cmp.Compare(a.Calls, b.Calls) }},
	{"BYTES/s", true, func(m Mechanism) string { return size(m.BytesPerSec) }, func(a, b Mechanism) int { return cmp.Compare(a.Bytes, b.Bytes) }},
	{"ERR/s", true, func(m Mechanism) string { return count(m.CallsPerSec * errRatio(m.Errors, m.Calls)) }, func(a, b Mechanism) int { return cmp.Compare(a.Errors, b.Errors) }},
	{"P50", true, func(m Mechanism) string { return latency(m.P50) }, func(a, b Mechanism) int { return cmp.Compare(a.P50, b.P50) }},
	{"P99", true, func(m Mechanism) string { return latency(m.P99) }, func(a, b Mechanism) int { return cmp.Compare(a.P99, b.P99) }},
}

// mechanismTable prints each mechanism's total row followed by its
// operations; mechanisms are sorted by their totals, operations within a
// mechanism by the same column. The filter matches mechanism or op names.
func (f *Frame) mechanismTable(s Sort, flt Filter) *Table {
	var totals []Mechanism
	ops := map[string][]Mechanism{}
	for _, m := range f.Mechanisms {
		if m.Op == "" {
			totals = append(totals, m)
		} else {
			ops[m.Mechanism] = append(ops[m.Mechanism], m)
		}
	}
	// A pid means nothing here: latency is per operation, over every
	// process.
	flt.PIDs = nil
	if _, err := strconv.Atoi(flt.Text); err == nil {
		flt.Text = ""
	}
	var rows []Mechanism
	sortRows(mechanismColumns, totals, s)
	for _, t := range totals {
		group := ops[t.Mechanism]
		if !flt.matches(nil, t.Mechanism) {
			group = slices.DeleteFunc(group, func(m Mechanism) bool { return !flt.matches(nil, m.Op) })
			if len(group) == 0 {
				continue
			}
		}
		sortRows(mechanismColumns, group, s)
		rows = append(rows, t)
		rows = append(rows, group...)
	}
	return printRows(mechanismColumns, rows, s)
}
