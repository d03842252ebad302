/*
 * pingpong: the plain C reference for ipcwatch's round-trip benchmark.
 *
 *   pingpong MECHANISM [-s size] [-n count] [-w warmup] [-c same|cross|any] [-t timeout_s]
 *
 * The creator forks a peer, both ends open the mechanism, and the creator
 * sends a message that the peer receives, checks and echoes back: warm-up
 * round trips first, then count timed ones (CLOCK_MONOTONIC). It prints one
 * JSON line with the nearest-rank p50/p90/p99/max in nanoseconds. Each
 * mechanism makes per message the same system calls as ipcwatch's Go
 * implementation of it (ipc/<mechanism>.go), so the two compare like for like.
 * Every object it creates is removed on exit, on error and on SIGINT/SIGTERM.
 */
#include "pingpong.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct mech *mech;
static struct chan chan;
static pid_t creator_pid;

int fail(const char *what)
{
	fprintf(stderr, "pingpong %s: %s: %s\n", chan.mech ? chan.mech : "", what, strerror(errno));
	return -1;
}

int write_full(int fd, const unsigned char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return fail("writing");
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int read_full(int fd, unsigned char *b, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return fail("reading");
		}
		if (r == 0) {
			errno = EPIPE;
			return fail("reading: peer closed its end");
		}
		got += (size_t)r;
	}
	return 0;
}

struct timespec deadline(int seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	return ts;
}

/* The payload, as in ipc/payload.go: byte i is i*131+size, and the sequence
 * number is stamped little-endian in the first and last 8 bytes. */
static void stamp_seq(unsigned char *b, size_t n, uint64_t seq)
{
	unsigned char s[8];
	for (int i = 0; i < 8; i++)
		s[i] = (unsigned char)(seq >> (8 * i));
	memcpy(b, s, n < 8 ? n : 8);
	if (n > 8) {
		size_t k = n - 8 < 8 ? n - 8 : 8;
		memcpy(b + n - k, s, k);
	}
}

static void fill(unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 131 + n);
}

static int check(unsigned char *want, const unsigned char *got, size_t n, uint64_t seq)
{
	stamp_seq(want, n, seq);
	if (memcmp(want, got, n) != 0) {
		fprintf(stderr, "pingpong %s: message %llu differs from what was sent\n",
			chan.mech, (unsigned long long)seq);
		return -1;
	}
	return 0;
}

static int pin(int cpu)
{
	cpu_set_t set;
	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0)
		return fail("pinning to a CPU");
	return 0;
}

/* cpus picks the creator's and the peer's CPU as ipc/cpu.go does: the first
 * one or two CPUs of this process's affinity mask. */
static int cpus(const char *placement, int *self, int *peer)
{
	cpu_set_t set;
	int allowed[2], n = 0;
	*self = *peer = -1;
	if (strcmp(placement, "any") == 0)
		return 0;
	if (sched_getaffinity(0, sizeof set, &set) < 0)
		return fail("reading CPU affinity");
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			allowed[n++] = c;
	if (strcmp(placement, "same") == 0) {
		*self = *peer = allowed[0];
		return 0;
	}
	if (n < 2) {
		fprintf(stderr, "pingpong: cpu placement cross needs two CPUs\n");
		return -1;
	}
	*self = allowed[0];
	*peer = allowed[1];
	return 0;
}

static volatile sig_atomic_t child_reaped;
static int child_status;

/* on_child ends the creator when the peer fails: a wait on a mechanism that
 * does not notice a dead peer (eventfd, System V queues) would never return. */
static void on_child(int sig)
{
	int saved = errno;
	(void)sig;
	if (getpid() == creator_pid && waitpid(-1, &child_status, WNOHANG) > 0) {
		child_reaped = 1;
		if (!WIFEXITED(child_status) || WEXITSTATUS(child_status) != 0) {
			static const char msg[] = "pingpong: peer failed\n";
			if (write(2, msg, sizeof msg - 1) < 0) {
				/* nothing more to say */
			}
			mech->teardown(&chan);
			_exit(1);
		}
	}
	errno = saved;
}

