/* Classifies the file behind a file descriptor as an IPC mechanism, from
 * the inode mode, the superblock magic, the socket family, type, protocol
 * and peer address, and the anonymous inode name. Every read is CO-RE:
 * direct loads through BTF pointers, relocated against the running
 * kernel's BTF. */
#ifndef IPCWATCH_CLASSIFY_H
#define IPCWATCH_CLASSIFY_H

#include "common.h"
#include <bpf/bpf_endian.h>

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFREG 0100000
#define S_IFIFO 0010000
#define PIPEFS_MAGIC 0x50495045
#define MQUEUE_MAGIC 0x19800202
#define ANON_INODE_FS_MAGIC 0x09041934
#define TMPFS_MAGIC 0x01021994
#define SB_KERNMOUNT (1 << 22)
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_SEQPACKET 5

/* Casts a kernel pointer read as a number into a BTF pointer whose fields
 * the program may load directly (kfunc, 6.2+). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* fd_file returns the file behind fd in task's table. task is a BTF pointer:
 * fields load directly, much cheaper than bpf_probe_read_kernel. */
static __always_inline struct file *fd_file(struct task_struct *task, __u64 fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file **slot;
	struct file *f;

	if (fd >= fdt->max_fds)
		return NULL;
	/* A cast to void makes the slot a pointer the program may load from. */
	slot = bpf_rdonly_cast(fdt->fd + fd, 0);
	f = *slot;
	if (!f)
		return NULL;
	return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}

/* The mechanism of an anonymous inode from its name: "[eventfd]", or
 * "[signalfd]" (signals read from a file descriptor). */
static __always_inline enum mech anon_mech(struct file *f)
{
	char name[11] = {};
	const unsigned char *p = BPF_CORE_READ(f, f_path.dentry, d_name.name);

	bpf_probe_read_kernel(name, sizeof(name), p);
	if (name[0] != '[')
		return MECH_NONE;
	if (name[1] == 'e' && name[2] == 'v' && name[3] == 'e' && name[4] == 'n' &&
	    name[5] == 't' && name[6] == 'f' && name[7] == 'd' && name[8] == ']' && name[9] == 0)
		return MECH_EVENTFD;
	if (name[1] == 's' && name[2] == 'i' && name[3] == 'g' && name[4] == 'n' &&
	    name[5] == 'a' && name[6] == 'l' && name[7] == 'f' && name[8] == 'd' && name[9] == ']' &&
	    name[10] == 0)
		return MECH_SIGNAL;
	return MECH_NONE;
}

/* A tmpfs file is POSIX shared memory when it is a memfd ("memfd:" name) or
 * lives on a tmpfs mounted on a directory named shm (/dev/shm). The kernel's
 * own tmpfs (SB_KERNMOUNT) holds memfds, System V segments ("SYSV" names)
 * and anonymous shared memory. */
static __always_inline enum mech tmpfs_mech(struct file *f)
{
	char name[8] = {};
	const unsigned char *p = BPF_CORE_READ(f, f_path.dentry, d_name.name);
	struct vfsmount *vm = BPF_CORE_READ(f, f_path.mnt);
	struct mount *m = (void *)vm - bpf_core_field_offset(struct mount, mnt);

	bpf_probe_read_kernel(name, 6, p);
	if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' &&
	    name[4] == 'd' && name[5] == ':')
		return MECH_POSIX_SHM;
	if (f->f_inode->i_sb->s_flags & SB_KERNMOUNT)
		return name[0] == 'S' && name[1] == 'Y' && name[2] == 'S' && name[3] == 'V' ?
			       MECH_SYSV_SHM : MECH_NONE;
	/* Mounts stacked on the same directory sit on the root of the one below. */
	for (int i = 0; i < 4; i++) {
		p = BPF_CORE_READ(m, mnt_mountpoint, d_name.name);
		bpf_probe_read_kernel(name, 4, p);
		if (name[0] != '/')
			break;
		m = BPF_CORE_READ(m, mnt_parent);
	}
	return name[0] == 's' && name[1] == 'h' && name[2] == 'm' && name[3] == 0 ?
		       MECH_POSIX_SHM : MECH_MMAP;
}

