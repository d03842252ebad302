package probes

import "golang.org/x/sys/unix"

// legacySyscalls are the older syscalls that x86-64 still has.
var legacySyscalls = []sysEntry{
	fixed("pipe", unix.SYS_PIPE, GroupLife, syscallsMechMECH_PIPE),
	life("mknod", unix.SYS_MKNOD, kindMknod, 1),
	fixed("eventfd", unix.SYS_EVENTFD, GroupLife, syscallsMechMECH_EVENTFD),
}
