package ipc

import "testing"

func TestPosixMQ(t *testing.T) {
	t.Run("short message", func(t *testing.T) { checkShortMessage(t, "posix_mq") })
	t.Run("long message", func(t *testing.T) { checkLongMessage(t, "posix_mq") })
	t.Run("receive times out", func(t *testing.T) { checkRecvTimesOut(t, "posix_mq") })
	t.Run("send times out", func(t *testing.T) { checkSendTimesOut(t, "posix_mq") })
	t.Run("no allocation", func(t *testing.T) { checkNoAllocation(t, "posix_mq") })
}
