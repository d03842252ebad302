package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
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
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return SignalSets{}, err
	}
	return parseStatusSignalsBytes(b)
}

// parseStatusSignalsBytes is parseStatusSignals on the file's content; it
// allocates nothing unless the file is malformed.
func parseStatusSignalsBytes(b []byte) (SignalSets, error) {
	var s SignalSets
	var shared uint64
	seen := 0
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		var dst *uint64
		switch string(k) {
		case "SigQ":
			q, l, ok := bytes.Cut(v, []byte("/"))
			var ok1, ok2 bool
			s.QueuedSignals, ok1 = atou(q)
			s.QueueLimit, ok2 = atou(l)
			if !ok || !ok1 || !ok2 {
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
		x, ok := atox(v)
		if !ok {
			return s, fmt.Errorf("parsing status: field %s: bad mask %q", k, v)
		}
		*dst = x
		seen++
	}
	if seen == 0 {
		return s, fmt.Errorf("parsing status: no signal masks")
	}
	s.Pending |= shared
	return s, nil
}

// statusName returns the Name of /proc/PID/status, which is comm with
// newlines and backslashes escaped ("\\n", "\\\\"), unescaped. It uses
// the space of b.
func statusName(b []byte) ([]byte, bool) {
	v, ok := bytes.CutPrefix(b, []byte("Name:\t"))
	if !ok {
		return nil, false
	}
	if i := bytes.IndexByte(v, '\n'); i >= 0 {
		v = v[:i]
	} else {
		return nil, false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v, true
	}
	out := v[:0]
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case 'n':
				c, i = '\n', i+1
			case '\\':
				i++
			}
		}
		out = append(out, c)
	}
	return out, true
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
	ino, ok := nsLinkInode([]byte(s))
	if !ok {
		return 0, fmt.Errorf("parsing namespace link %q", s)
	}
	return ino, nil
}

// nsLinkInode is parseNSLink without allocating.
func nsLinkInode(link []byte) (uint64, bool) {
	i := bytes.IndexByte(link, ':')
	if i < 0 {
		return 0, false
	}
	return bracketed(link[i+1:], "")
}

// bracketed returns N in a link prefix + "[N]" ("pipe:[12]",
// "net:[4026531840]") as a number.
func bracketed(link []byte, prefix string) (uint64, bool) {
	rest, ok := bytes.CutPrefix(link, []byte(prefix))
	if !ok || len(rest) < 3 || rest[0] != '[' || rest[len(rest)-1] != ']' {
		return 0, false
	}
	return atou(rest[1 : len(rest)-1])
}

// atou parses a decimal number of at most 19 digits with nothing else
// around it.
func atou(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// mapping is one shared file mapping in /proc/PID/maps.
type mapping struct {
	Dev, Ino uint64
	Path     string
	Access   string
}

// parseSharedMaps appends to dst the MAP_SHARED file mappings of a
// /proc/PID/maps file: lines whose permissions end in 's', with an inode and
// a path. A line is "START-END PERMS OFFSET MAJOR:MINOR INODE   PATH", the
// path being the rest of the line (it may hold spaces and ends in
// " (deleted)" for an unlinked file). Other lines, the most by far, are
// skipped after their permissions are seen, without allocating.
func parseSharedMaps(b []byte, dst []mapping) []mapping {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		_, rest, ok := bytes.Cut(line, []byte(" "))
		if !ok || len(rest) < 5 || rest[3] != 's' || rest[4] != ' ' {
			continue
		}
		perms := rest[:4]
		f := bytes.SplitN(rest[5:], []byte(" "), 4) // offset, device, inode, padding and path
		if len(f) != 4 {
			continue
		}
		major, minor, ok := bytes.Cut(f[1], []byte(":"))
		if !ok {
			continue
		}
		maj, ok1 := atox(major)
		mnr, ok2 := atox(minor)
		ino, ok3 := atou(f[2])
		path := bytes.TrimLeft(f[3], " ")
		if !ok1 || !ok2 || !ok3 || ino == 0 || len(path) == 0 || path[0] != '/' || maj > 0xffffffff || mnr > 0xffffffff {
			continue
		}
		dst = append(dst, mapping{
			Dev: unix.Mkdev(uint32(maj), uint32(mnr)), Ino: ino, Path: string(path),
			Access: access(perms[0] == 'r', perms[1] == 'w'),
		})
	}
	return dst
}

// atox parses a hexadecimal number of at most 16 digits with nothing else
// around it.
func atox(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}
