package probes

// The BPF objects are generated from bpf/*.bpf.c and committed, so building
// ipcwatch needs no clang; scripts/check-generated.sh checks they are current.
//go:generate go tool bpf2go -tags linux -target amd64 -type op_key -type op_val -type syscall_cfg -type hist -type map_stat -type mech -type kind -type bytes_src -type op_map -type cfg_flags syscalls bpf/syscalls.bpf.c -- -I./bpf -O2 -g -Wall -Werror -mcpu=v3
//go:generate go tool bpf2go -tags linux -target amd64 -type sig_key -type sig_val -type hist -type map_stat -type sig_map signal bpf/signal.bpf.c -- -I./bpf -O2 -g -Wall -Werror
//go:generate go tool bpf2go -tags linux -target amd64 -type pipe_fill pipe bpf/pipe.bpf.c -- -I./bpf -O2 -g -Wall -Werror
