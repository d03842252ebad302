package collector

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// inThread runs fn on an OS thread of its own that is thrown away when fn
// returns (the goroutine exits still locked), so a namespace fn enters never
// leaks into another goroutine.
//
// fn never runs on the main thread: /proc/PID/ns shows the main thread's
// namespaces, and the Go runtime keeps (wedges) a main thread whose locked
// goroutine exits rather than ending it, so the process would stay seen in
// the namespace fn entered. If the new goroutine lands on the main thread,
// it holds that thread while fn runs on another one.
func inThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			done <- inThread(fn)
			runtime.UnlockOSThread()
			return
		}
		done <- fn()
	}()
	return <-done
}

// enterNS moves the calling thread into the namespace at path (a
// /proc/PID/ns/* file). nstype is unix.CLONE_NEWNET, CLONE_NEWIPC, ...
func enterNS(path string, nstype int) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, nstype); err != nil {
		return fmt.Errorf("entering namespace %s: %w", path, err)
	}
	return nil
}

// ownNS returns the inode of this process's namespace of the given kind
// ("net", "ipc", "mnt"), read from the /proc this process runs with; 0 if
// it cannot be read.
func ownNS(kind string) uint64 {
	target, err := os.Readlink("/proc/thread-self/ns/" + kind)
	if err != nil {
		return 0
	}
	ino, err := parseNSLink(target)
	if err != nil {
		return 0
	}
	return ino
}
