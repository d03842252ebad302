package ipc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// fifo: two named pipes in the channel's directory, one each way. Opening a
// FIFO for writing waits for a reader, so each side opens its read end first
// (without blocking) and the creator opens its write end once the peer has
// joined.
type fifoMech struct{}

func init() { register(fifoMech{}) }

func (fifoMech) Name() string { return "fifo" }

func (fifoMech) MaxSize() (int, string) { return MaxMessage, "ipcwatch's message cap" }

type fifoEndpoint struct {
	streamFD
	writePath string
}

func (fifoMech) Create(ch *Channel) (Endpoint, error) {
	toPeer, fromPeer := ch.Path("to-peer.fifo"), ch.Path("from-peer.fifo")
	for _, p := range []string{toPeer, fromPeer} {
		if err := ch.track(kindPath, p); err != nil {
			return nil, err
		}
		if err := unix.Mkfifo(p, 0o600); err != nil {
			return nil, fmt.Errorf("creating FIFO %s: %w", p, err)
		}
	}
	ch.Params["to_peer"], ch.Params["from_peer"] = toPeer, fromPeer
	r, err := openReadEnd(fromPeer)
	if err != nil {
		return nil, err
	}
	return &fifoEndpoint{streamFD: streamFD{r: r, w: -1}, writePath: toPeer}, nil
}

// Accept opens the write end once the peer holds the read end.
func (e *fifoEndpoint) Accept(*Channel) error {
	w, err := unix.Open(e.writePath, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening FIFO %s for writing: %w", e.writePath, err)
	}
	e.w = w
	return nil
}

func (e *fifoEndpoint) Close() error {
	if e.w < 0 {
		return unix.Close(e.r)
	}
	return e.streamFD.Close()
}

func (fifoMech) Join(ch *Channel) (Endpoint, error) {
	r, err := openReadEnd(ch.Params["to_peer"])
	if err != nil {
		return nil, err
	}
	w, err := unix.Open(ch.Params["from_peer"], unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(r)
		return nil, fmt.Errorf("opening FIFO for writing: %w", err)
	}
	return &streamFD{r: r, w: w}, nil
}

// openReadEnd opens a FIFO for reading without waiting for a writer, then
// makes reads block.
func openReadEnd(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening FIFO %s for reading: %w", path, err)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("making FIFO %s blocking: %w", path, err)
	}
	return fd, nil
}
