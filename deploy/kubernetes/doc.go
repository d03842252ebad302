// Package kubernetes holds ipcwatch's Kubernetes manifests: a DaemonSet running
// `ipcwatch agent` on every node with the least capabilities it needs, a
// headless Service, and a ServiceMonitor for the Prometheus Operator. Its tests
// decode each manifest strictly into the Kubernetes and Prometheus Operator API
// types and check that the pieces fit together and that the agent accepts the
// DaemonSet's arguments.
package kubernetes
