package ipc

import "testing"

func TestPosixMQ(t *testing.T) {
	t.Run("short message", func(t *testing.T) { checkShortMessage(t, "posix_mq") })
	t.Run("long message", func(t *testing.T) { checkLongMessage(t, "posix_mq") })
	t.Run("receive times out", func(t *testing.T) { checkRecvDeadline(t, "posix_mq", 64) })
	t.Run("send times out", func(t *testing.T) { checkSendTimesOut(t, "posix_mq") })
	t.Run("no allocation", func(t *testing.T) { checkNoGarbage(t, "posix_mq", 64) })
}