static void on_signal(int sig)
{
	if (getpid() == creator_pid && mech)
		mech->teardown(&chan);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int echo(struct ep *e, size_t n, long count)
{
	unsigned char *buf = malloc(n), *want = malloc(n);
	fill(want, n);
	for (long i = 0; i < count; i++) {
		if (e->recv(e, buf, n) < 0 || check(want, buf, n, (uint64_t)i) < 0 ||
		    e->send(e, buf, n) < 0)
			return -1;
	}
	free(buf);
	free(want);
	return 0;
}

static int pingpong(struct ep *e, size_t n, long count, int64_t *samples)
{
	unsigned char *msg = malloc(n), *buf = malloc(n), *want = malloc(n), *base = malloc(n);
	struct timespec t0, t1;
	fill(base, n);
	fill(want, n);
	for (long i = 0; i < count; i++) {
		memcpy(msg, base, n);
		stamp_seq(msg, n, (uint64_t)i);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (e->send(e, msg, n) < 0 || e->recv(e, buf, n) < 0)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (samples)
			samples[i] = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
		if (check(want, buf, n, (uint64_t)i) < 0)
			return -1;
	}
	free(msg);
	free(buf);
	free(want);
	free(base);
	return 0;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int64_t percentile(const int64_t *sorted, long n, int p)
{
	long rank = (p * n + 99) / 100;
	return sorted[(rank < 1 ? 1 : rank) - 1];
}

static const struct mech *lookup(const char *name)
{
	const struct mech *tables[] = {fd_mechs, msg_mechs, shm_mechs};
	for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
		for (const struct mech *m = tables[t]; m->name; m++)
			if (strcmp(m->name, name) == 0)
				return m;
	return NULL;
}

static int usage(const char *msg)
{
	fprintf(stderr, "pingpong: %s\nusage: pingpong MECHANISM [-s size] [-n count] [-w warmup] "
		"[-c same|cross|any] [-t timeout_s]\n", msg);
	return 2;
}

static int run_creator(struct ep *e, pid_t child, long warmup, long count, int self_cpu,
		       const char *placement)
{
	int64_t *samples = calloc((size_t)count, sizeof *samples);
	if (pin(self_cpu) < 0 || mech->creator(&chan, e) < 0 ||
	    pingpong(e, chan.size, warmup, NULL) < 0 || pingpong(e, chan.size, count, samples) < 0) {
		kill(child, SIGKILL);
		return 1;
	}
	qsort(samples, (size_t)count, sizeof *samples, cmp64);
	printf("{\"mechanism\":\"%s\",\"size\":%zu,\"count\":%ld,\"cpu\":\"%s\","
	       "\"p50_ns\":%lld,\"p90_ns\":%lld,\"p99_ns\":%lld,\"max_ns\":%lld}\n",
	       chan.mech, chan.size, count, placement,
	       (long long)percentile(samples, count, 50), (long long)percentile(samples, count, 90),
	       (long long)percentile(samples, count, 99), (long long)samples[count - 1]);
	free(samples);
	return 0;
}

int main(int argc, char **argv)
{
	const char *placement = "any";
	long count = 10000, warmup = -1, size = 64;
	int opt, status, self_cpu, peer_cpu, rc;
	struct ep e = {.rfd = -1, .wfd = -1};
	pid_t child;

	chan.timeout_s = 5;
	while ((opt = getopt(argc, argv, "s:n:w:c:t:")) != -1) {
		switch (opt) {
		case 's': size = atol(optarg); break;
		case 'n': count = atol(optarg); break;
		case 'w': warmup = atol(optarg); break;
		case 'c': placement = optarg; break;
		case 't': chan.timeout_s = atoi(optarg); break;
		default: return usage("bad option");
		}
	}
	if (optind != argc - 1)
		return usage("want one mechanism");
	if (!(mech = lookup(argv[optind])))
		return usage("unknown mechanism");
	if (size <= 0 || (size_t)size > mech->max_size)
		return usage("size out of range for this mechanism");
	if (count <= 0 || chan.timeout_s <= 0)
		return usage("count and timeout must be positive");
	if (strcmp(placement, "same") && strcmp(placement, "cross") && strcmp(placement, "any"))
		return usage("cpu placement must be same, cross or any");
	if (warmup < 0) /* as ipc/run.go: count/10, at least 10, at most 1000 */
		warmup = count / 10 < 10 ? 10 : count / 10 > 1000 ? 1000 : count / 10;
	if (cpus(placement, &self_cpu, &peer_cpu) < 0)
		return 1;

	chan.mech = mech->name;
	chan.size = (size_t)size;
	creator_pid = getpid();
	chan.creator_tid = creator_pid;
	for (int i = 0; i < 4; i++)
		chan.fd[i] = chan.id[i] = -1;
	snprintf(chan.name, sizeof chan.name, "/pingpong-%d", (int)creator_pid);
	snprintf(chan.dir, sizeof chan.dir, "%s/pingpong-%d",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)creator_pid);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, on_child);
	if (mech->setup(&chan) < 0) {
		mech->teardown(&chan);
		return 1;
	}
	fflush(stdout);
	child = fork();
	if (child < 0) {
		fail("forking the peer");
		mech->teardown(&chan);
		return 1;
	}
	if (child == 0) {
		signal(SIGCHLD, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != creator_pid)
			_exit(1);
		chan.peer_tid = getpid();
		if (pin(peer_cpu) < 0 || mech->peer(&chan, &e) < 0 ||
		    echo(&e, chan.size, warmup) < 0 || echo(&e, chan.size, count) < 0)
			_exit(1);
		_exit(0);
	}
	chan.peer_tid = child;
	rc = run_creator(&e, child, warmup, count, self_cpu, placement);
	signal(SIGCHLD, SIG_DFL);
	if (child_reaped)
		status = child_status;
	else if (waitpid(child, &status, 0) < 0)
		status = -1;
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (rc == 0)
			fprintf(stderr, "pingpong %s: peer failed\n", chan.mech);
		rc = 1;
	}
	mech->teardown(&chan);
	return rc;
}
