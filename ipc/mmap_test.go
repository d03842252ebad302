package ipc

import "testing"

func TestMmap(t *testing.T) {
	t.Run("short message", func(t *testing.T) { checkShortMessage(t, "mmap") })
	t.Run("long message", func(t *testing.T) { checkLongMessage(t, "mmap") })
	t.Run("receive times out", func(t *testing.T) { checkRecvDeadline(t, "mmap", 64) })
	t.Run("send times out", func(t *testing.T) { checkSendTimesOut(t, "mmap") })
	t.Run("interrupt", func(t *testing.T) { checkInterrupt(t, "mmap") })
	t.Run("no allocation", func(t *testing.T) { checkNoGarbage(t, "mmap", 64) })
}
