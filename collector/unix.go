package collector

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// unixSockets finds the Unix domain sockets (unix_stream, unix_dgram,
// unix_seqpacket) of every network namespace a process uses, through
// sock_diag, and maps their inodes to the processes holding them through
// the "socket:[INODE]" fd links.
func (b *build) unixSockets() {
	type key struct{ ns, ino uint64 }
	holders := map[key][]Endpoint{}
	// The endpoints, most sockets having one, share one allocation.
	n := 0
	for _, p := range b.procs {
		for _, e := range p.FDs {
			if e.Kind == fdSocket {
				n++
			}
		}
	}
	slab := make([]Endpoint, 0, n)
	nsPID := map[uint64]int{} // a process in each network namespace
	var nsOrder []uint64
	for _, p := range b.procs {
		if p.NetNS == 0 {
			continue
		}
		if _, ok := nsPID[p.NetNS]; !ok {
			nsPID[p.NetNS] = p.PID
			nsOrder = append(nsOrder, p.NetNS)
		}
		for _, e := range p.FDs {
			if e.Kind != fdSocket {
				continue
			}
			k := key{p.NetNS, e.Ino}
			ep := endpoint(p, e.FD, e.Access)
			if h, ok := holders[k]; ok {
				holders[k] = append(h, ep)
			} else {
				slab = append(slab, ep)
				holders[k] = slab[len(slab)-1 : len(slab) : len(slab)]
			}
		}
	}
	own := ownNS("net")
	for _, ns := range nsOrder {
		path := b.c.opts.ProcRoot + "/" + strconv.Itoa(nsPID[ns]) + "/ns/net"
		socks, err := dumpUnixSockets(path, ns != own)
		if err != nil {
			b.missing(fmt.Sprintf("unix sockets in network namespace %d", ns), err.Error())
			continue
		}
		b.inv.Objects = slices.Grow(b.inv.Objects, len(socks))
		for _, d := range socks {
			typ := unixType(d.Type)
			if typ == "" {
				continue
			}
			o := Object{Type: typ, ID: uint64(d.Inode), Name: unixName(d.Name)}
			a := &o.Attributes
			a.Namespace = ns
			a.State = unixState(d.State)
			a.Abstract = strings.HasPrefix(d.Name, "\x00")
			if d.Peer != 0 {
				o.Peer = b.u64(uint64(d.Peer))
			}
			if d.HasQueue {
				if d.State == unix.BPF_TCP_LISTEN {
					a.Backlog, a.BacklogLimit = b.u64(uint64(d.RQueue)), b.u64(uint64(d.WQueue))
				} else {
					a.RecvQueueBytes, a.SendQueueBytes = b.u64(uint64(d.RQueue)), b.u64(uint64(d.WQueue))
				}
			}
			o.Endpoints = holders[key{ns, uint64(d.Inode)}]
			b.inv.Objects = append(b.inv.Objects, o)
		}
	}
}

// dumpUnixSockets asks sock_diag for every AF_UNIX socket of the network
// namespace at nsPath, entering it on a thread of its own when enter is set.
func dumpUnixSockets(nsPath string, enter bool) ([]unixDiag, error) {
	var out []unixDiag
	err := inThread(func() error {
		if enter {
			if err := enterNS(nsPath, unix.CLONE_NEWNET); err != nil {
				return err
			}
		}
		s, err := nl.GetNetlinkSocketAt(netns.None(), netns.None(), unix.NETLINK_SOCK_DIAG)
		if err != nil {
			return fmt.Errorf("opening sock_diag socket: %w", err)
		}
		defer s.Close()
		// A dump that changes while it is read is marked interrupted: retry.
		for range 3 {
			out = out[:0]
			var perr error
			req := nl.NewNetlinkRequest(nl.SOCK_DIAG_BY_FAMILY, unix.NLM_F_DUMP)
			req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_SOCK_DIAG: {Socket: s}}
			req.AddRawData(unixDiagRequest())
			err = req.ExecuteIter(unix.NETLINK_SOCK_DIAG, nl.SOCK_DIAG_BY_FAMILY, func(msg []byte) bool {
				d, err := parseUnixDiag(msg)
				if err != nil {
					perr = err
					return false
				}
				out = append(out, d)
				return true
			})
			if perr != nil {
				return perr
			}
			if !errors.Is(err, nl.ErrDumpInterrupted) {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("dumping unix sockets: %w", err)
		}
		return nil
	})
	return out, err
}

func unixType(t uint8) string {
	switch t {
	case unix.SOCK_STREAM:
		return TypeUnixStream
	case unix.SOCK_DGRAM:
		return TypeUnixDgram
	case unix.SOCK_SEQPACKET:
		return TypeUnixSeqpacket
	}
	return ""
}

func unixState(s uint8) string {
	switch s {
	case unix.BPF_TCP_ESTABLISHED:
		return "established"
	case unix.BPF_TCP_CLOSE:
		return "unconnected"
	case unix.BPF_TCP_LISTEN:
		return "listen"
	case unix.BPF_TCP_SYN_SENT:
		return "connecting"
	case unix.BPF_TCP_CLOSE_WAIT:
		return "close_wait"
	}
	return "state_" + strconv.Itoa(int(s))
}

// unixName shows an abstract name with a leading @, as ss and lsfd do.
func unixName(n string) string {
	if strings.HasPrefix(n, "\x00") {
		return "@" + strings.ReplaceAll(n[1:], "\x00", "@")
	}
	return n
}
