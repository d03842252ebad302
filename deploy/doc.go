// Package deploy holds how ipcwatch is deployed: the container image built by
// the repository's Dockerfile (checked by this package's tests) and the
// Kubernetes manifests under kubernetes/.
package deploy
