package ipc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// mmap: a regular file in the channel's directory, mapped MAP_SHARED by both
// processes and holding a mailbox each way (see mailbox.go).
type mmapMech struct{}

func init() { register(mmapMech{}) }

func (mmapMech) Name() string { return "mmap" }

func (mmapMech) MaxSize() (int, string) { return MaxMessage, "ipcwatch's message cap" }

func (mmapMech) Create(ch *Channel) (Endpoint, error) {
	path := ch.Path("mailboxes")
	if err := ch.track(kindPath, path); err != nil {
		return nil, err
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating mapped file: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, int64(mailboxMapSize(ch.Size))); err != nil {
		return nil, fmt.Errorf("sizing mapped file %s: %w", path, err)
	}
	ch.Params["path"] = path
	return mapMailboxes(fd, ch.Size, true, ch.Timeout)
}

func (mmapMech) Join(ch *Channel) (Endpoint, error) {
	path := ch.Params["path"]
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening mapped file: %w", err)
	}
	defer unix.Close(fd)
	return mapMailboxes(fd, ch.Size, false, ch.Timeout)
}
