// Package ipc is ipcwatch's own implementation of every IPC mechanism it watches.
//
// Each mechanism creates a channel between two real processes: the creator (the
// calling process) and a peer, which is the same binary re-executed with a hidden
// subcommand. The package measures round-trip latency and one-way throughput over
// the channel, checks every payload, bounds every wait, and removes every kernel
// object it creates, also after errors and signals; objects left behind by a
// killed run are swept at the next start.
//
// The package imports nothing else of ipcwatch and nothing of Prometheus.
package ipc

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Endpoint is one end of a channel. Send and Recv move whole messages: Send
// returns once the channel has accepted all of msg, Recv once buf is full.
type Endpoint interface {
	Send(msg []byte) error
	Recv(buf []byte) error
	Close() error
}

// Mechanism makes channels of one kind.
type Mechanism interface {
	// Name is the mechanism's name as in ARCHITECTURE.md ("posix_mq").
	Name() string
	// MaxSize is the largest message the mechanism carries on this machine
	// and the name of the limit that sets it ("/proc/sys/kernel/msgmax").
	MaxSize() (int, string)
	// Create makes the channel's kernel objects in the calling process,
	// records them in ch and returns the creator's endpoint.
	Create(ch *Channel) (Endpoint, error)
	// Join opens the peer's endpoint from what Create recorded in ch.
	Join(ch *Channel) (Endpoint, error)
}

// Interrupter is implemented by endpoints whose blocking calls neither time
// out by themselves nor end when the peer dies. Interrupt wakes a blocked
// Send or Recv, which then fails.
type Interrupter interface {
	Interrupt()
}

// ErrUnknownMechanism is returned by Lookup for a name no mechanism has.
var ErrUnknownMechanism = errors.New("unknown mechanism")

// ErrTooLarge is returned when a message size exceeds a mechanism's limit.
var ErrTooLarge = errors.New("message too large")

var registry = map[string]Mechanism{}

func register(m Mechanism) {
	if _, dup := registry[m.Name()]; dup {
		panic("ipc: mechanism registered twice: " + m.Name())
	}
	registry[m.Name()] = m
}

// Names lists every mechanism, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the mechanism with the given name.
func Lookup(name string) (Mechanism, error) {
	m, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownMechanism, name, strings.Join(Names(), ", "))
	}
	return m, nil
}

// CheckSize reports whether m can carry messages of size bytes.
func CheckSize(m Mechanism, size int) error {
	if size <= 0 {
		return fmt.Errorf("message size must be positive, got %d", size)
	}
	max, limit := m.MaxSize()
	if size > max {
		return fmt.Errorf("%w: %s carries at most %d bytes (%s), asked for %d", ErrTooLarge, m.Name(), max, limit, size)
	}
	return nil
}

// MaxMessage is the largest message ipcwatch sends on any mechanism: 1 MiB.
const MaxMessage = 1 << 20
