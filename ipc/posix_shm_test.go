package ipc

import "testing"

func TestPosixShm(t *testing.T) {
	t.Run("short message", func(t *testing.T) { checkShortMessage(t, "posix_shm") })
	t.Run("long message", func(t *testing.T) { checkLongMessage(t, "posix_shm") })
	t.Run("receive times out", func(t *testing.T) { checkRecvDeadline(t, "posix_shm", 64) })
	t.Run("send times out", func(t *testing.T) { checkSendTimesOut(t, "posix_shm") })
	t.Run("interrupt", func(t *testing.T) { checkInterrupt(t, "posix_shm") })
	t.Run("no allocation", func(t *testing.T) { checkNoGarbage(t, "posix_shm", 64) })
}
