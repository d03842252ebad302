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

// maxName is the widest NAME column on a terminal.
const maxName = 40

// writeTable prints one row per object. With width > 0 (a terminal), long
// names are cut in the middle and endpoint lists cut to fit the line.
func writeTable(w io.Writer, objs []collector.Object, peerOf map[uint64]*collector.Object, width int) error {
	header := []string{"TYPE", "ID", "NAME", "DETAILS", "ENDPOINTS"}
	rows := [][]string{header}
	for _, o := range objs {
		name := o.Name
		if width > 0 {
			name = cutMiddle(name, maxName)
		}
		rows = append(rows, []string{o.Type, strconv.FormatUint(o.ID, 10), orDash(name), orDash(details(o, peerOf)), orDash(endpoints(o.Endpoints))})
	}
	widths := make([]int, len(header)-1)
	for _, r := range rows {
		for i := range widths {
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i]))
		}
	}
	budget := 0
	if width > 0 {
		used := 0
		for _, n := range widths {
			used += n + 2
		}
		budget = max(width-used, 20)
	}
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		for i, n := range widths {
			b.WriteString(r[i])
			b.WriteString(strings.Repeat(" ", n-utf8.RuneCountInString(r[i])+2))
		}
		last := r[len(r)-1]
		if budget > 0 {
			last = cutList(last, budget)
		}
		b.WriteString(last)
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
