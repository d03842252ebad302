/* The C reference ping-pong: shared declarations. */
#ifndef PINGPONG_H
#define PINGPONG_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* One end of a channel: send and recv move one whole message. */
struct ep {
	int (*send)(struct ep *e, const unsigned char *msg, size_t n);
	int (*recv)(struct ep *e, unsigned char *buf, size_t n);
	int rfd, wfd;          /* descriptors, or queue / semaphore ids */
	int peer;              /* signal: the other end's thread id */
	void *out, *in;        /* shared memory: the mailbox to write, to read */
};

/* What both ends share; the creator fills it before the fork. */
struct chan {
	const char *mech;
	size_t size;
	int timeout_s;         /* bound on every wait, as on the Go side */
	char dir[96];          /* private directory for paths */
	char name[64];         /* prefix of /dev/shm and mqueue names */
	int fd[4];             /* descriptors the peer inherits */
	int id[4];             /* System V ids */
	void *map;             /* shared mapping */
	size_t maplen;
	int creator_tid, peer_tid;
};

/* A mechanism: setup runs before the fork, then each end opens its endpoint;
 * teardown removes every object (also after errors and signals). */
struct mech {
	const char *name;
	size_t max_size;
	int (*setup)(struct chan *c);
	int (*creator)(struct chan *c, struct ep *e);
	int (*peer)(struct chan *c, struct ep *e);
	void (*teardown)(struct chan *c);
};

extern const struct mech fd_mechs[], msg_mechs[], shm_mechs[];

/* helpers */
int fail(const char *what);            /* perror-like; returns -1 */
int write_full(int fd, const unsigned char *b, size_t n);
int read_full(int fd, unsigned char *b, size_t n);
struct timespec deadline(int seconds); /* CLOCK_REALTIME now + seconds */

#endif
