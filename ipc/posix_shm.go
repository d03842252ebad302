package ipc

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// posix_shm: one POSIX shared memory object, /ipcwatch-PID-N-mailboxes,
// mapped by both processes and holding a mailbox each way (see mailbox.go).
// It is created as glibc's shm_open does: open(2) in /dev/shm.
type posixShmMech struct{}

func init() { register(posixShmMech{}) }

func (posixShmMech) Name() string { return "posix_shm" }

func (posixShmMech) MaxSize() (int, string) { return MaxMessage, "ipcwatch's message cap" }

func (posixShmMech) Create(ch *Channel) (Endpoint, error) {
	name := ch.Name("mailboxes")
	if err := ch.track(kindPosixShm, name); err != nil {
		return nil, err
	}
	fd, err := unix.Open(shmPath(name), unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating shared memory %s: %w", name, err)
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, int64(mailboxMapSize(ch.Size))); err != nil {
		return nil, fmt.Errorf("sizing shared memory %s: %w", name, err)
	}
	ch.Params["name"] = name
	return mapMailboxes(fd, ch.Size, true, ch.Timeout)
}

func (posixShmMech) Join(ch *Channel) (Endpoint, error) {
	name := ch.Params["name"]
	fd, err := unix.Open(shmPath(name), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening shared memory %s: %w", name, err)
	}
	defer unix.Close(fd)
	return mapMailboxes(fd, ch.Size, false, ch.Timeout)
}

// shmPath is where shm_open keeps name.
func shmPath(name string) string { return filepath.Join(ShmDir, trimSlash(name)) }
