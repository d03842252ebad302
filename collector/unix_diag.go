package collector

import (
	"encoding/binary"
	"fmt"
)

// sock_diag for AF_UNIX, from linux/unix_diag.h (ABI since Linux 3.3).
const (
	unixDiagName     = 0
	unixDiagVFS      = 1
	unixDiagPeer     = 2
	unixDiagRQLen    = 4
	unixDiagShutdown = 6
	unixDiagUID      = 7

	udiagShowName  = 0x01
	udiagShowVFS   = 0x02
	udiagShowPeer  = 0x04
	udiagShowRQLen = 0x10
	udiagShowUID   = 0x40

	sizeofUnixDiagMsg = 16
	sizeofUnixDiagReq = 24
)

// unixDiag is one AF_UNIX socket as sock_diag reports it.
type unixDiag struct {
	Type     uint8  // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
	State    uint8  // TCP_ESTABLISHED, TCP_CLOSE, TCP_LISTEN
	Inode    uint32 // socket inode: the id in the inventory
	Name     string // path, "\x00abstract", or "" when unbound
	HasName  bool
	Peer     uint32 // 0: none
	HasQueue bool
	RQueue   uint32 // listen: connections waiting; else bytes to read
	WQueue   uint32 // listen: backlog limit; else bytes sent not yet consumed
	VFSIno   uint32 // inode of the bound path in the file system
	VFSDev   uint32
	UID      *uint32
	Shutdown uint8
}

// unixDiagRequest is a struct unix_diag_req dumping every AF_UNIX socket
// with the attributes the inventory uses.
func unixDiagRequest() []byte {
	b := make([]byte, sizeofUnixDiagReq)
	b[0] = 1 // AF_UNIX
	binary.NativeEndian.PutUint32(b[4:], ^uint32(0))
	binary.NativeEndian.PutUint32(b[12:], udiagShowName|udiagShowVFS|udiagShowPeer|udiagShowRQLen|udiagShowUID)
	return b
}

// parseUnixDiag parses the payload of one SOCK_DIAG_BY_FAMILY answer: a
// struct unix_diag_msg followed by netlink attributes.
func parseUnixDiag(b []byte) (unixDiag, error) {
	var d unixDiag
	if len(b) < sizeofUnixDiagMsg {
		return d, fmt.Errorf("parsing unix_diag_msg: %d bytes, want %d", len(b), sizeofUnixDiagMsg)
	}
	if b[0] != 1 {
		return d, fmt.Errorf("parsing unix_diag_msg: family %d is not AF_UNIX", b[0])
	}
	d.Type, d.State = b[1], b[2]
	d.Inode = binary.NativeEndian.Uint32(b[4:])
	b = b[sizeofUnixDiagMsg:]
	for len(b) >= 4 {
		alen := int(binary.NativeEndian.Uint16(b))
		atype := binary.NativeEndian.Uint16(b[2:]) & 0x3fff // without NLA_F_NESTED, NLA_F_NET_BYTEORDER
		if alen < 4 || alen > len(b) {
			return d, fmt.Errorf("parsing unix_diag attribute: length %d of %d bytes", alen, len(b))
		}
		v := b[4:alen]
		switch atype {
		case unixDiagName:
			d.Name, d.HasName = string(trimNul(v)), true
		case unixDiagVFS:
			if len(v) >= 8 {
				d.VFSIno = binary.NativeEndian.Uint32(v)
				d.VFSDev = binary.NativeEndian.Uint32(v[4:])
			}
		case unixDiagPeer:
			if len(v) >= 4 {
				d.Peer = binary.NativeEndian.Uint32(v)
			}
		case unixDiagRQLen:
			if len(v) >= 8 {
				d.HasQueue = true
				d.RQueue = binary.NativeEndian.Uint32(v)
				d.WQueue = binary.NativeEndian.Uint32(v[4:])
			}
		case unixDiagShutdown:
			if len(v) >= 1 {
				d.Shutdown = v[0]
			}
		case unixDiagUID:
			if len(v) >= 4 {
				u := binary.NativeEndian.Uint32(v)
				d.UID = &u
			}
		}
		next := (alen + 3) &^ 3
		if next > len(b) {
			break
		}
		b = b[next:]
	}
	return d, nil
}

// trimNul drops the NUL that ends a path name; an abstract name starts with
// NUL and has none at the end.
func trimNul(v []byte) []byte {
	if len(v) > 0 && v[0] != 0 {
		for i, c := range v {
			if c == 0 {
				return v[:i]
			}
		}
	}
	return v
}
