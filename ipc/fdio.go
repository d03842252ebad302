package ipc

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// streamFD is an endpoint over byte-stream descriptors (pipes, FIFOs, stream
// sockets): a message may take several reads or writes, with no boundaries.
type streamFD struct {
	r, w int
}

func (e *streamFD) Send(msg []byte) error { return writeFull(e.w, msg) }
func (e *streamFD) Recv(buf []byte) error { return readFull(e.r, buf) }

func (e *streamFD) Close() error {
	err := unix.Close(e.r)
	if e.w != e.r {
		if werr := unix.Close(e.w); err == nil {
			err = werr
		}
	}
	return err
}

// writeFull writes all of b to a blocking fd.
func writeFull(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// readFull fills b from a blocking fd; end of file before that is an error.
func readFull(fd int, b []byte) error {
	got := 0
	for got < len(b) {
		n, err := unix.Read(fd, b[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w after %d of %d bytes: peer closed its end", io.ErrUnexpectedEOF, got, len(b))
		}
		got += n
	}
	return nil
}

// inherited returns the raw descriptor of the peer's i-th inherited file.
func inherited(ch *Channel, i int) (int, error) {
	if i >= len(ch.Files) {
		return -1, fmt.Errorf("peer inherited %d files, wants file %d", len(ch.Files), i)
	}
	return int(ch.Files[i].Fd()), nil
}

// handOver passes fd to the peer: it is closed here once the peer has started.
func handOver(ch *Channel, fd int, name string) {
	ch.Files = append(ch.Files, os.NewFile(uintptr(fd), name))
}
