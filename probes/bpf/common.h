/* Shared by ipcwatch's BPF programs: mechanism ids, log2 histograms and map
 * drop accounting. Kernel structs are read with CO-RE from vmlinux.h. */
#ifndef IPCWATCH_COMMON_H
#define IPCWATCH_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Mechanism ids; user space maps them to the names of ARCHITECTURE.md. */
enum mech {
	MECH_NONE = 0,
	MECH_PIPE,
	MECH_FIFO,
	MECH_UNIX_STREAM,
	MECH_UNIX_DGRAM,
	MECH_UNIX_SEQPACKET,
	MECH_SIGNAL,
	MECH_POSIX_MQ,
	MECH_SYSV_MSG,
	MECH_POSIX_SHM,
	MECH_SYSV_SHM,
	MECH_SYSV_SEM,
	MECH_MMAP,
	MECH_EVENTFD,
	MECH_TCP,
	MECH_COUNT,
};

#define HIST_BUCKETS 40

/* A log2 histogram of nanoseconds. */
struct hist {
	__u64 buckets[HIST_BUCKETS];
	__u64 count;
	__u64 sum;
};

/* Entries inserted into a map and inserts that failed, per map. */
struct map_stat {
	__u64 inserts;
	__u64 failures;
};

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, s;
	s = (v > 0xFFFFFFFFULL) << 5; v >>= s; r |= s;
	s = (v > 0xFFFF) << 4; v >>= s; r |= s;
	s = (v > 0xFF) << 3; v >>= s; r |= s;
	s = (v > 0xF) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	r |= (v >> 1);
	return r;
}

static __always_inline void hist_add(struct hist *h, __u64 ns)
{
	__u32 b = log2_u64(ns);
	if (b >= HIST_BUCKETS)
		b = HIST_BUCKETS - 1;
	h->buckets[b]++;
	h->count++;
	h->sum += ns;
}

#endif
