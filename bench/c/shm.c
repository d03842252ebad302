/* Shared-memory mechanisms: posix_shm and mmap with a futex mailbox each way,
 * sysv_shm with System V semaphores. */
#include "pingpong.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A mailbox: state 0 empty, 1 full; the length; the data. */
struct box {
	_Atomic uint32_t state;
	uint32_t len;
	unsigned char data[];
};

#define SPINS 64

static size_t box_span(size_t size) { return (sizeof(struct box) + size + 63) & ~(size_t)63; }

static int futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
	return (int)syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

/* await waits until the box's state is want: SPINS checks, then FUTEX_WAIT. */
static int await(struct box *b, uint32_t want)
{
	for (int i = 0; i < SPINS; i++)
		if (atomic_load_explicit(&b->state, memory_order_acquire) == want)
			return 0;
	for (;;) {
		uint32_t v = atomic_load_explicit(&b->state, memory_order_acquire);
		struct timespec ts = {.tv_sec = 5};
		if (v == want)
			return 0;
		if (futex(&b->state, FUTEX_WAIT, v, &ts) < 0 && errno != EAGAIN && errno != EINTR)
			return fail("waiting on futex");
	}
}

static int box_send(struct ep *e, const unsigned char *m, size_t n)
{
	struct box *b = e->out;
	if (await(b, 0) < 0)
		return -1;
	memcpy(b->data, m, n);
	b->len = (uint32_t)n;
	atomic_store_explicit(&b->state, 1, memory_order_release);
	futex(&b->state, FUTEX_WAKE, 1, NULL);
	return 0;
}

static int box_recv(struct ep *e, unsigned char *buf, size_t n)
{
	struct box *b = e->in;
	if (await(b, 1) < 0)
		return -1;
	if (b->len != n) {
		fprintf(stderr, "pingpong: message of %u bytes, want %zu\n", b->len, n);
		return -1;
	}
	memcpy(buf, b->data, n);
	atomic_store_explicit(&b->state, 0, memory_order_release);
	futex(&b->state, FUTEX_WAKE, 1, NULL);
	return 0;
}

static int map_fd(struct chan *c, int fd)
{
	c->maplen = 2 * box_span(c->size);
	if (ftruncate(fd, (off_t)c->maplen) < 0)
		return fail("sizing shared memory");
	c->map = mmap(NULL, c->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (c->map == MAP_FAILED)
		return fail("mapping shared memory");
	return 0;
}

static int posix_shm_setup(struct chan *c)
{
	int fd = shm_open(c->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail("creating shared memory");
	return map_fd(c, fd);
}

static void posix_shm_teardown(struct chan *c) { shm_unlink(c->name); }

static void file_path(struct chan *c, char *out, size_t len) { snprintf(out, len, "%s/map", c->dir); }

static int mmap_setup(struct chan *c)
{
	char p[200];
	int fd;
	if (mkdir(c->dir, 0700) < 0)
		return fail("creating directory");
	file_path(c, p, sizeof p);
	if ((fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return fail("creating file");
	return map_fd(c, fd);
}

static void mmap_teardown(struct chan *c)
{
	char p[200];
	file_path(c, p, sizeof p);
	unlink(p);
	rmdir(c->dir);
}

static int box_creator(struct chan *c, struct ep *e)
{
	e->send = box_send;
	e->recv = box_recv;
	e->out = c->map;
	e->in = (char *)c->map + box_span(c->size);
	return 0;
}

static int box_peer(struct chan *c, struct ep *e)
{
	e->send = box_send;
	e->recv = box_recv;
	e->in = c->map;
	e->out = (char *)c->map + box_span(c->size);
	return 0;
}

/* sysv_shm: one segment with a buffer each way; semaphores 0 and 1 say the
 * buffer to the peer is full and empty, 2 and 3 the same for the buffer
 * from it. */
/* sem waits (op -1) at most 5 s; a post (op +1) never blocks and, as on the
 * Go side, passes no timeout. */
static int sem(int id, unsigned short num, short op)
{
	struct sembuf b = {.sem_num = num, .sem_op = op};
	struct timespec ts = {.tv_sec = 5};
	while (semtimedop(id, &b, 1, op < 0 ? &ts : NULL) < 0)
		if (errno != EINTR)
			return fail("semtimedop");
	return 0;
}

static int sysv_send(struct ep *e, const unsigned char *m, size_t n)
{
	/* wfd: the semaphore set; peer: index of this direction's "full" */
	if (sem(e->wfd, (unsigned short)(e->peer + 1), -1) < 0)
		return -1;
	memcpy(e->out, m, n);
	return sem(e->wfd, (unsigned short)e->peer, 1);
}

static int sysv_recv(struct ep *e, unsigned char *buf, size_t n)
{
	int full = 2 - e->peer;
	if (sem(e->rfd, (unsigned short)full, -1) < 0)
		return -1;
	memcpy(buf, e->in, n);
	return sem(e->rfd, (unsigned short)(full + 1), 1);
}

static int sysv_setup(struct chan *c)
{
	unsigned short init[4] = {0, 1, 0, 1};
	c->maplen = 2 * ((c->size + 63) & ~(size_t)63);
	if ((c->id[0] = shmget(IPC_PRIVATE, c->maplen, IPC_CREAT | 0600)) < 0)
		return fail("creating System V shared memory");
	if ((c->map = shmat(c->id[0], NULL, 0)) == (void *)-1)
		return fail("attaching System V shared memory");
	if ((c->id[1] = semget(IPC_PRIVATE, 4, IPC_CREAT | 0600)) < 0)
		return fail("creating System V semaphores");
	if (semctl(c->id[1], 0, SETALL, init) < 0)
		return fail("setting System V semaphores");
	return 0;
}

static int sysv_ends(struct chan *c, struct ep *e, int dir)
{
	size_t half = c->maplen / 2;
	e->send = sysv_send;
	e->recv = sysv_recv;
	e->rfd = e->wfd = c->id[1];
	e->peer = dir; /* 0: the creator sends on 0/1, 2: the peer sends on 2/3 */
	e->out = (char *)c->map + (dir ? half : 0);
	e->in = (char *)c->map + (dir ? 0 : half);
	return 0;
}

static int sysv_creator(struct chan *c, struct ep *e) { return sysv_ends(c, e, 0); }
static int sysv_peer(struct chan *c, struct ep *e) { return sysv_ends(c, e, 2); }

static void sysv_teardown(struct chan *c)
{
	if (c->id[0] >= 0)
		shmctl(c->id[0], IPC_RMID, NULL);
	if (c->id[1] >= 0)
		semctl(c->id[1], 0, IPC_RMID);
}

const struct mech shm_mechs[] = {
	{"posix_shm", 1 << 20, posix_shm_setup, box_creator, box_peer, posix_shm_teardown},
	{"mmap", 1 << 20, mmap_setup, box_creator, box_peer, mmap_teardown},
	{"sysv_shm", 1 << 20, sysv_setup, sysv_creator, sysv_peer, sysv_teardown},
	{0},
};
