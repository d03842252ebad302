package probes

var writeOps = map[string]bool{
	"write": true, "writev": true, "pwrite": true, "send": true, "sendmsg": true,
	"sendmmsg": true, "splice_write": true, "vmsplice_write": true, "tee": true,
	"mq_timedsend": true, "msgsnd": true,
}

var readOps = map[string]bool{
	"read": true, "readv": true, "pread": true, "recv": true, "recvmsg": true,
	"recvmmsg": true, "splice_read": true, "vmsplice_read": true,
	"mq_timedreceive": true, "msgrcv": true,
}

func opDirection(op string) Direction {
	switch {
	case writeOps[op]:
		return DirectionWrite
	case readOps[op]:
		return DirectionRead
	}
	return DirectionNone
}
