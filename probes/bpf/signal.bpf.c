// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Counts signals by number, sender and receiver, and their delivery latency
 * (signal_generate to signal_deliver). Both hooks are BTF raw tracepoints on
 * the signal:signal_generate and signal:signal_deliver events, whose
 * arguments are stable since 3.7 (typed access needs 5.5). */
#include "common.h"

/* Values of signal_generate's result argument (enum trace_signal_result). */
#define SIG_DELIVERED 0
#define SIG_LOSE_INFO 4

struct sig_key {
	__u32 sig;
	__u32 sender;
	__u32 receiver;
};

struct sig_val {
	__u64 generated;
	__u64 delivered;
	char sender_comm[16];
	char receiver_comm[16];
};

struct pending_key {
	__u32 task; /* receiving thread, or thread group for a group signal */
	__u32 sig;
};

struct pending_val {
	__u64 ts;
	__u32 sender;
	__u32 pad;
	char sender_comm[16];
};

enum sig_map { MAP_SIG_STATS = 0, MAP_SIG_PENDING, MAP_SIG_COUNT };

#define MAX_SIG 65

/* (signal, sender process, receiver process) -> generated, delivered, comms. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sig_key);
	__type(value, struct sig_val);
} sig_stats SEC(".maps");

/* (receiver, signal) -> when and by whom the pending signal was generated. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct pending_key);
	__type(value, struct pending_val);
} sig_pending SEC(".maps");

/* signal -> log2 histogram of delivery latency in ns, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_SIG);
	__type(key, __u32);
	__type(value, struct hist);
} sig_hist SEC(".maps");

/* enum sig_map -> entries inserted and inserts that failed, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAP_SIG_COUNT);
	__type(key, __u32);
	__type(value, struct map_stat);
} sig_map_stats SEC(".maps");

const struct sig_key *unused_sig_key __attribute__((unused));
const struct sig_val *unused_sig_val __attribute__((unused));
const struct hist *unused_hist __attribute__((unused));
const struct map_stat *unused_map_stat __attribute__((unused));
const enum sig_map *unused_sig_map __attribute__((unused));

static __always_inline void map_stat(__u32 m, bool failed)
{
	struct map_stat *s = bpf_map_lookup_elem(&sig_map_stats, &m);
	if (!s)
		return;
	if (failed)
		s->failures++;
	else
		s->inserts++;
}

/* Returns the stats of key, creating them with the given comms. */
static __always_inline struct sig_val *sig_val(struct sig_key *key, const char *scomm,
					       const char *rcomm)
{
	struct sig_val *v = bpf_map_lookup_elem(&sig_stats, key);
	struct sig_val nv = {};
	long err;

	if (v)
		return v;
	__builtin_memcpy(nv.sender_comm, scomm, 16);
	bpf_probe_read_kernel(nv.receiver_comm, 16, rcomm);
	err = bpf_map_update_elem(&sig_stats, key, &nv, BPF_NOEXIST);
	if (err && err != -17) {
		map_stat(MAP_SIG_STATS, true);
		return NULL;
	}
	if (!err)
		map_stat(MAP_SIG_STATS, false);
	return bpf_map_lookup_elem(&sig_stats, key);
}

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
		map_stat(MAP_SIG_PENDING, true);
	else if (!err)
		map_stat(MAP_SIG_PENDING, false);
	return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pending_key pk = {};
	struct pending_val *pv;
	struct sig_key key = {};
	struct sig_val *v;
	struct hist *h;
	__u32 s = sig;
	__u64 now = bpf_ktime_get_ns();

	if (sig <= 0 || sig >= MAX_SIG)
		return 0;
	pk.sig = sig;
	pk.task = task->pid;
	pv = bpf_map_lookup_elem(&sig_pending, &pk);
	if (!pv) {
		pk.task = task->tgid;
		pv = bpf_map_lookup_elem(&sig_pending, &pk);
	}
	if (!pv)
		return 0;
	key.sig = sig;
	key.sender = pv->sender;
	key.receiver = task->tgid;
	h = bpf_map_lookup_elem(&sig_hist, &s);
	if (h)
		hist_add(h, now - pv->ts);
	v = sig_val(&key, pv->sender_comm, task->comm);
	if (v)
		__sync_fetch_and_add(&v->delivered, 1);
	bpf_map_delete_elem(&sig_pending, &pk);
	return 0;
}
