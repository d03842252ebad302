package collector

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// mqueueFile is the content of a file in an mqueue file system:
// "QSIZE:129        NOTIFY:0     SIGNO:0     NOTIFY_PID:0".
type mqueueFile struct {
	QSize     uint64 // bytes queued
	Notify    int    // SIGEV_* of the registered notification
	Signo     int
	NotifyPID int // 0: none registered
}

// parseMqueueFile parses the one line of an mqueue file.
func parseMqueueFile(r io.Reader) (mqueueFile, error) {
	var m mqueueFile
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return m, err
	}
	seen := 0
	for _, f := range strings.Fields(string(b)) {
		k, v, ok := strings.Cut(f, ":")
		if !ok {
			return m, fmt.Errorf("parsing mqueue file: bad field %q", f)
		}
		var err error
		switch k {
		case "QSIZE":
			m.QSize, err = strconv.ParseUint(v, 10, 64)
			seen++
		case "NOTIFY":
			m.Notify, err = strconv.Atoi(v)
		case "SIGNO":
			m.Signo, err = strconv.Atoi(v)
		case "NOTIFY_PID":
			m.NotifyPID, err = strconv.Atoi(v)
		}
		if err != nil {
			return m, fmt.Errorf("parsing mqueue file: field %s: %w", k, err)
		}
	}
	if seen == 0 {
		return m, fmt.Errorf("parsing mqueue file: no QSIZE")
	}
	return m, nil
}

// parseStatusSignals reads the signal lines of /proc/PID/status (SigQ,
// SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt); Pending joins the thread's and
// the process's pending sets.
func parseStatusSignals(r io.Reader) (SignalSets, error) {
	var s SignalSets
	var shared uint64
	sc := bufio.NewScanner(r)
	seen := 0
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		var dst *uint64
		switch k {
		case "SigQ":
			q, l, ok := strings.Cut(v, "/")
			if !ok {
				return s, fmt.Errorf("parsing status: bad SigQ %q", v)
			}
			var err1, err2 error
			s.QueuedSignals, err1 = strconv.ParseUint(q, 10, 64)
			s.QueueLimit, err2 = strconv.ParseUint(l, 10, 64)
			if err1 != nil || err2 != nil {
				return s, fmt.Errorf("parsing status: bad SigQ %q", v)
			}
			continue
		case "SigPnd":
			dst = &s.Pending
		case "ShdPnd":
			dst = &shared
		case "SigBlk":
			dst = &s.Blocked
		case "SigIgn":
			dst = &s.Ignored
		case "SigCgt":
			dst = &s.Caught
		default:
			continue
		}
		x, err := strconv.ParseUint(v, 16, 64)
		if err != nil {
			return s, fmt.Errorf("parsing status: field %s: %w", k, err)
		}
		*dst = x
		seen++
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if seen == 0 {
		return s, fmt.Errorf("parsing status: no signal masks")
	}
	s.Pending |= shared
	return s, nil
}

// fdInfo holds the /proc/PID/fdinfo/N fields the inventory needs.
type fdInfo struct {
	Flags        uint64  // octal in the file: open flags
	Ino          uint64  // ino:
	EventfdCount *uint64 // eventfd-count: (hex)
	EventfdID    *uint64 // eventfd-id: (decimal, since Linux 6.0)
	SigMask      *uint64 // sigmask: (hex, signalfd)
}

// parseFDInfo parses /proc/PID/fdinfo/N. procfs's ProcFDInfo does not keep
// the eventfd and signalfd lines.
func parseFDInfo(r io.Reader) (fdInfo, error) {
	var fi fdInfo
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		var err error
		switch k {
		case "flags":
			fi.Flags, err = strconv.ParseUint(v, 8, 64)
		case "ino":
			fi.Ino, err = strconv.ParseUint(v, 10, 64)
		case "eventfd-count":
			fi.EventfdCount, err = parseUintPtr(v, 16)
		case "eventfd-id":
			fi.EventfdID, err = parseUintPtr(v, 10)
		case "sigmask":
			fi.SigMask, err = parseUintPtr(v, 16)
		}
		if err != nil {
			return fi, fmt.Errorf("parsing fdinfo: field %s: %w", k, err)
		}
	}
	return fi, sc.Err()
}

func parseUintPtr(s string, base int) (*uint64, error) {
	v, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// parseNSLink parses a /proc/PID/ns/* link target, "net:[4026531840]", into
// the namespace inode.
func parseNSLink(s string) (uint64, error) {
	_, rest, ok := strings.Cut(s, ":[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return 0, fmt.Errorf("parsing namespace link %q", s)
	}
	return strconv.ParseUint(rest[:len(rest)-1], 10, 64)
}

// parseFDTarget splits an fd link target of the form "pipe:[1234]",
// "socket:[1234]" or "anon_inode:[eventfd]" into its kind and bracketed part.
func parseFDTarget(s string) (kind, inner string, ok bool) {
	i := strings.Index(s, ":[")
	if i <= 0 || !strings.HasSuffix(s, "]") || strings.HasPrefix(s, "/") {
		return "", "", false
	}
	return s[:i], s[i+2 : len(s)-1], true
}
