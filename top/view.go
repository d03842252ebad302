package top

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

var (
	styleTitle  = lipgloss.NewStyle().Bold(true)
	styleTab    = lipgloss.NewStyle().Padding(0, 1)
	styleActive = styleTab.Reverse(true).Bold(true)
	styleHeader = lipgloss.NewStyle().Reverse(true)
	styleNote   = lipgloss.NewStyle().Foreground(lipgloss.Color("3"))
	styleError  = lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true)
	styleTotal  = lipgloss.NewStyle().Bold(true)
)

// Lines above the table: title, tabs, notes; and the footer below it.
const (
	headLines = 3
	footLines = 1
)

// tableRows is how many table rows fit under the header line.
func (m *Model) tableRows() int {
	return max(m.height-headLines-footLines-1, 1)
}

// View draws the screen.
func (m *Model) View() string {
	var b strings.Builder
	line := func(s string) {
		b.WriteString(ansi.Truncate(s, m.width, ""))
		b.WriteByte('\n')
	}
	line(m.title())
	line(m.tabs())
	line(m.note())
	var body []string
	switch {
	case m.help:
		body = helpLines
	case m.frame == nil:
		body = []string{"sampling…"}
	default:
		body = m.table()
	}
	for i := range m.height - headLines - footLines {
		if i < len(body) {
			line(body[i])
		} else {
			line("")
		}
	}
	b.WriteString(ansi.Truncate(m.footer(), m.width, ""))
	return b.String()
}

func (m *Model) title() string {
	s := styleTitle.Render("ipcwatch top")
	if m.frame != nil {
		f := m.frame
		s += "  " + f.Time.Format("15:04:05")
		s += fmt.Sprintf("  every %s", m.interval)
		s += fmt.Sprintf("  processes %d", f.Scanned)
		if f.Unreadable > 0 {
			s += fmt.Sprintf(" (%d unreadable)", f.Unreadable)
		}
		s += fmt.Sprintf("  objects %d", f.Objects)
		if f.ProbesTotal > 0 {
			s += fmt.Sprintf("  probes %d/%d", f.Probes, f.ProbesTotal)
		}
		if f.Dropped > 0 {
			s += fmt.Sprintf("  dropped %d", f.Dropped)
		}
	}
	if m.paused {
		s += "  " + styleError.Render("PAUSED")
	}
	return s
}

func (m *Model) tabs() string {
	var parts []string
	for v := range viewCount {
		st := styleTab
		if v == m.view && !m.help {
			st = styleActive
		}
		parts = append(parts, st.Render(fmt.Sprintf("%d %s", v+1, v)))
	}
	if m.help {
		parts = append(parts, styleActive.Render("help"))
	}
	return strings.Join(parts, " ")
}

// note is the line under the tabs: an error, what is missing, or what the
// first sample lacks.
func (m *Model) note() string {
	missing := m.missing
	if m.frame != nil {
		missing = append(slices.Clone(missing), m.frame.Missing...)
	}
	switch {
	case m.err != nil:
		return styleError.Render("error: " + m.err.Error())
	case len(missing) > 0:
		s := "not seen: " + missing[0].What + ": " + missing[0].Why
		if len(missing) > 1 {
			s += fmt.Sprintf(" (+%d more: ipcwatch top -b -n 1 lists them)", len(missing)-1)
		}
		return styleNote.Render(s)
	case m.frame != nil && !m.frame.Activity:
		return styleNote.Render("activity shows after the first interval")
	}
	return ""
}

func (m *Model) footer() string {
	if m.editing {
		return "filter (name or pid, enter to apply, esc to cancel): " + m.input + "█"
	}
	s := "q quit  1-4 views  </> sort  r reverse  / filter  space pause  +/- interval  h help"
	if m.filter.Text != "" {
		s = styleNote.Render("filter: "+m.filter.Text) + "  (esc clears)  " + s
	}
	if len(m.filter.PIDs) > 0 {
		s = styleNote.Render("pids: "+intList(m.filter.PIDs)) + "  " + s
	}
	return s
}

