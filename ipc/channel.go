package ipc

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every object ipcwatch creates: paths, /dev/shm
// and mqueue names. Names are Prefix-PID-N, so a sweep can tell whose they are.
const Prefix = "ipcwatch"

// journalName is the file in a channel's directory that lists its objects
// before they exist, so a sweep can remove them after a kill -9.
const journalName = "objects"

// Object kinds, as written in the journal.
const (
	kindPath     = "path"      // a file system path (FIFO, socket, mapped file)
	kindPosixShm = "posix_shm" // a name in /dev/shm
	kindPosixMQ  = "posix_mq"  // a POSIX message queue name
	kindSysVMsg  = "sysv_msg"  // a System V message queue id
	kindSysVShm  = "sysv_shm"  // a System V shared memory id
	kindSysVSem  = "sysv_sem"  // a System V semaphore set id
)

var channelSeq atomic.Int64

// Channel is what the two ends of one channel share: its identity, the names
// of its kernel objects and the files the peer inherits.
type Channel struct {
	Mechanism string
	Size      int
	// ID is Prefix-PID-N, unique on the host while the creator lives.
	ID string
	// Dir is a private directory for the channel's paths, removed at Close.
	Dir string
	// Params holds what the peer needs to open its end (names, keys, ids).
	Params map[string]string
	// Files are passed to the peer. In the peer they are the inherited files.
	Files []*os.File
	// Timeout bounds each blocking call where the kernel offers a timed one.
	Timeout time.Duration

	mu      sync.Mutex
	objects []object
	journal *os.File
}

type object struct{ kind, name string }

// newChannel makes the creator's Channel with its directory and journal.
func newChannel(mechanism string, size int, timeout time.Duration) (*Channel, error) {
	id := fmt.Sprintf("%s-%d-%d", Prefix, os.Getpid(), channelSeq.Add(1))
	dir := filepath.Join(os.TempDir(), id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating channel directory: %w", err)
	}
	j, err := os.OpenFile(filepath.Join(dir, journalName), os.O_CREATE|os.O_WRONLY|os.O_APPEND|unix.O_CLOEXEC, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("creating channel journal: %w", err)
	}
	return &Channel{
		Mechanism: mechanism, Size: size, ID: id, Dir: dir, Timeout: timeout,
		Params: map[string]string{}, journal: j,
	}, nil
}

// Path returns a path for a named object inside the channel's directory.
func (ch *Channel) Path(name string) string { return filepath.Join(ch.Dir, name) }

// Name returns a name for a /dev/shm or mqueue object: /Prefix-PID-N-suffix.
func (ch *Channel) Name(suffix string) string { return "/" + ch.ID + "-" + suffix }

// track journals an object so that Close, or a later sweep, removes it. Call it
// before creating an object that has its name already, so a crash in between
// leaves a harmless entry; System V objects get their id only on creation and
// are swept by key.
func (ch *Channel) track(kind, name string) error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.journal != nil {
		if _, err := fmt.Fprintf(ch.journal, "%s %s\n", kind, name); err != nil {
			return fmt.Errorf("journaling %s %s: %w", kind, name, err)
		}
	}
	ch.objects = append(ch.objects, object{kind, name})
	return nil
}

// Close removes every object the channel created, the directory last, and
// closes the files not yet handed over. It is safe to call more than once.
func (ch *Channel) Close() error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	var errs []error
	for i := len(ch.objects) - 1; i >= 0; i-- {
		o := ch.objects[i]
		if err := removeObject(o.kind, o.name); err != nil && !isGone(err) {
			errs = append(errs, fmt.Errorf("removing %s %s: %w", o.kind, o.name, err))
		}
	}
	ch.objects = nil
	ch.closeFiles()
	if ch.journal != nil {
		ch.journal.Close()
		ch.journal = nil
	}
	if ch.Dir != "" {
		if err := os.RemoveAll(ch.Dir); err != nil {
			errs = append(errs, fmt.Errorf("removing channel directory: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (ch *Channel) closeFiles() {
	for _, f := range ch.Files {
		f.Close()
	}
	ch.Files = nil
}

// isGone tells whether err means the object no longer exists.
func isGone(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EIDRM)
}

// readJournal parses a channel journal: one "kind name" per line.
func readJournal(path string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][2]string
	s := bufio.NewScanner(f)
	for s.Scan() {
		kind, name, ok := strings.Cut(s.Text(), " ")
		if ok {
			out = append(out, [2]string{kind, name})
		}
	}
	return out, s.Err()
}
