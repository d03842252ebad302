package ipc

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// System V keys of ipcwatch objects carry a magic number, the creator's pid
// and a slot: magic<<26 | pid<<4 | slot. pid_max is at most 2^22, so the key
// stays positive and a sweep can find whose object it is.
const (
	sysvMagic    = 0x12
	sysvPIDMask  = 1<<22 - 1
	sysvSlots    = 16
	sysvKeyShift = 26
)

// sysvKeyPID returns the creator's pid of an ipcwatch key, or false.
func sysvKeyPID(key int) (int, bool) {
	if key>>sysvKeyShift != sysvMagic {
		return 0, false
	}
	return key >> 4 & sysvPIDMask, true
}

func msgctlRemove(id int) error {
	_, _, errno := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func semctlRemove(id int) error {
	_, _, errno := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), 0, unix.IPC_RMID, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func shmctlRemove(id int) error {
	_, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	return err
}

// mqUnlink removes the POSIX message queue called name ("/ipcwatch-…").
func mqUnlink(name string) error {
	p, err := unix.BytePtrFromString(trimSlash(name))
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func trimSlash(name string) string {
	if len(name) > 0 && name[0] == '/' {
		return name[1:]
	}
	return name
}
