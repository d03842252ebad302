/* Signal counts and delivery latency, shared by signal.bpf.c (signal_generate
 * and signal_deliver) and syscalls.bpf.c (signals taken synchronously, by
 * rt_sigtimedwait or a signalfd read, which never fire signal_deliver). User
 * space loads signal.bpf.c's maps and hands them to syscalls.bpf.c. */
#ifndef IPCWATCH_SIGNAL_H
#define IPCWATCH_SIGNAL_H

#include "common.h"

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

static __always_inline void sig_map_stat(__u32 m, bool failed)
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
		sig_map_stat(MAP_SIG_STATS, true);
		return NULL;
	}
	if (!err)
		sig_map_stat(MAP_SIG_STATS, false);
	return bpf_map_lookup_elem(&sig_stats, key);
}

/* sig_delivered counts signal sig as delivered to task now, with its latency
 * from generation, when its generation was seen. */
static __always_inline void sig_delivered(struct task_struct *task, __u32 sig)
{
	struct pending_key pk = {};
	struct pending_val *pv;
	struct sig_key key = {};
	struct sig_val *v;
	struct hist *h;
	__u64 now = bpf_ktime_get_ns();

	if (sig == 0 || sig >= MAX_SIG)
		return;
	pk.sig = sig;
	pk.task = task->pid;
	pv = bpf_map_lookup_elem(&sig_pending, &pk);
	if (!pv) {
		pk.task = task->tgid;
		pv = bpf_map_lookup_elem(&sig_pending, &pk);
	}
	if (!pv)
		return;
	key.sig = sig;
	key.sender = pv->sender;
	key.receiver = task->tgid;
	h = bpf_map_lookup_elem(&sig_hist, &sig);
	if (h)
		hist_add(h, now - pv->ts);
	v = sig_val(&key, pv->sender_comm, task->comm);
	if (v)
		__sync_fetch_and_add(&v->delivered, 1);
	bpf_map_delete_elem(&sig_pending, &pk);
}

#endif
