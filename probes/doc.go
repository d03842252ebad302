// Package probes loads ipcwatch's eBPF programs on the syscalls of every IPC
// mechanism and returns what they aggregated in the kernel as plain Go values.
package probes
