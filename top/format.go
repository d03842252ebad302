package top

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// count prints a rate or count in at most 6 characters: 950, 12.3k, 4.5M.
func count(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10 && v != float64(int64(v)):
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v < 10000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v < 1e6:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	case v < 1e9:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	}
	return strconv.FormatFloat(v/1e9, 'f', 1, 64) + "G"
}

// size prints bytes (or bytes per second) in powers of 1024: 512, 12.0K.
func size(v float64) string {
	const units = "KMGTP"
	if v < 1024 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	i := -1
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + units[i:i+1]
}

// sizePtr prints a known size, or "?".
func sizePtr(p *uint64) string {
	if p == nil {
		return "?"
	}
	return size(float64(*p))
}

// latency prints a duration with 3 significant digits: 850ns, 12.3µs, 1.20ms.
func latency(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	f := float64(d)
	unit := []struct {
		div  float64
		name string
	}{{1, "ns"}, {1e3, "µs"}, {1e6, "ms"}, {1e9, "s"}}
	i := 0
	for i < len(unit)-1 && f >= unit[i+1].div {
		i++
	}
	v := f / unit[i].div
	prec := 0
	switch {
	case i == 0:
	case v < 10:
		prec = 2
	case v < 100:
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + unit[i].name
}

// percent prints a ratio as a percentage: 0.35 is 35%.
func percent(v float64) string {
	if v < 0.0005 {
		return "0%"
	}
	if v < 0.1 {
		return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
}

// ends prints processes as pid/comm, separated by spaces.
func ends(es []End) string {
	if len(es) == 0 {
		return "?"
	}
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = endName(e.PID, e.Comm)
	}
	return strings.Join(parts, " ")
}

func endName(pid int, comm string) string {
	if comm == "" {
		return strconv.Itoa(pid)
	}
	return fmt.Sprintf("%d/%s", pid, comm)
}

// cutMiddle shortens s to n runes, keeping both ends.
func cutMiddle(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	head := (n - 1) / 2
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func intList(v []int) string {
	if len(v) == 0 {
		return "-"
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}
