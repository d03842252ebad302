package ipc

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSysVShm(t *testing.T) {
	t.Run("long message", func(t *testing.T) { checkLongMessage(t, "sysv_shm") })
	t.Run("receive times out", func(t *testing.T) { checkRecvDeadline(t, "sysv_shm", 64) })
	t.Run("send times out", func(t *testing.T) { checkSendTimesOut(t, "sysv_shm") })
	t.Run("interrupt", func(t *testing.T) {
		if err := checkInterrupt(t, "sysv_shm"); !errors.Is(err, unix.EIDRM) {
			t.Errorf("got %v, want EIDRM", err)
		}
	})
	t.Run("no allocation", func(t *testing.T) { checkNoGarbage(t, "sysv_shm", 64) })
}
