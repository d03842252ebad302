/* Classifies a shared futex by the file mapped at its address: futexes are
 * how processes sharing memory (POSIX and System V shared memory, shared
 * file mappings) wake each other, the only syscalls their traffic makes. */
#ifndef IPCWATCH_FUTEX_H
#define IPCWATCH_FUTEX_H

#include "classify.h"

/* From linux/futex.h: the futex(2) commands traced and the flag of
 * process-private futexes (also FUTEX2_PRIVATE of futex_wait/futex_wake). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

#define VM_SHARED 0x8
#define EBUSY 16

struct vma_lookup {
	__u8 mech;
};

/* bpf_find_vma's callback: the mechanism of a shared file mapping. */
static long vma_mech(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_lookup *l = data;

	if (vma->vm_flags & VM_SHARED)
		l->mech = classify_mapped(vma->vm_file);
	return 0;
}

/* futex_mech returns the mechanism of the shared mapping holding uaddr in
 * task's address space, MECH_NONE for private and anonymous memory.
 * bpf_find_vma (5.17+) only tries the address space's lock: *busy says the
 * lookup could not run. */
static __always_inline __u8 futex_mech(struct task_struct *task, __u64 uaddr, bool *busy)
{
	struct vma_lookup l = {};

	*busy = bpf_find_vma(task, uaddr, vma_mech, &l, 0) == -EBUSY;
	return l.mech;
}

#endif
