package ipc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// pipe: two anonymous pipes, one each way; the peer inherits its ends.
type pipeMech struct{}

func init() { register(pipeMech{}) }

func (pipeMech) Name() string { return "pipe" }

// MaxSize: a pipe is a byte stream; messages larger than its buffer take
// several writes. ipcwatch caps messages at 1 MiB.
func (pipeMech) MaxSize() (int, string) { return MaxMessage, "ipcwatch's message cap" }

func (pipeMech) Create(ch *Channel) (Endpoint, error) {
	var toPeer, fromPeer [2]int
	if err := unix.Pipe2(toPeer[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("creating pipe: %w", err)
	}
	if err := unix.Pipe2(fromPeer[:], unix.O_CLOEXEC); err != nil {
		unix.Close(toPeer[0])
		unix.Close(toPeer[1])
		return nil, fmt.Errorf("creating pipe: %w", err)
	}
	handOver(ch, toPeer[0], "pipe-peer-read")
	handOver(ch, fromPeer[1], "pipe-peer-write")
	return &streamFD{r: fromPeer[0], w: toPeer[1]}, nil
}

func (pipeMech) Join(ch *Channel) (Endpoint, error) {
	r, err := inherited(ch, 0)
	if err != nil {
		return nil, err
	}
	w, err := inherited(ch, 1)
	if err != nil {
		return nil, err
	}
	return &streamFD{r: r, w: w}, nil
}
