package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipcwatch/ipcwatch/collector"
)

// writeJSON prints the objects as the stable JSON schema of collector.Object.
func writeJSON(w io.Writer, objs []collector.Object) error {
	if objs == nil {
		objs = []collector.Object{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(objs)
}

// peers indexes every socket by id, to show the process at the other end.
func peers(objs []collector.Object) map[uint64]*collector.Object {
	m := map[uint64]*collector.Object{}
	for i := range objs {
		if objs[i].Attributes.State != "" {
			m[objs[i].ID] = &objs[i]
		}
	}
	return m
}

// On a terminal, NAME and DETAILS start at most this wide and narrow down
// to minCut so that ENDPOINTS keeps at least minEndpoints columns.
const (
	maxCut       = 40
	minCut       = 12
	minEndpoints = 30
)

// writeTable prints one row per object. With width > 0 (a terminal), long
// names are cut in the middle, details at the end, and endpoint lists cut to fit the
// line, saying how many endpoints were left out.
func writeTable(w io.Writer, objs []collector.Object, peerOf map[uint64]*collector.Object, width int) error {
	header := []string{"TYPE", "ID", "NAME", "DETAILS", "ENDPOINTS"}
	rows := [][]string{header}
	for _, o := range objs {
		rows = append(rows, []string{o.Type, strconv.FormatUint(o.ID, 10), orDash(o.Name), orDash(details(o, peerOf)), orDash(endpoints(o.Endpoints))})
	}
	widths := make([]int, len(header)-1)
	for _, r := range rows {
		for i := range widths {
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i]))
		}
	}
	budget := 0
	if width > 0 {
		const name, det = 2, 3
		widths[name], widths[det] = min(widths[name], maxCut), min(widths[det], maxCut)
		used := func() int {
			n := 0
			for _, c := range widths {
				n += c + 2
			}
			return n
		}
		for width-used() < minEndpoints && (widths[name] > minCut || widths[det] > minCut) {
			if widths[det] >= widths[name] && widths[det] > minCut {
				widths[det]--
			} else {
				widths[name]--
			}
		}
		budget = max(width-used(), 1)
		for _, r := range rows[1:] {
			r[name], r[det] = cutMiddle(r[name], widths[name]), cutEnd(r[det], widths[det])
		}
	}
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		for i, n := range widths {
			b.WriteString(r[i])
			b.WriteString(strings.Repeat(" ", max(n-utf8.RuneCountInString(r[i]), 0)+2))
		}
		last := r[len(r)-1]
		if budget > 0 {
			last = cutList(last, budget)
		}
		b.WriteString(strings.TrimRight(last, " "))
		b.WriteByte('\n')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cutMiddle shortens s to n runes, keeping both ends.
func cutMiddle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head := (n - 1) / 2
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}

// cutEnd shortens s to n runes, keeping its start.
func cutEnd(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// cutList shortens a comma-separated list to n runes, saying how many
// entries were left out.
func cutList(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	items := strings.Split(s, ",")
	for k := len(items) - 1; k >= 1; k-- {
		out := strings.Join(items[:k], ",") + fmt.Sprintf(",…+%d", len(items)-k)
		if utf8.RuneCountInString(out) <= n {
			return out
		}
	}
	if len(items) > 1 {
		more := fmt.Sprintf(",…+%d", len(items)-1)
		if k := n - utf8.RuneCountInString(more); k >= 8 {
			return cutMiddle(items[0], k) + more
		}
	}
	return cutMiddle(s, n)
}

// endpoints prints pid/comm/fd(access), with "mem" for a mapping.
func endpoints(eps []collector.Endpoint) string {
	parts := make([]string, 0, len(eps))
	for _, e := range eps {
		fd := "mem"
		if e.FD != collector.NoFD {
			fd = strconv.Itoa(e.FD)
		}
		parts = append(parts, fmt.Sprintf("%d/%s/%s(%s)", e.PID, e.Comm, fd, e.Access))
	}
	return strings.Join(parts, ",")
}

// num prints a known value, or "?" for an unknown one.
func num[T int | int32 | uint32 | uint64](p *T) string {
	if p == nil {
		return "?"
	}
	return fmt.Sprint(*p)
}

// details prints the type-specific attributes of one object.
func details(o collector.Object, peerOf map[uint64]*collector.Object) string {
	a := o.Attributes
	switch o.Type {
	case collector.TypePipe, collector.TypeFIFO:
		return "queued=" + num(a.QueuedBytes) + "/" + num(a.CapacityBytes)
	case collector.TypeUnixStream, collector.TypeUnixDgram, collector.TypeUnixSeqpacket:
		s := a.State
		if a.Backlog != nil {
			s += " backlog=" + num(a.Backlog) + "/" + num(a.BacklogLimit)
		} else {
			s += " rq=" + num(a.RecvQueueBytes) + " sq=" + num(a.SendQueueBytes)
		}
		if o.Peer != nil {
			s += " peer=" + strconv.FormatUint(*o.Peer, 10)
			if p := peerOf[*o.Peer]; p != nil && len(p.Endpoints) > 0 {
				s += "[" + strings.ReplaceAll(endpoints(p.Endpoints), ",", " ") + "]"
			}
		}
		return s
	case collector.TypePosixMQ:
		return "msgs=" + num(a.Messages) + "/" + num(a.MaxMessages) + " msgsize=" + num(a.MessageSize) + " bytes=" + num(a.QueuedBytes)
	case collector.TypeSysVMsg:
		return "key=" + num(a.Key) + " msgs=" + num(a.Messages) + " bytes=" + num(a.QueuedBytes) + "/" + num(a.CapacityBytes)
	case collector.TypeSysVShm:
		return "key=" + num(a.Key) + " size=" + num(a.SizeBytes) + " attached=" + num(a.Attached)
	case collector.TypeSysVSem:
		return "key=" + num(a.Key) + " sems=" + num(a.Semaphores)
	case collector.TypePosixShm:
		s := a.Kind + " size=" + num(a.SizeBytes)
		if a.Deleted {
			s += " deleted"
		}
		return s
	case collector.TypeEventfd:
		return "count=" + num(a.EventfdCount)
	case collector.TypeSignalfd:
		if a.SignalMask == nil {
			return "mask=?"
		}
		return "signals=" + signalList(*a.SignalMask)
	case collector.TypeMmap:
		return "size=" + num(a.SizeBytes) + " mapped=" + num(a.Attached)
	}
	return ""
}

// signalList prints a signal mask as signal numbers: "2,15".
func signalList(mask uint64) string {
	var s []string
	for i := range 64 {
		if mask&(1<<i) != 0 {
			s = append(s, strconv.Itoa(i+1))
		}
	}
	return strings.Join(s, "+")
}
