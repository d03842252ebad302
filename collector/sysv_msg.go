package collector

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysvMsgObjects adds the System V message queues of one IPC namespace.
func (b *build) sysvMsgObjects(ns uint64, v *ipcView) {
	for _, m := range v.msgs {
		o := Object{Type: TypeSysVMsg, ID: uint64(m.ID), Name: sysvName(m.Key)}
		a := &o.Attributes
		sysvAttrs(a, ns, m.Key, m.ID, m.UID, m.Mode)
		a.Messages, a.QueuedBytes = ptr(m.Messages), ptr(m.Bytes)
		if q, ok := v.qbytes[m.ID]; ok {
			a.CapacityBytes = ptr(q)
		}
		a.LastSendPID, a.LastPID = ptr(m.LastSendPID), ptr(m.LastRecvPID)
		b.inv.Objects = append(b.inv.Objects, o)
	}
}

// msgQueueBytes returns a queue's msg_qbytes (its capacity in bytes) from
// msgctl(IPC_STAT), which changes nothing. It reads struct msqid64_ds as
// 64-bit Linux lays it out (asm-generic/msgbuf.h: msg_qbytes at byte 88).
func msgQueueBytes(id int) (uint64, bool) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		return 0, false
	}
	var buf [15]uint64 // 120 bytes
	_, _, errno := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_STAT, uintptr(unsafe.Pointer(&buf[0])))
	if errno != 0 {
		return 0, false
	}
	return buf[88/8], true
}
