// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Counts the IPC syscalls of every mechanism, per (mechanism, op, process),
 * and the time spent in them, per (mechanism, op). The same logic runs from
 * two hooks, chosen by user space:
 *  - tp_btf/sys_enter and tp_btf/sys_exit: the raw_syscalls tracepoints,
 *    stable since 4.17 (BTF-typed since 5.5); one program pair sees every
 *    syscall and a table indexed by syscall number filters them.
 *  - tracepoint/syscalls/sys_{enter,exit}_NAME: the per-syscall trace
 *    events, ABI since 4.14; only the traced syscalls run a program. */
#include "common.h"
#include "classify.h"
#include "op_stats.h"
#include "futex.h"
#include "signal.h"

/* How a syscall is handled; user space fills syscall_cfg by syscall number. */
enum kind {
	KIND_NONE = 0,
	KIND_FD,       /* args[arg] is an fd: count when it is an IPC channel */
	KIND_FIXED,    /* always counts, as mechanism mech */
	KIND_SOCKET,   /* socket/socketpair: counts AF_UNIX, mech from args[1] */
	KIND_MKNOD,    /* args[arg] is a mode: counts S_IFIFO */
	KIND_SHM_OPEN, /* openat: counts paths under /dev/shm/ */
	KIND_MMAP,     /* counts MAP_SHARED mappings of files */
	KIND_SPLICE,   /* splice: args[2] out (op), else args[0] in (op_alt) */
	KIND_TEE,      /* tee: args[1] out */
	KIND_VMSPLICE, /* vmsplice: op for a write end, op_alt for a read end */
	KIND_MMSG,     /* sendmmsg/recvmmsg: bytes from the mmsghdr array */
	KIND_SIGWAIT,  /* rt_sigtimedwait: counts as mechanism signal; the
			  signal it returns is delivered */
	KIND_FUTEX,    /* shared futex: args[arg] is the futex(2) op (which picks
			  op or op_alt) or futex2 flags (op_alt 0); counted by
			  the file mapped at args[0] */
};

/* Where the bytes of a call come from. */
enum bytes_src {
	BYTES_NONE = 0,
	BYTES_RET,      /* the return value, when positive */
	BYTES_ARG,      /* an argument (msgsnd and mq_timedsend size, mmap length),
			   when the call succeeded */
};

/* Flags of a syscall_cfg. */
enum cfg_flags {
	/* args[1] is the buffer read into: on a signalfd, signal records */
	CFG_READ_BUF = 1,
};

struct syscall_cfg {
	__u8 kind;
	__u8 mech;
	__u8 op;
	__u8 op_alt;
	__u8 arg;
	__u8 bytes;
	__u8 flags;
};

#define MAX_SYSCALLS 512
#define MAX_OPS 64
#define MMSG_MAX 16
#define SIGINFO_MAX 8

/* Syscall number -> how to handle it (kind 0: not traced). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct syscall_cfg);
} cfg_by_nr SEC(".maps");

/* mechanism * MAX_OPS + op -> log2 histogram of ns spent in the call, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MECH_COUNT * MAX_OPS);
	__type(key, __u32);
	__type(value, struct hist);
} op_hist SEC(".maps");

/* Anchors for bpf2go -type. */
const struct op_key *unused_op_key __attribute__((unused));
const struct op_val *unused_op_val __attribute__((unused));
const struct syscall_cfg *unused_syscall_cfg __attribute__((unused));
const struct hist *unused_hist __attribute__((unused));
const struct map_stat *unused_map_stat __attribute__((unused));
const enum mech *unused_mech __attribute__((unused));
const enum kind *unused_kind __attribute__((unused));
const enum bytes_src *unused_bytes_src __attribute__((unused));
const enum op_map *unused_op_map __attribute__((unused));
const enum cfg_flags *unused_cfg_flags __attribute__((unused));

static __always_inline bool sock_mech(__u64 type, __u8 *mech)
{
	switch (type & 0xf) {
	case SOCK_STREAM: *mech = MECH_UNIX_STREAM; return true;
	case SOCK_DGRAM: *mech = MECH_UNIX_DGRAM; return true;
	case SOCK_SEQPACKET: *mech = MECH_UNIX_SEQPACKET; return true;
	}
	return false;
}

/* on_enter decides whether call nr is traced and, if so, records it as in
 * flight. arg(i) reads syscall argument i. */
