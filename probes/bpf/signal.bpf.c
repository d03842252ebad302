// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Counts signals by number, sender and receiver, and their delivery latency
 * (signal_generate to signal_deliver; syscalls.bpf.c counts the signals taken
 * synchronously). Both hooks are BTF raw tracepoints on the
 * signal:signal_generate and signal:signal_deliver events, whose arguments
 * are stable since 3.7 (typed access needs 5.5). */
#include "signal.h"

/* Values of signal_generate's result argument (enum trace_signal_result). */
#define SIG_DELIVERED 0
#define SIG_LOSE_INFO 4

const struct sig_key *unused_sig_key __attribute__((unused));
const struct sig_val *unused_sig_val __attribute__((unused));
const struct hist *unused_hist __attribute__((unused));
const struct map_stat *unused_map_stat __attribute__((unused));
const enum sig_map *unused_sig_map __attribute__((unused));

SEC("tp_btf/signal_generate")
int BPF_PROG(signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct sig_key key = {};
	struct pending_key pk = {};
	struct pending_val pv = {};
	struct sig_val *v;
	long err;

	if (sig <= 0 || sig >= MAX_SIG)
		return 0;
	bpf_get_current_comm(pv.sender_comm, sizeof(pv.sender_comm));
	key.sig = sig;
	key.sender = bpf_get_current_pid_tgid() >> 32;
	key.receiver = task->tgid;
	v = sig_val(&key, pv.sender_comm, task->comm);
	if (v)
		__sync_fetch_and_add(&v->generated, 1);
	if (result != SIG_DELIVERED && result != SIG_LOSE_INFO)
		return 0;
	pk.task = group ? task->tgid : task->pid;
	pk.sig = sig;
	pv.ts = bpf_ktime_get_ns();
	pv.sender = key.sender;
	/* A standard signal already pending keeps its first generation time. */
	err = bpf_map_update_elem(&sig_pending, &pk, &pv, BPF_NOEXIST);
	if (err && err != -17)
		sig_map_stat(MAP_SIG_PENDING, true);
	else if (!err)
		sig_map_stat(MAP_SIG_PENDING, false);
	return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	if (sig > 0)
		sig_delivered(bpf_get_current_task_btf(), sig);
	return 0;
}
