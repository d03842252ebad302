package ipc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorrupt reports a message whose content is not what was sent.
var ErrCorrupt = errors.New("corrupt message")

// payload builds and checks messages. Every byte is a function of the message
// size; the sequence number is stamped at both ends of the message, so a short,
// reordered, duplicated or altered message fails the check.
type payload struct {
	want []byte // the expected message for the current sequence number
}

func newPayload(size int) *payload {
	p := &payload{want: make([]byte, size)}
	for i := range p.want {
		p.want[i] = byte(i*131 + size)
	}
	return p
}

// stamp writes message seq into msg, which has the payload's size.
func (p *payload) stamp(msg []byte, seq uint64) {
	copy(msg, p.want)
	stampSeq(msg, seq)
}

// check verifies that msg is message seq.
func (p *payload) check(msg []byte, seq uint64) error {
	if len(msg) != len(p.want) {
		return fmt.Errorf("%w: %d bytes, want %d", ErrCorrupt, len(msg), len(p.want))
	}
	stampSeq(p.want, seq)
	if !bytes.Equal(msg, p.want) {
		return fmt.Errorf("%w: message %d differs from what was sent", ErrCorrupt, seq)
	}
	return nil
}

// stampSeq puts seq in the first and last 8 bytes, or as much as fits.
func stampSeq(b []byte, seq uint64) {
	var s [8]byte
	binary.LittleEndian.PutUint64(s[:], seq)
	copy(b, s[:])
	if len(b) > 8 {
		n := min(8, len(b)-8)
		copy(b[len(b)-n:], s[:n])
	}
}
