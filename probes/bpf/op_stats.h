/* Per-process counters of calls, errors, bytes and time in the call of each
 * (mechanism, op).
 * A task adds to a few counters in its own storage, which costs a fraction of
 * a hash map update; they are flushed into op_stats when the task exits and
 * by an iterator over every task before user space reads op_stats. */
#ifndef IPCWATCH_OP_STATS_H
#define IPCWATCH_OP_STATS_H

#include "common.h"

#define ACC_SLOTS 4
#define FLUSH_TRIES 4

struct op_key {
	__u32 pid;
	__u8 mech;
	__u8 op;
	__u16 pad;
};

struct op_val {
	__u64 calls;
	__u64 errors;
	__u64 bytes;
	__u64 nanos; /* time spent in the calls, enter to exit */
	char comm[16];
};

/* The counters of one (mechanism, op) of a task. Only the task adds to
 * calls, errors, bytes and nanos; flushers advance the f* copies (what op_stats
 * already holds) with compare-and-swap, so that the task's exit and the
 * iterator, running at once, never flush the same calls twice. */
struct acc {
	__u32 key; /* mech | op << 8, written once before any count; 0: free */
	__u32 pad;
	__u64 calls, errors, bytes, nanos;
	__u64 fcalls, ferrors, fbytes, fnanos;
};

/* The in-flight call of one task, from sys_enter to sys_exit. */
struct inflight {
	__u64 ts;
	__u64 aux;
	__u32 nr;
	__u8 mech;
	__u8 op;
	__u8 bytes;
	__u8 kind;
};

/* What a task keeps in its storage. */
struct task_state {
	struct inflight in;
	struct acc acc[ACC_SLOTS];
};

/* Where calls were lost: op_stats full, no task storage, or a futex whose
 * mapping could not be looked up (its address space was locked). */
enum op_map { MAP_OP_STATS = 0, MAP_INFLIGHT, MAP_FUTEX_VMA, MAP_COUNT };

/* Task -> its call in flight and its counters not yet in op_stats. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} inflight SEC(".maps");

/* (process, mechanism, op) -> calls, errors, bytes, ns and comm, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct op_key);
	__type(value, struct op_val);
} op_stats SEC(".maps");

/* enum op_map -> entries inserted and inserts that failed, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAP_COUNT);
	__type(key, __u32);
	__type(value, struct map_stat);
} op_map_stats SEC(".maps");

static __always_inline void map_stat(__u32 m, bool failed)
{
	struct map_stat *s = bpf_map_lookup_elem(&op_map_stats, &m);
	if (!s)
		return;
	if (failed)
		s->failures++;
	else
		s->inserts++;
}

/* add_op adds to the op_stats entry of task's process. */
static __always_inline void add_op(struct task_struct *task, __u32 acc_key, __u64 calls,
				   __u64 errors, __u64 bytes, __u64 nanos)
{
	struct op_key key = {};
	struct op_val *v;

	key.pid = task->tgid;
	key.mech = acc_key & 0xff;
	key.op = acc_key >> 8;
	v = bpf_map_lookup_elem(&op_stats, &key);
	if (!v) {
		struct op_val nv = {};
		long err;

		__builtin_memcpy(nv.comm, task->group_leader->comm, sizeof(nv.comm));
		err = bpf_map_update_elem(&op_stats, &key, &nv, BPF_NOEXIST);
		if (err && err != -17 /* EEXIST: another CPU won */) {
			map_stat(MAP_OP_STATS, true);
			return;
		}
		if (!err)
			map_stat(MAP_OP_STATS, false);
		v = bpf_map_lookup_elem(&op_stats, &key);
		if (!v)
			return;
	}
	v->calls += calls;
	v->errors += errors;
	v->bytes += bytes;
	v->nanos += nanos;
}

/* claim advances *flushed to now and returns by how much it moved. */
static __always_inline __u64 claim(__u64 *flushed, __u64 now)
{
	__u64 old = *flushed;

	for (int i = 0; i < FLUSH_TRIES; i++) {
		__u64 seen;

		if (old >= now)
			return 0;
		seen = __sync_val_compare_and_swap(flushed, old, now);
		if (seen == old)
			return now - old;
		old = seen;
	}
	return 0;
}

/* flush moves the counts of task's slots that op_stats lacks into it. */
static __always_inline void flush(struct task_struct *task, struct task_state *st)
{
	for (int i = 0; i < ACC_SLOTS; i++) {
		struct acc *a = &st->acc[i];
		__u32 key = *(volatile __u32 *)&a->key;
		__u64 c, e, b, ns;

		if (!key)
			continue;
		c = claim(&a->fcalls, *(volatile __u64 *)&a->calls);
		e = claim(&a->ferrors, *(volatile __u64 *)&a->errors);
		b = claim(&a->fbytes, *(volatile __u64 *)&a->bytes);
		ns = claim(&a->fnanos, *(volatile __u64 *)&a->nanos);
		if (c || e || b || ns)
			add_op(task, key, c, e, b, ns);
	}
}

/* count adds one call of ns nanoseconds to the task's slot of (mech, op),
 * claiming a free slot if needed, or to op_stats directly when every slot is
 * taken. */
static __always_inline void count(struct task_struct *task, struct task_state *st, __u8 mech,
				  __u8 op, bool failed, __u64 bytes, __u64 ns)
{
	__u32 key = mech | (__u32)op << 8;

	for (int i = 0; i < ACC_SLOTS; i++) {
		struct acc *a = &st->acc[i];

		if (!a->key) {
			*(volatile __u32 *)&a->key = key;
			asm volatile("" ::: "memory");
		}
		if (a->key != key)
			continue;
		if (failed)
			*(volatile __u64 *)&a->errors = a->errors + 1;
		else
			*(volatile __u64 *)&a->bytes = a->bytes + bytes;
		*(volatile __u64 *)&a->nanos = a->nanos + ns;
		*(volatile __u64 *)&a->calls = a->calls + 1;
		return;
	}
	add_op(task, key, 1, failed, failed ? 0 : bytes, ns);
}

#endif
