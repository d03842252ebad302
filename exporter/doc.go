// Package exporter turns the inventory, the probe snapshot and the self-test
// into Prometheus metrics. It is the only package of ipcwatch that knows
// Prometheus.
package exporter
