package collector

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The /proc/sysvipc files: a header line naming the columns, then one line
// per object in the reader's IPC namespace. Columns are found by header name
// so that columns added by newer kernels (rss, swap) do not matter.

// sysvMsg is one line of /proc/sysvipc/msg.
type sysvMsg struct {
	Key         int32
	ID          int
	Mode        uint32
	Bytes       uint64 // cbytes
	Messages    uint64 // qnum
	LastSendPID int
	LastRecvPID int
	UID, CUID   uint32
}

// sysvShm is one line of /proc/sysvipc/shm.
type sysvShm struct {
	Key        int32
	ID         int
	Mode       uint32
	Size       uint64
	CreatorPID int
	LastPID    int
	Attached   uint64
	UID, CUID  uint32
}

// sysvSem is one line of /proc/sysvipc/sem.
type sysvSem struct {
	Key       int32
	ID        int
	Mode      uint32
	NSems     uint64
	UID, CUID uint32
}

// sysvRows reads a /proc/sysvipc file into rows keyed by column name.
func sysvRows(r io.Reader, required ...string) ([]map[string]string, error) {
	s := bufio.NewScanner(r)
	if !s.Scan() {
		if err := s.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("missing header")
	}
	header := strings.Fields(s.Text())
	for _, col := range required {
		if !strings.Contains(" "+strings.Join(header, " ")+" ", " "+col+" ") {
			return nil, fmt.Errorf("header has no column %q", col)
		}
	}
	var rows []map[string]string
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != len(header) {
			return nil, fmt.Errorf("line has %d fields, header %d: %q", len(fields), len(header), s.Text())
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			row[h] = fields[i]
		}
		rows = append(rows, row)
	}
	return rows, s.Err()
}

// rowParser converts the columns of one row, remembering the first error.
type rowParser struct {
	row map[string]string
	err error
}

func (p *rowParser) uint(col string, bits int) uint64 {
	v, err := strconv.ParseUint(p.row[col], 10, bits)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("column %s: %w", col, err)
	}
	return v
}

func (p *rowParser) int(col string, bits int) int64 {
	v, err := strconv.ParseInt(p.row[col], 10, bits)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("column %s: %w", col, err)
	}
	return v
}

func (p *rowParser) mode() uint32 {
	v, err := strconv.ParseUint(p.row["perms"], 8, 32)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("column perms: %w", err)
	}
	return uint32(v)
}

// parseSysVMsg parses /proc/sysvipc/msg.
func parseSysVMsg(r io.Reader) ([]sysvMsg, error) {
	rows, err := sysvRows(r, "key", "msqid", "perms", "cbytes", "qnum", "lspid", "lrpid", "uid", "cuid")
	if err != nil {
		return nil, fmt.Errorf("parsing sysvipc/msg: %w", err)
	}
	out := make([]sysvMsg, 0, len(rows))
	for _, row := range rows {
		p := rowParser{row: row}
		m := sysvMsg{
			Key: int32(p.int("key", 32)), ID: int(p.int("msqid", 32)), Mode: p.mode(),
			Bytes: p.uint("cbytes", 64), Messages: p.uint("qnum", 64),
			LastSendPID: int(p.int("lspid", 32)), LastRecvPID: int(p.int("lrpid", 32)),
			UID: uint32(p.uint("uid", 32)), CUID: uint32(p.uint("cuid", 32)),
		}
		if p.err != nil {
			return nil, fmt.Errorf("parsing sysvipc/msg: %w", p.err)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseSysVShm parses /proc/sysvipc/shm.
func parseSysVShm(r io.Reader) ([]sysvShm, error) {
	rows, err := sysvRows(r, "key", "shmid", "perms", "size", "cpid", "lpid", "nattch", "uid", "cuid")
	if err != nil {
		return nil, fmt.Errorf("parsing sysvipc/shm: %w", err)
	}
	out := make([]sysvShm, 0, len(rows))
	for _, row := range rows {
		p := rowParser{row: row}
		m := sysvShm{
			Key: int32(p.int("key", 32)), ID: int(p.int("shmid", 32)), Mode: p.mode(),
			Size: p.uint("size", 64), CreatorPID: int(p.int("cpid", 32)), LastPID: int(p.int("lpid", 32)),
			Attached: p.uint("nattch", 64), UID: uint32(p.uint("uid", 32)), CUID: uint32(p.uint("cuid", 32)),
		}
		if p.err != nil {
			return nil, fmt.Errorf("parsing sysvipc/shm: %w", p.err)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseSysVSem parses /proc/sysvipc/sem.
func parseSysVSem(r io.Reader) ([]sysvSem, error) {
	rows, err := sysvRows(r, "key", "semid", "perms", "nsems", "uid", "cuid")
	if err != nil {
		return nil, fmt.Errorf("parsing sysvipc/sem: %w", err)
	}
	out := make([]sysvSem, 0, len(rows))
	for _, row := range rows {
		p := rowParser{row: row}
		m := sysvSem{
			Key: int32(p.int("key", 32)), ID: int(p.int("semid", 32)), Mode: p.mode(),
			NSems: p.uint("nsems", 64), UID: uint32(p.uint("uid", 32)), CUID: uint32(p.uint("cuid", 32)),
		}
		if p.err != nil {
			return nil, fmt.Errorf("parsing sysvipc/sem: %w", p.err)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseUints parses a /proc/sys file of whitespace-separated numbers
// (kernel/sem holds four, kernel/msgmni one).
func parseUints(r io.Reader) ([]uint64, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, f := range strings.Fields(string(b)) {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parsing %q: %w", f, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no number")
	}
	return out, nil
}
