package ipc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysvKey is the key of slot for an ipcwatch process pid.
func sysvKey(pid, slot int) int {
	return sysvMagic<<sysvKeyShift | (pid&sysvPIDMask)<<4 | slot
}

// createSysV calls create with this process's keys until one is free.
func createSysV(pid int, create func(key int) (int, error)) (id, key int, err error) {
	for slot := 0; slot < sysvSlots; slot++ {
		key = sysvKey(pid, slot)
		id, err = create(key)
		if err != unix.EEXIST {
			return id, key, err
		}
	}
	return -1, 0, fmt.Errorf("all %d System V keys of pid %d are taken: %w", sysvSlots, pid, unix.EEXIST)
}

func msgget(key, flags int) (int, error) {
	id, _, errno := unix.Syscall(unix.SYS_MSGGET, uintptr(key), uintptr(flags), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(id), nil
}

func semget(key, nsems, flags int) (int, error) {
	id, _, errno := unix.Syscall(unix.SYS_SEMGET, uintptr(key), uintptr(nsems), uintptr(flags))
	if errno != 0 {
		return -1, errno
	}
	return int(id), nil
}

// semSetAll is SETALL from linux/sem.h.
const semSetAll = 17

// semctlSetAll sets every semaphore of set id, in order, to vals.
func semctlSetAll(id int, vals []uint16) error {
	_, _, errno := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), 0, semSetAll,
		uintptr(unsafe.Pointer(&vals[0])), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// sembuf is struct sembuf.
type sembuf struct {
	num uint16
	op  int16
	flg int16
}

// semtimedop applies ops to semaphore set id, waiting at most timeout (for
// ever if timeout is nil).
func semtimedop(id int, ops []sembuf, timeout *unix.Timespec) error {
	_, _, errno := unix.Syscall6(unix.SYS_SEMTIMEDOP, uintptr(id),
		uintptr(unsafe.Pointer(&ops[0])), uintptr(len(ops)), uintptr(unsafe.Pointer(timeout)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// kernelLimit reads a numeric kernel limit such as /proc/sys/kernel/msgmax.
// Values beyond the int range (shmmax is often near 2^64) read as the
// largest int.
func kernelLimit(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing %s: %w", path, err)
	}
	return int(min(n, uint64(^uint(0)>>1))), nil
}

// limitOr returns the smaller of the kernel limit at path and ipcwatch's
// message cap, with the name of whichever is smaller. A limit that cannot be
// read counts as the kernel's default, def.
func limitOr(path string, def int) (int, string) {
	n, err := kernelLimit(path)
	if err != nil || n <= 0 {
		n = def
	}
	if n >= MaxMessage {
		return MaxMessage, "ipcwatch's message cap"
	}
	return n, path
}
