package ipc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"
)

// firstFile is the descriptor of the first file the peer inherits: the
// control socket, then the channel's files.
const firstFile = 3

// IsPeer tells whether args (os.Args[1:]) ask this process to be a peer.
func IsPeer(args []string) bool { return len(args) > 0 && args[0] == PeerArg }

// ServePeer runs this process as the peer of a channel described by its
// environment and returns the exit code. The binary's main calls it when
// IsPeer(os.Args[1:]).
func ServePeer() int {
	ctl := os.NewFile(firstFile, "ipc-control")
	if err := servePeer(ctl); err != nil {
		fmt.Fprintln(os.Stderr, "ipcwatch peer:", err)
		b, _ := json.Marshal(ctlMsg{Error: err.Error()})
		ctl.Write(b)
		return 1
	}
	return 0
}

func servePeer(ctl *os.File) error {
	var spec peerSpec
	if err := json.Unmarshal([]byte(os.Getenv(specEnv)), &spec); err != nil {
		return fmt.Errorf("reading peer spec from $%s: %w", specEnv, err)
	}
	m, err := Lookup(spec.Mechanism)
	if err != nil {
		return err
	}
	unpin, err := pinThread(spec.CPU)
	if err != nil {
		return err
	}
	defer unpin()
	// The peer allocates nothing while it serves; a collection would only
	// add noise to the measurement.
	debug.SetGCPercent(-1)

	ch := &Channel{Mechanism: spec.Mechanism, Size: spec.Size, ID: spec.ID, Dir: "",
		Params: spec.Params, Timeout: time.Duration(spec.TimeoutNS)}
	if ch.Params == nil {
		ch.Params = map[string]string{}
	}
	for i := 0; i < spec.Files; i++ {
		ch.Files = append(ch.Files, os.NewFile(uintptr(firstFile+1+i), fmt.Sprintf("ipc-file-%d", i)))
	}
	ch.Dir = spec.Dir // for paths; the creator removes it
	before := len(ch.Params)
	ep, err := m.Join(ch)
	if err != nil {
		return fmt.Errorf("joining %s channel: %w", spec.Mechanism, err)
	}
	defer ep.Close()
	ready := ctlMsg{Ready: true}
	if len(ch.Params) != before {
		ready.Params = ch.Params
	}
	enc := json.NewEncoder(ctl)
	dec := json.NewDecoder(ctl)
	if err := enc.Encode(ready); err != nil {
		return fmt.Errorf("reporting ready: %w", err)
	}

	p := newPayload(spec.Size)
	buf := make([]byte, spec.Size)
	for {
		var cmd ctlMsg
		if err := dec.Decode(&cmd); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the creator is gone or done
			}
			return fmt.Errorf("reading command: %w", err)
		}
		var err error
		switch cmd.Op {
		case "echo":
			err = echo(ep, p, buf, cmd.N)
		case "sink":
			err = sink(ep, p, buf, cmd.N)
		case "exit":
			return nil
		default:
			err = fmt.Errorf("unknown command %q", cmd.Op)
		}
		if err != nil {
			return err
		}
		if err := enc.Encode(ctlMsg{OK: true}); err != nil {
			return fmt.Errorf("reporting %s done: %w", cmd.Op, err)
		}
	}
}

// echo receives n messages, checks each and sends it back.
func echo(ep Endpoint, p *payload, buf []byte, n int) error {
	for i := 0; i < n; i++ {
		if err := ep.Recv(buf); err != nil {
			return fmt.Errorf("receiving message %d: %w", i, err)
		}
		if err := p.check(buf, uint64(i)); err != nil {
			return err
		}
		if err := ep.Send(buf); err != nil {
			return fmt.Errorf("echoing message %d: %w", i, err)
		}
	}
	return nil
}

// sink receives n messages and checks each.
func sink(ep Endpoint, p *payload, buf []byte, n int) error {
	for i := 0; i < n; i++ {
		if err := ep.Recv(buf); err != nil {
			return fmt.Errorf("receiving message %d: %w", i, err)
		}
		if err := p.check(buf, uint64(i)); err != nil {
			return err
		}
	}
	return nil
}