#define ON_ENTER(NR, ARG)                                                          \
	({                                                                         \
		__u32 _nr = (NR);                                                  \
		struct syscall_cfg *c = bpf_map_lookup_elem(&cfg_by_nr, &_nr);   \
		struct task_struct *task;                                          \
		struct task_state *st;                                             \
		struct inflight *in;                                               \
		__u8 mech = 0, op;                                                 \
		__u64 aux = 0;                                                     \
		if (!c || !c->kind)                                                \
			return 0;                                                  \
		op = c->op;                                                        \
		task = bpf_get_current_task_btf();                                 \
		switch (c->kind) {                                                 \
		case KIND_FD:                                                      \
			mech = classify(fd_file(task, ARG(c->arg)), false);        \
			aux = ARG(2);                                              \
			if (mech == MECH_SIGNAL) /* a signalfd */                  \
				aux = c->flags & CFG_READ_BUF ? ARG(1) : 0;        \
			break;                                                     \
		case KIND_MMSG:                                                    \
			mech = classify(fd_file(task, ARG(0)), false);             \
			aux = ARG(1);                                              \
			break;                                                     \
		case KIND_SIGWAIT:                                                 \
		case KIND_FIXED:                                                   \
			mech = c->mech;                                            \
			aux = ARG(c->arg);                                         \
			break;                                                     \
		case KIND_SOCKET:                                                  \
			if (ARG(0) != AF_UNIX || !sock_mech(ARG(1), &mech))        \
				return 0;                                          \
			break;                                                     \
		case KIND_MKNOD:                                                   \
			if ((ARG(c->arg) & S_IFMT) != S_IFIFO)                     \
				return 0;                                          \
			mech = MECH_FIFO;                                          \
			break;                                                     \
		case KIND_SHM_OPEN: {                                              \
			char p[9] = {};                                            \
			bpf_probe_read_user(p, sizeof(p), (void *)ARG(c->arg));    \
			if (p[0] != '/' || p[1] != 'd' || p[2] != 'e' ||           \
			    p[3] != 'v' || p[4] != '/' || p[5] != 's' ||           \
			    p[6] != 'h' || p[7] != 'm' || p[8] != '/')             \
				return 0;                                          \
			mech = MECH_POSIX_SHM;                                     \
			break;                                                     \
		}                                                                  \
		case KIND_MMAP:                                                    \
			if (!(ARG(3) & 0x1) || (long)ARG(4) < 0)                   \
				return 0;                                          \
			mech = classify(fd_file(task, ARG(4)), true);              \
			aux = ARG(1);                                              \
			break;                                                     \
		case KIND_SPLICE:                                                  \
			mech = classify(fd_file(task, ARG(2)), false);             \
			if (!mech) {                                               \
				mech = classify(fd_file(task, ARG(0)), false);     \
				op = c->op_alt;                                    \
			}                                                          \
			break;                                                     \
		case KIND_TEE:                                                     \
			mech = classify(fd_file(task, ARG(1)), false);             \
			break;                                                     \
		case KIND_FUTEX: {                                                 \
			__u32 fop = ARG(c->arg);                                   \
			bool busy;                                                 \
			if (fop & FUTEX_PRIVATE_FLAG)                              \
				return 0;                                          \
			if (c->op_alt) {                                           \
				switch (fop & FUTEX_CMD_MASK) {                    \
				case FUTEX_WAIT:                                   \
				case FUTEX_WAIT_BITSET:                            \
					break;                                     \
				case FUTEX_WAKE:                                   \
				case FUTEX_WAKE_BITSET:                            \
					op = c->op_alt;                            \
					break;                                     \
				default:                                           \
					return 0;                                  \
				}                                                  \
			}                                                          \
			mech = futex_mech(task, ARG(0), &busy);                    \
			if (busy)                                                  \
				map_stat(MAP_FUTEX_VMA, true);                     \
			break;                                                     \
		}                                                                  \
		case KIND_VMSPLICE: {                                              \
			struct file *f = fd_file(task, ARG(0));                    \
			mech = classify(f, false);                                 \
			if (f && !(f->f_mode & FMODE_WRITE))             \
				op = c->op_alt;                                    \
			break;                                                     \
		}                                                                  \
		}                                                                  \
		if (!mech)                                                         \
			return 0;                                                  \
		st = bpf_task_storage_get(&inflight, task, 0,                      \
					  BPF_LOCAL_STORAGE_GET_F_CREATE);         \
		if (!st) {                                                         \
			map_stat(MAP_INFLIGHT, true);                              \
			return 0;                                                  \
		}                                                                  \
		in = &st->in;                                                      \
		in->nr = _nr;                                                      \
		in->mech = mech;                                                   \
		in->op = op;                                                       \
		in->bytes = c->bytes;                                              \
		in->kind = c->kind;                                                \
		in->aux = aux;                                                     \
		in->ts = bpf_ktime_get_ns();                                       \
		return 0;                                                          \
	})

#define FMODE_WRITE 0x2

/* Sums msg_len over the first n entries of a struct mmsghdr array. */
static __always_inline __u64 mmsg_bytes(__u64 vec, long n)
{
	__u64 sum = 0;
	for (int i = 0; i < MMSG_MAX; i++) {
		__u32 len = 0;
		if (i >= n)
			break;
		bpf_probe_read_user(&len, sizeof(len),
				    (void *)(vec + i * sizeof(struct mmsghdr) +
					     __builtin_offsetof(struct mmsghdr, msg_len)));
		sum += len;
	}
	return sum;
}