// table draws the current view's header and the rows that fit; column
// widths fit the rows shown.
func (m *Model) table() []string {
	t := m.frame.Table(m.view, m.sorts[m.view], m.filter)
	n := m.tableRows()
	first, end := min(m.offset, len(t.Rows)), min(m.offset+n, len(t.Rows))
	all := t.Rows
	t.Rows = t.Rows[first:end]
	head, rows := layout(t, m.width, true)
	out := []string{styleHeader.Render(padRight(head, m.width))}
	for i, r := range rows {
		if m.view == ViewMechanisms && all[first+i][1] == opAll {
			r = styleTotal.Render(r)
		}
		out = append(out, r)
	}
	if len(all) == 0 {
		out = append(out, "(no rows)")
	}
	if t.Extra != nil && len(t.Extra.Rows) > 0 && len(out)+2 < n {
		eh, er := layout(t.Extra, m.width, false)
		out = append(out, "", "pending signals", styleHeader.Render(padRight(eh, m.width)))
		out = append(out, er[:min(len(er), n-len(out))]...)
	}
	return out
}

func padRight(s string, width int) string {
	if w := ansi.StringWidth(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// layout prints a table as aligned text: the header and one line per row.
// The last column takes what is left of width (0: no limit). With marks,
// the sort column's header carries ▼ or ▲.
func layout(t *Table, width int, marks bool) (string, []string) {
	head := make([]string, len(t.Columns))
	copy(head, t.Columns)
	if marks && t.Sort.Column >= 0 && t.Sort.Column < len(head) {
		down := t.Desc[t.Sort.Column] != t.Sort.Reverse
		if down {
			head[t.Sort.Column] += "▼"
		} else {
			head[t.Sort.Column] += "▲"
		}
	}
	widths := make([]int, len(head))
	for i, h := range head {
		widths[i] = ansi.StringWidth(h)
	}
	for _, r := range t.Rows {
		for i, c := range r {
			widths[i] = max(widths[i], ansi.StringWidth(c))
		}
	}
	format := func(cells []string) string {
		var b strings.Builder
		for i, c := range cells {
			last := i == len(cells)-1
			pad := widths[i] - ansi.StringWidth(c)
			switch {
			case last && !t.Right[i]:
				b.WriteString(c)
			case t.Right[i]:
				b.WriteString(strings.Repeat(" ", pad) + c)
			default:
				b.WriteString(c + strings.Repeat(" ", pad))
			}
			if !last {
				b.WriteString("  ")
			}
		}
		s := b.String()
		if width > 0 {
			s = ansi.Truncate(s, width, "…")
		}
		return s
	}
	rows := make([]string, len(t.Rows))
	for i, r := range t.Rows {
		rows[i] = format(r)
	}
	return format(head), rows
}

var helpLines = []string{
	"Views",
	"  1 processes   IPC calls/s, bytes/s, errors/s, time blocked and objects held, per process",
	"  2 mechanisms  totals per mechanism and per operation, p50/p99 time in the call",
	"  3 channels    pipes, FIFOs, Unix sockets and message queues by bytes queued,",
	"                with the processes writing and reading them (the backpressure view)",
	"  4 signals     who signals whom, how often; processes with signals pending",
	"Keys",
	"  1-4, tab      switch view            < >  sort by the column left/right",
	"  r             reverse the sort       /    filter by name or pid (esc clears)",
	"  space, p      pause                  + -  longer/shorter interval",
	"  up/down, j/k  scroll                 pgup/pgdown, home",
	"  h, ?          this help              q, ctrl+c  quit",
	"Columns",
	"  BLOCKED  time in IPC syscalls, entry to exit, per second of interval",
	"           (100% = one thread all along; threads add up)",
	"  P50 P99  time from syscall entry to exit; for signal 'delivery', generation to delivery",
	"  QUEUED   bytes waiting to be read; for a socket, in its receive queue",
	"  MSGS     messages queued; for a listening socket, connections waiting",
	"  ?        unknown (pipe fill needs BPF or --pipes.reopen); - not applicable",
}
