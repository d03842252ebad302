package ipc

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestSysVMsg(t *testing.T) {
	t.Run("short message", func(t *testing.T) { checkShortMessage(t, "sysv_msg") })
	t.Run("long message", func(t *testing.T) { checkLongMessage(t, "sysv_msg") })
	t.Run("interrupt", func(t *testing.T) {
		// msgrcv has no timeout: removing the queue is what wakes it.
		if err := checkInterrupt(t, "sysv_msg"); !errors.Is(err, unix.EIDRM) {
			t.Errorf("got %v, want EIDRM", err)
		}
	})
	t.Run("no allocation", func(t *testing.T) { checkNoGarbage(t, "sysv_msg", 64) })
}

func TestSysVMsgSizeAboveLimitIsAnError(t *testing.T) {
	m, _ := Lookup("sysv_msg")
	max, limit := m.MaxSize()
	if !strings.HasPrefix(limit, "/proc/sys/kernel/msgm") {
		t.Fatalf("limit %q is not msgmax or msgmnb", limit)
	}
	_, err := Start(context.Background(), "sysv_msg", testOptions(max+1))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), limit) {
		t.Fatalf("size %d: got %v, want an error naming %s", max+1, err, limit)
	}
	if left := ownLeftovers(t, os.Getpid()); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}

	// The limit is the kernel's: a queue takes a message of max bytes and
	// refuses one byte more.
	if limit != "/proc/sys/kernel/msgmax" {
		return
	}
	creator, peer, _ := connectInProcess(t, "sysv_msg", max, time.Second)
	msg, buf := make([]byte, max), make([]byte, max)
	if err := errors.Join(creator.Send(msg), peer.Recv(buf)); err != nil {
		t.Fatalf("a message of msgmax bytes: %v", err)
	}
	big := make([]byte, msgTypeSize+max+1)
	big[0] = 1 // mtype
	_, _, errno := unix.Syscall6(unix.SYS_MSGSND, uintptr(creator.(*sysvMsgEndpoint).w),
		uintptr(unsafe.Pointer(&big[0])), uintptr(max+1), unix.IPC_NOWAIT, 0, 0)
	if errno != unix.EINVAL {
		t.Errorf("msgsnd of msgmax+1 bytes: got %v, want EINVAL", errno)
	}
}