/* Counts the signals in the struct signalfd_siginfo records (128 bytes,
 * ssi_signo first) that a read of n bytes from a signalfd returned in buf:
 * taken from the queue, they never fire signal_deliver. */
static __always_inline void signalfd_delivered(struct task_struct *task, __u64 buf, long n)
{
	for (int i = 0; i < SIGINFO_MAX; i++) {
		__u32 sig = 0;

		if ((i + 1) * 128 > n)
			break;
		bpf_probe_read_user(&sig, sizeof(sig), (void *)(buf + i * 128));
		sig_delivered(task, sig);
	}
}

static __always_inline int on_exit(__u32 nr, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = bpf_task_storage_get(&inflight, task, 0, 0);
	struct inflight *in;
	struct hist *h;
	__u64 now, ts, bytes = 0;
	__u32 idx;

	if (!st || !st->in.ts)
		return 0;
	in = &st->in;
	now = bpf_ktime_get_ns();
	ts = in->ts;
	in->ts = 0;
	if (in->nr != nr)
		return 0;
	if (ret >= 0) {
		switch (in->bytes) {
		case BYTES_RET: bytes = ret; break;
		case BYTES_ARG: bytes = in->aux; break;
		}
		if (in->kind == KIND_MMSG)
			bytes = mmsg_bytes(in->aux, ret);
		/* A signal taken synchronously: rt_sigtimedwait returns it, a
		 * signalfd read copies its record. */
		if (in->kind == KIND_SIGWAIT && ret > 0)
			sig_delivered(task, ret);
		if (in->kind == KIND_FD && in->mech == MECH_SIGNAL && in->aux && ret > 0)
			signalfd_delivered(task, in->aux, ret);
	}

	idx = (__u32)in->mech * MAX_OPS + in->op;
	h = bpf_map_lookup_elem(&op_hist, &idx);
	if (h)
		hist_add(h, now - ts);
	count(task, st, in->mech, in->op, ret < 0, bytes, now - ts);
	return 0;
}

#define REGS_ARG(i)                                                         \
	((i) == 0 ? PT_REGS_PARM1_SYSCALL(regs) :                     \
	 (i) == 1 ? PT_REGS_PARM2_SYSCALL(regs) :                     \
	 (i) == 2 ? PT_REGS_PARM3_SYSCALL(regs) :                     \
	 (i) == 3 ? PT_REGS_PARM4_SYSCALL(regs) :                     \
	 PT_REGS_PARM5_SYSCALL(regs))

/* raw_syscalls:sys_enter as a BTF raw tracepoint: stable since 4.17. */
SEC("tp_btf/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs *regs, long id)
{
	ON_ENTER(id, REGS_ARG);
}

/* raw_syscalls:sys_exit as a BTF raw tracepoint: stable since 4.17. It runs
 * for every syscall: the table filters the untraced ones before any lookup
 * of the task's storage. */
SEC("tp_btf/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 nr = regs->orig_ax;
	struct syscall_cfg *c = bpf_map_lookup_elem(&cfg_by_nr, &nr);

	if (!c || !c->kind)
		return 0;
	/* Most futexes are private (every thread library's own): skip them
	 * before the task's storage too. */
	if (c->kind == KIND_FUTEX && (REGS_ARG(c->arg) & FUTEX_PRIVATE_FLAG))
		return 0;
	return on_exit(nr, ret);
}

#define CTX_ARG(i) (a[(__u32)(i) & 7])

/* syscalls:sys_enter_NAME trace events: ABI since 4.14, the record layout
 * (nr, then six unsigned long args) is the same for every syscall. */
SEC("tracepoint/syscalls/sys_enter")
int tp_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	/* The arguments are copied out: the context allows no variable offset,
	 * and a direct read past a syscall's last argument would make the
	 * program too big for the record of syscalls with fewer arguments. */
	__u64 a[8] = {};

	bpf_probe_read_kernel(a, 6 * sizeof(__u64), ctx->args);

	ON_ENTER(ctx->id, CTX_ARG);
}

/* syscalls:sys_exit_NAME trace events: ABI since 4.14 (nr, ret). */
SEC("tracepoint/syscalls/sys_exit")
int tp_sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->id, ctx->ret);
}

/* Flushes the counters of an exiting task (every thread runs it):
 * sched:sched_process_exit, as a BTF raw tracepoint (5.5+) for the raw hook
 * and as a trace event (ABI since 4.14) for the per-syscall tracepoints. */
static __always_inline int on_task_exit(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = bpf_task_storage_get(&inflight, task, 0, 0);

	if (st)
		flush(task, st);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(raw_task_exit)
{
	return on_task_exit();
}

SEC("tracepoint/sched/sched_process_exit")
int tp_task_exit(void *ctx)
{
	return on_task_exit();
}

/* Flushes the counters of every task; user space runs it before reading
 * op_stats. A task iterator (5.8+). */
SEC("iter/task")
int flush_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct task_state *st;

	if (!task)
		return 0;
	st = bpf_task_storage_get(&inflight, task, 0, 0);
	if (st)
		flush(task, st);
	return 0;
}
