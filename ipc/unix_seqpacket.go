package ipc

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// unix_seqpacket: a Unix seqpacket socket listening on an abstract address
// ("\x00ipcwatch-PID-N-seqpacket"), which names no file and vanishes with
// the socket. The peer connects; the creator accepts once the peer has
// joined. Each message is one packet: one send and one receive.
type unixSeqpacketMech struct{}

func init() { register(unixSeqpacketMech{}) }

func (unixSeqpacketMech) Name() string { return "unix_seqpacket" }

// MaxSize: af_unix sends a seqpacket message as a datagram, with the same
// send-buffer limit.
func (unixSeqpacketMech) MaxSize() (int, string) { return unixDatagramMax() }

func (unixSeqpacketMech) Create(ch *Channel) (Endpoint, error) {
	name := "\x00" + ch.ID + "-seqpacket"
	l, err := listenSocket(unix.AF_UNIX, unix.SOCK_SEQPACKET, &unix.SockaddrUnix{Name: name}, ch.Timeout)
	if err != nil {
		return nil, fmt.Errorf("listening on abstract address @%s: %w", name[1:], err)
	}
	ch.Params["address"] = name
	return &seqpacketConn{datagramFD: datagramFD{fd: -1, timeout: ch.Timeout}, listener: l}, nil
}

func (unixSeqpacketMech) Join(ch *Channel) (Endpoint, error) {
	name := ch.Params["address"]
	fd, err := dialSocket(unix.AF_UNIX, unix.SOCK_SEQPACKET, &unix.SockaddrUnix{Name: name}, ch.Timeout)
	if err == nil {
		err = fitDatagrams(fd, ch.Size)
	}
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("connecting to abstract address @%s: %w", name[min(1, len(name)):], err)
	}
	ch.Params["peer_pid"] = strconv.Itoa(os.Getpid())
	return &datagramFD{fd: fd, timeout: ch.Timeout}, nil
}

// seqpacketConn is the creator's end: a listener until the peer has joined,
// then the accepted connection.
type seqpacketConn struct {
	datagramFD // -1 until Accept
	listener   int
}

func (e *seqpacketConn) Accept(ch *Channel) error {
	fd, err := acceptOne(&e.listener, ch.Timeout)
	if err != nil {
		return err
	}
	e.fd = fd
	if err := checkPeerCred(fd, ch); err != nil {
		return err
	}
	return fitDatagrams(fd, ch.Size)
}

func (e *seqpacketConn) Close() error {
	err := closeFD(&e.listener)
	if cerr := e.datagramFD.Close(); err == nil {
		err = cerr
	}
	return err
}
