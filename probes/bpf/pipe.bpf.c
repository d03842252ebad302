// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lists the fill of every open pipe and FIFO in one pass over every fd of
 * every task: a task_file BPF iterator (stable since 5.8). Threads sharing
 * the group leader's fd table are visited once. */
#include "common.h"

#define S_IFMT 00170000
#define S_IFIFO 0010000
#define PAGE_SIZE 4096
#define MAX_RING 1024

struct pipe_fill {
	__u64 inode;
	__u64 queued;
	__u64 capacity;
};

const struct pipe_fill *unused_pipe_fill __attribute__((unused));

SEC("iter/task_file")
int pipe_fills(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct pipe_inode_info *pipe;
	struct pipe_buffer *bufs;
	struct pipe_fill out = {};
	struct inode *inode;
	__u32 head, tail, mask;

	if (!file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFIFO)
		return 0;
	pipe = BPF_CORE_READ(inode, i_pipe);
	if (!pipe)
		return 0;
	head = BPF_CORE_READ(pipe, head);
	tail = BPF_CORE_READ(pipe, tail);
	mask = BPF_CORE_READ(pipe, ring_size) - 1;
	bufs = BPF_CORE_READ(pipe, bufs);
	for (int i = 0; i < MAX_RING; i++) {
		__u32 len = 0;
		if (tail + i == head)
			break;
		bpf_core_read(&len, sizeof(len), &bufs[(tail + i) & mask].len);
		out.queued += len;
	}
	out.inode = BPF_CORE_READ(inode, i_ino);
	out.capacity = (__u64)BPF_CORE_READ(pipe, max_usage) * PAGE_SIZE;
	bpf_seq_write(ctx->meta->seq, &out, sizeof(out));
	return 0;
}
