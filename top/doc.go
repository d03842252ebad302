// Package top shows live IPC activity: per process, per mechanism and
// operation, per channel (the backpressure view) and per signal. It reads the
// BPF probes and the inventory directly, as deltas between two samples per
// interval, and draws them in a terminal (bubbletea) or prints them as plain
// text or JSON lines (batch mode).
package top
