package ipc

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysv_shm: two System V shared memory segments of the message size, one each
// way, and one set of four System V semaphores for the wake-ups: per
// direction "full" (starts at 0) and "empty" (starts at 1).
//
//	send: semtimedop(empty -1, timeout); copy the message in; semop(full +1)
//	recv: semtimedop(full -1, timeout); copy the message out; semop(empty +1)
//
// Semaphores 0 and 1 are full and empty of the creator-to-peer direction, 2
// and 3 of the peer-to-creator one.
type sysvShmMech struct{}

func init() { register(sysvShmMech{}) }

func (sysvShmMech) Name() string { return "sysv_shm" }

// MaxSize is shmmax, the largest segment shmget makes, or ipcwatch's cap.
func (sysvShmMech) MaxSize() (int, string) {
	return limitOr("/proc/sys/kernel/shmmax", MaxMessage)
}

// The semaphores of the set.
const (
	semToPeerFull = iota
	semToPeerEmpty
	semFromPeerFull
	semFromPeerEmpty
	semCount
)

func (sysvShmMech) Create(ch *Channel) (ep Endpoint, err error) {
	e := &sysvShmEndpoint{timeout: ch.Timeout, sem: -1,
		outFull: semToPeerFull, outEmpty: semToPeerEmpty, inFull: semFromPeerFull, inEmpty: semFromPeerEmpty}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	var ids [2]int
	for i, param := range []string{"to_peer", "from_peer"} {
		id, _, err := createSysV(os.Getpid(), func(key int) (int, error) {
			return unix.SysvShmGet(key, ch.Size, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
		})
		if err != nil {
			return nil, fmt.Errorf("creating System V shared memory: %w", err)
		}
		if err := ch.track(kindSysVShm, strconv.Itoa(id)); err != nil {
			shmctlRemove(id)
			return nil, err
		}
		ids[i] = id
		ch.Params[param] = strconv.Itoa(id)
	}
	sem, _, err := createSysV(os.Getpid(), func(key int) (int, error) {
		return semget(key, semCount, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
	})
	if err != nil {
		return nil, fmt.Errorf("creating System V semaphores: %w", err)
	}
	if err := ch.track(kindSysVSem, strconv.Itoa(sem)); err != nil {
		semctlRemove(sem)
		return nil, err
	}
	ch.Params["sem"] = strconv.Itoa(sem)
	e.sem = sem
	vals := [semCount]uint16{semToPeerEmpty: 1, semFromPeerEmpty: 1}
	if err := semctlSetAll(sem, vals[:]); err != nil {
		return nil, fmt.Errorf("setting System V semaphores: %w", err)
	}
	if err := e.attach(ids[0], ids[1], ch.Size); err != nil {
		return nil, err
	}
	return e, nil
}

func (sysvShmMech) Join(ch *Channel) (Endpoint, error) {
	var ids [3]int
	for i, param := range []string{"to_peer", "from_peer", "sem"} {
		id, err := strconv.Atoi(ch.Params[param])
		if err != nil {
			return nil, fmt.Errorf("reading System V id %s: %w", param, err)
		}
		ids[i] = id
	}
	e := &sysvShmEndpoint{timeout: ch.Timeout, sem: ids[2],
		outFull: semFromPeerFull, outEmpty: semFromPeerEmpty, inFull: semToPeerFull, inEmpty: semToPeerEmpty}
	if err := e.attach(ids[1], ids[0], ch.Size); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// sysvShmEndpoint sends through segment out and receives from segment in.
type sysvShmEndpoint struct {
	out, in                            []byte
	sem                                int
	outFull, outEmpty, inFull, inEmpty uint16
	timeout                            time.Duration
	ts                                 unix.Timespec
	ops                                [1]sembuf
	once                               sync.Once
}

func (e *sysvShmEndpoint) attach(out, in, size int) error {
	var err error
	if e.out, err = shmAttach(out, size); err != nil {
		return err
	}
	e.in, err = shmAttach(in, size)
	return err
}

// shmAttach attaches segment id, which must hold size bytes.
func shmAttach(id, size int) ([]byte, error) {
	b, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("attaching System V shared memory %d: %w", id, err)
	}
	if len(b) < size {
		unix.SysvShmDetach(b)
		return nil, fmt.Errorf("attaching System V shared memory %d: it holds %d bytes, want %d", id, len(b), size)
	}
	return b[:size], nil
}

// semWait decrements semaphore num, waiting at most the timeout.
func (e *sysvShmEndpoint) semWait(num uint16, what string) error {
	e.ops[0] = sembuf{num: num, op: -1}
	e.ts = unix.NsecToTimespec(int64(e.timeout))
	// The timeout is relative; a deadline is needed only to resume after an
	// interruption, so the clock is read then rather than on every message.
	var deadline time.Time
	for {
		err := semtimedop(e.sem, e.ops[:], &e.ts)
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			if deadline.IsZero() {
				deadline = time.Now().Add(e.timeout)
			}
			left := time.Until(deadline)
			if left > 0 {
				e.ts = unix.NsecToTimespec(int64(left))
				continue
			}
			fallthrough
		case unix.EAGAIN:
			return fmt.Errorf("waiting for %s: nothing within %v: %w", what, e.timeout, os.ErrDeadlineExceeded)
		}
		return fmt.Errorf("semtimedop waiting for %s: %w", what, err)
	}
}

// semPost increments semaphore num. It never blocks, so it skips the Go
// runtime's bookkeeping for blocking calls (RawSyscall).
func (e *sysvShmEndpoint) semPost(num uint16) error {
	e.ops[0] = sembuf{num: num, op: 1}
	for {
		_, _, errno := unix.RawSyscall6(unix.SYS_SEMTIMEDOP, uintptr(e.sem),
			uintptr(unsafe.Pointer(&e.ops[0])), 1, 0, 0, 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("semop: %w", errno)
	}
}

func (e *sysvShmEndpoint) Send(msg []byte) error {
	if len(msg) != len(e.out) {
		// The buffer carries no length: every message fills it.
		return fmt.Errorf("sending %d bytes on a channel of exactly %d-byte messages", len(msg), len(e.out))
	}
	if err := e.semWait(e.outEmpty, "an empty buffer"); err != nil {
		return err
	}
	copy(e.out, msg)
	return e.semPost(e.outFull)
}

func (e *sysvShmEndpoint) Recv(buf []byte) error {
	if len(buf) != len(e.in) {
		return fmt.Errorf("receiving into %d bytes on a channel of exactly %d-byte messages", len(buf), len(e.in))
	}
	if err := e.semWait(e.inFull, "a message"); err != nil {
		return err
	}
	copy(buf, e.in)
	return e.semPost(e.inEmpty)
}

// Interrupt removes the semaphore set: a blocked wait fails with EIDRM.
func (e *sysvShmEndpoint) Interrupt() {
	e.once.Do(func() { semctlRemove(e.sem) })
}

// Close detaches the segments; the creator's Channel removes them and the
// semaphores.
func (e *sysvShmEndpoint) Close() error {
	var err error
	for _, b := range [][]byte{e.out, e.in} {
		if b != nil {
			if derr := unix.SysvShmDetach(b); err == nil {
				err = derr
			}
		}
	}
	e.out, e.in = nil, nil
	return err
}