/* classify_mapped returns the mechanism of a regular file mapped shared:
 * posix_shm, sysv_shm or mmap (any other file), MECH_NONE for anonymous
 * shared memory and devices. */
static __always_inline enum mech classify_mapped(struct file *f)
{
	struct inode *inode;

	if (!f)
		return MECH_NONE;
	inode = f->f_inode;
	if ((inode->i_mode & S_IFMT) != S_IFREG)
		return MECH_NONE;
	return inode->i_sb->s_magic == TMPFS_MAGIC ? tmpfs_mech(f) : MECH_MMAP;
}

/* loopback_peer says whether the peer address of sk, an AF_INET or AF_INET6
 * socket, is a loopback address: 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104.
 * Only connect and accept set it: it is 0 (or ::) on listening and
 * unconnected sockets. */
static __always_inline bool loopback_peer(struct sock *sk, __u16 family)
{
	__u32 *a;

	if (family == AF_INET)
		return bpf_ntohl(sk->__sk_common.skc_daddr) >> 24 == 127;
	/* Kernels without IPv6 have no skc_v6_daddr. */
	if (!bpf_core_field_exists(sk->__sk_common.skc_v6_daddr))
		return false;
	a = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32;
	if (a[0] | a[1])
		return false;
	if (!a[2])
		return a[3] == bpf_htonl(1);
	return a[2] == bpf_htonl(0xffff) && bpf_ntohl(a[3]) >> 24 == 127;
}

/* sock_classify returns the mechanism of a socket: unix_* by type for
 * AF_UNIX, tcp for a TCP socket connected to a loopback address (local IPC
 * over TCP), MECH_NONE for every other socket. A TCP socket to another host
 * costs the loads of its family and peer address. */
static __always_inline enum mech sock_classify(struct file *f)
{
	struct socket *sock = bpf_rdonly_cast(f->private_data, bpf_core_type_id_kernel(struct socket));
	struct sock *sk = sock->sk;
	__u16 family = sk->__sk_common.skc_family;

	if (family == AF_UNIX) {
		switch (sock->type) {
		case SOCK_STREAM: return MECH_UNIX_STREAM;
		case SOCK_DGRAM: return MECH_UNIX_DGRAM;
		case SOCK_SEQPACKET: return MECH_UNIX_SEQPACKET;
		}
		return MECH_NONE;
	}
	if (family != AF_INET && family != AF_INET6)
		return MECH_NONE;
	if (!loopback_peer(sk, family))
		return MECH_NONE;
	/* UDP, SCTP, MPTCP and raw sockets to loopback are not TCP. */
	if (sock->type != SOCK_STREAM || sk->sk_protocol != IPPROTO_TCP)
		return MECH_NONE;
	return MECH_TCP;
}

/* classify returns the mechanism of f, or MECH_NONE for files that are not
 * IPC channels (regular files, TCP sockets to other hosts, terminals, ...).
 * With mapped set it also recognises the shared memory files that mmap
 * maps. */
static __always_inline enum mech classify(struct file *f, bool mapped)
{
	struct inode *inode;
	__u16 mode;
	__u64 magic;

	if (!f)
		return MECH_NONE;
	inode = f->f_inode;
	mode = inode->i_mode & S_IFMT;
	if (mode == S_IFIFO)
		return inode->i_sb->s_magic == PIPEFS_MAGIC ? MECH_PIPE : MECH_FIFO;
	if (mode == S_IFSOCK)
		return sock_classify(f);
	/* Character and block devices, directories and links are never IPC.
	 * Message queues and tmpfs files are regular files; anonymous inodes
	 * (eventfd, signalfd) are regular since 6.15 and had no type before. */
	if (mode != S_IFREG && mode != 0)
		return MECH_NONE;
	magic = inode->i_sb->s_magic;
	if (magic == MQUEUE_MAGIC)
		return MECH_POSIX_MQ;
	if (magic == ANON_INODE_FS_MAGIC)
		return anon_mech(f);
	if (mapped)
		return classify_mapped(f);
	return MECH_NONE;
}

#endif
