# syntax=docker/dockerfile:1
#
# ipcwatch's container image: one static binary (CGO off) on distroless static,
# running as the non-root user 65532 unless the deployment asks for more.
#
#   docker build -t ipcwatch .
#   docker run --rm ipcwatch bench -m pipe
#
# What each feature of `ipcwatch agent` needs from the container runtime:
#
#   feature                                   needs
#   ----------------------------------------  ---------------------------------------------
#   inventory of the container's own IPC      nothing (any user)
#   objects, self-test, bench
#   every process of the host                 the host's PID namespace (--pid=host,
#                                             hostPID) and the host's /proc mounted at
#                                             /host/proc, read with --path.procfs=/host/proc
#   other users' fds, fdinfo, /proc/PID/root  CAP_SYS_PTRACE
#   other users' POSIX message queues         CAP_DAC_READ_SEARCH
#   objects in other IPC, network and mount   CAP_SYS_ADMIN (setns into each namespace,
#   namespaces (other containers)             and a private mqueue mount per IPC namespace)
#   eBPF probes (tracepoints, iterators)      CAP_BPF and CAP_PERFMON (Linux >= 5.8), BTF at
#                                             /sys/kernel/btf, tracefs at /sys/kernel/tracing;
#                                             CAP_SYS_RESOURCE too before Linux 5.11
#                                             (locked-memory limit of BPF maps)
#   writable scratch (self-test FIFOs and     a tmpfs at /tmp: the root file system can stay
#   sockets, private mounts)                  read-only
#
# Kubernetes and Docker give a non-root process none of its added capabilities
# (no ambient capabilities), so the agent with any capability runs as user 0
# with every other capability dropped: not privileged, no privilege escalation.
# deploy/kubernetes/daemonset.yaml does that. With plain Docker:
#
#   docker run -d --name ipcwatch --pid=host --user 0 --read-only --tmpfs /tmp \
#     --cap-drop ALL --cap-add BPF --cap-add PERFMON --cap-add SYS_PTRACE \
#     --cap-add DAC_READ_SEARCH --cap-add SYS_ADMIN \
#     --security-opt apparmor=unconfined \
#     -v /proc:/host/proc:ro -v /sys/kernel/btf:/sys/kernel/btf:ro \
#     -v /sys/kernel/tracing:/sys/kernel/tracing:ro \
#     -p 9848:9848 ipcwatch agent --path.procfs=/host/proc
#
# (AppArmor's default container profile forbids reading the fds of processes
# outside the container and mounting: on AppArmor hosts the agent runs
# unconfined. The default seccomp profile allows bpf and perf_event_open to a
# container holding CAP_BPF and CAP_PERFMON.)

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The BPF objects are generated and committed, so this build needs no clang.
# This is the build that deploy/dockerfile_test.go runs on every CI run.
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION}" -o /out/ipcwatch ./cmd/ipcwatch

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ipcwatch /usr/bin/ipcwatch
USER 65532:65532
EXPOSE 9848
ENTRYPOINT ["/usr/bin/ipcwatch"]
CMD ["agent"]
