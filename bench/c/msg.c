/* Message mechanisms: real-time signals, POSIX and System V message queues. */
#include "pingpong.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <unistd.h>

/* signal: real-time signal 42 sent to the other end's thread
 * (rt_tgsigqueueinfo, SI_QUEUE) with the 8-byte message as its value, taken
 * with sigtimedwait while blocked; the receiver checks the sender's pid and
 * si_code, as ipc/signal.go does. */
#define PP_SIGNAL 42

static siginfo_t sig_out; /* filled once; only the value changes */
static sigset_t sig_set;

static int sig_send(struct ep *e, const unsigned char *m, size_t n)
{
	memcpy(&sig_out.si_value, m, n);
	while (syscall(SYS_rt_tgsigqueueinfo, e->peer, e->peer, PP_SIGNAL, &sig_out) < 0)
		if (errno != EAGAIN && errno != EINTR)
			return fail("queueing signal");
	return 0;
}

static int sig_recv(struct ep *e, unsigned char *b, size_t n)
{
	siginfo_t info;
	struct timespec ts = {.tv_sec = 5};
	while (sigtimedwait(&sig_set, &info, &ts) < 0)
		if (errno != EINTR)
			return fail("waiting for signal");
	if (info.si_code != SI_QUEUE || info.si_pid != e->peer) {
		fprintf(stderr, "pingpong: signal from pid %d (si_code %d), not from the peer\n",
			(int)info.si_pid, info.si_code);
		return -1;
	}
	memcpy(b, &info.si_value, n);
	return 0;
}

static int sig_setup(struct chan *c)
{
	(void)c;
	sigemptyset(&sig_set);
	sigaddset(&sig_set, PP_SIGNAL);
	if (sigprocmask(SIG_BLOCK, &sig_set, NULL) < 0)
		return fail("blocking signal");
	return 0;
}

/* sig_fill sets the sender's fields of the siginfo, in the process that sends. */
static void sig_fill(void)
{
	memset(&sig_out, 0, sizeof sig_out);
	sig_out.si_signo = PP_SIGNAL;
	sig_out.si_code = SI_QUEUE;
	sig_out.si_pid = getpid();
	sig_out.si_uid = getuid();
}

static int sig_creator(struct chan *c, struct ep *e)
{
	e->send = sig_send;
	e->recv = sig_recv;
	e->peer = c->peer_tid;
	sig_fill();
	return 0;
}

static int sig_peer(struct chan *c, struct ep *e)
{
	e->send = sig_send;
	e->recv = sig_recv;
	e->peer = c->creator_tid;
	sig_fill();
	return 0;
}

static void no_teardown(struct chan *c) { (void)c; }

/* posix_mq: two queues, one message each way per round trip */
static int mq_send_(struct ep *e, const unsigned char *m, size_t n)
{
	struct timespec ts = deadline(5);
	while (mq_timedsend(e->wfd, (const char *)m, n, 0, &ts) < 0)
		if (errno != EINTR)
			return fail("sending to queue");
	return 0;
}

static int mq_recv_(struct ep *e, unsigned char *b, size_t n)
{
	struct timespec ts = deadline(5);
	ssize_t r;
	while ((r = mq_timedreceive(e->rfd, (char *)b, n, NULL, &ts)) < 0)
		if (errno != EINTR)
			return fail("receiving from queue");
	if ((size_t)r != n) {
		fprintf(stderr, "pingpong: message of %zd bytes, want %zu\n", r, n);
		return -1;
	}
	return 0;
}

static void mq_name(struct chan *c, int i, char *out, size_t len)
{
	snprintf(out, len, "%s-%s", c->name, i == 0 ? "to-peer" : "from-peer");
}

static int mq_setup(struct chan *c)
{
	struct mq_attr a = {.mq_maxmsg = 10, .mq_msgsize = (long)c->size};
	char n[100];
	for (int i = 0; i < 2; i++) {
		mq_name(c, i, n, sizeof n);
		if ((c->fd[i] = mq_open(n, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &a)) < 0)
			return fail("creating message queue");
	}
	return 0;
}

static int mq_creator(struct chan *c, struct ep *e)
{
	e->send = mq_send_;
	e->recv = mq_recv_;
	e->wfd = c->fd[0];
	e->rfd = c->fd[1];
	return 0;
}

static int mq_peer(struct chan *c, struct ep *e)
{
	e->send = mq_send_;
	e->recv = mq_recv_;
	e->rfd = c->fd[0];
	e->wfd = c->fd[1];
	return 0;
}

static void mq_teardown(struct chan *c)
{
	char n[100];
	for (int i = 0; i < 2; i++) {
		mq_name(c, i, n, sizeof n);
		mq_unlink(n);
	}
}

/* sysv_msg: two queues, msgsnd and msgrcv of type 1 */
struct msgb {
	long mtype;
	unsigned char mtext[];
};

static struct msgb *sysv_buf;

static int sysv_send(struct ep *e, const unsigned char *m, size_t n)
{
	sysv_buf->mtype = 1;
	memcpy(sysv_buf->mtext, m, n);
	while (msgsnd(e->wfd, sysv_buf, n, 0) < 0)
		if (errno != EINTR)
			return fail("msgsnd");
	return 0;
}

static int sysv_recv(struct ep *e, unsigned char *b, size_t n)
{
	ssize_t r;
	while ((r = msgrcv(e->rfd, sysv_buf, n, 0, 0)) < 0)
		if (errno != EINTR)
			return fail("msgrcv");
	if ((size_t)r != n) {
		fprintf(stderr, "pingpong: message of %zd bytes, want %zu\n", r, n);
		return -1;
	}
	memcpy(b, sysv_buf->mtext, n);
	return 0;
}

static int sysv_setup(struct chan *c)
{
	for (int i = 0; i < 2; i++)
		if ((c->id[i] = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0)
			return fail("creating System V queue");
	sysv_buf = malloc(sizeof *sysv_buf + c->size);
	return 0;
}

static int sysv_creator(struct chan *c, struct ep *e)
{
	e->send = sysv_send;
	e->recv = sysv_recv;
	e->wfd = c->id[0];
	e->rfd = c->id[1];
	return 0;
}

static int sysv_peer(struct chan *c, struct ep *e)
{
	e->send = sysv_send;
	e->recv = sysv_recv;
	e->rfd = c->id[0];
	e->wfd = c->id[1];
	return 0;
}

static void sysv_teardown(struct chan *c)
{
	for (int i = 0; i < 2; i++)
		if (c->id[i] >= 0)
			msgctl(c->id[i], IPC_RMID, NULL);
}

const struct mech msg_mechs[] = {
	{"signal", 8, sig_setup, sig_creator, sig_peer, no_teardown},
	{"posix_mq", 1 << 20, mq_setup, mq_creator, mq_peer, mq_teardown},
	{"sysv_msg", 1 << 20, sysv_setup, sysv_creator, sysv_peer, sysv_teardown},
	{0},
};
