// Package collector builds the inventory of live IPC objects on the host and
// the processes at each end, from /proc, /proc/sysvipc, the mqueue file
// system and sock_diag netlink, visiting every namespace in use.
package collector
