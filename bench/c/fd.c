/* Descriptor mechanisms: pipe, fifo, Unix sockets, TCP loopback, eventfd. */
#include "pingpong.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* byte streams: one write and one read per message, looping on short ones */
static int stream_send(struct ep *e, const unsigned char *m, size_t n) { return write_full(e->wfd, m, n); }
static int stream_recv(struct ep *e, unsigned char *b, size_t n) { return read_full(e->rfd, b, n); }

static void close_fds(struct chan *c)
{
	for (int i = 0; i < 4; i++)
		if (c->fd[i] >= 0) {
			close(c->fd[i]);
			c->fd[i] = -1;
		}
}

static void teardown_fds(struct chan *c) { (void)c; }

static void teardown_dir(struct chan *c)
{
	char p[200];
	const char *names[] = {"to-peer.fifo", "from-peer.fifo", "sock"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", c->dir, names[i]);
		unlink(p);
	}
	rmdir(c->dir);
}

static void path(struct chan *c, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", c->dir, name);
}

/* pipe: two pipes; fd[0] peer reads, fd[1] creator writes, fd[2] creator
 * reads, fd[3] peer writes */
static int pipe_setup(struct chan *c)
{
	if (pipe2(c->fd, O_CLOEXEC) < 0 || pipe2(c->fd + 2, O_CLOEXEC) < 0)
		return fail("creating pipe");
	return 0;
}

static int pipe_creator(struct chan *c, struct ep *e)
{
	e->send = stream_send;
	e->recv = stream_recv;
	e->wfd = c->fd[1];
	e->rfd = c->fd[2];
	close(c->fd[0]);
	close(c->fd[3]);
	return 0;
}

static int pipe_peer(struct chan *c, struct ep *e)
{
	e->send = stream_send;
	e->recv = stream_recv;
	e->rfd = c->fd[0];
	e->wfd = c->fd[3];
	close(c->fd[1]);
	close(c->fd[2]);
	return 0;
}

/* fifo: two FIFOs in a private directory */
static int fifo_setup(struct chan *c)
{
	char p[200];
	if (mkdir(c->dir, 0700) < 0)
		return fail("creating directory");
	path(c, "to-peer.fifo", p, sizeof p);
	if (mkfifo(p, 0600) < 0)
		return fail("creating FIFO");
	path(c, "from-peer.fifo", p, sizeof p);
	if (mkfifo(p, 0600) < 0)
		return fail("creating FIFO");
	return 0;
}

static int fifo_open(struct chan *c, const char *name, int flags)
{
	char p[200];
	int fd;
	path(c, name, p, sizeof p);
	if ((fd = open(p, flags | O_CLOEXEC)) < 0)
		return fail("opening FIFO");
	return fd;
}

static int fifo_creator(struct chan *c, struct ep *e)
{
	e->send = stream_send;
	e->recv = stream_recv;
	if ((e->wfd = fifo_open(c, "to-peer.fifo", O_WRONLY)) < 0 ||
	    (e->rfd = fifo_open(c, "from-peer.fifo", O_RDONLY)) < 0)
		return -1;
	return 0;
}

static int fifo_peer(struct chan *c, struct ep *e)
{
	e->send = stream_send;
	e->recv = stream_recv;
	if ((e->rfd = fifo_open(c, "to-peer.fifo", O_RDONLY)) < 0 ||
	    (e->wfd = fifo_open(c, "from-peer.fifo", O_WRONLY)) < 0)
		return -1;
	return 0;
}

/* Sockets. Stream sockets (unix_stream, tcp) move messages with write and
 * read, as pipes do; message sockets (unix_seqpacket, unix_dgram) with one
 * send (MSG_NOSIGNAL) and one recv (MSG_TRUNC) each. Every socket has
 * SO_RCVTIMEO and SO_SNDTIMEO set to the timeout. */
static int sock_send_msg(struct ep *e, const unsigned char *m, size_t n)
{
	ssize_t w;
	do
		w = send(e->wfd, m, n, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return fail("sending");
	return 0;
}

static int sock_recv_msg(struct ep *e, unsigned char *b, size_t n)
{
	ssize_t r;
	do
		r = recv(e->rfd, b, n, MSG_TRUNC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return fail("receiving");
	if ((size_t)r != n) {
		fprintf(stderr, "pingpong: message of %zd bytes, want %zu\n", r, n);
		return -1;
	}
	return 0;
}

static int sock_ep(struct chan *c, struct ep *e, int fd)
{
	struct timeval tv = {.tv_sec = c->timeout_s};
	int stream = strcmp(c->mech, "unix_stream") == 0 || strcmp(c->mech, "tcp") == 0;
	e->rfd = e->wfd = fd;
	e->send = stream ? stream_send : sock_send_msg;
	e->recv = stream ? stream_recv : sock_recv_msg;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		return fail("setting socket timeouts");
	return 0;
}

/* A listening socket in fd[0]; the peer connects, the creator accepts. */
static socklen_t sock_addr(struct chan *c, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (strcmp(c->mech, "tcp") == 0) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in->sin_port = (in_port_t)c->id[0];
		return sizeof *in;
	}
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	un->sun_family = AF_UNIX;
	if (strcmp(c->mech, "unix_seqpacket") == 0) { /* abstract */
		int n = snprintf(un->sun_path + 1, sizeof un->sun_path - 1, "%s", c->name + 1);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	}
	snprintf(un->sun_path, sizeof un->sun_path, "%s/sock", c->dir);
	return sizeof *un;
}

static int sock_type(struct chan *c)
{
	return strcmp(c->mech, "unix_seqpacket") == 0 ? SOCK_SEQPACKET : SOCK_STREAM;
}

static int listen_setup(struct chan *c)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int tcp = strcmp(c->mech, "tcp") == 0, one = 1;
	if (strcmp(c->mech, "unix_stream") == 0 && mkdir(c->dir, 0700) < 0)
		return fail("creating directory");
	c->id[0] = 0;
	len = sock_addr(c, &ss);
	if ((c->fd[0] = socket(tcp ? AF_INET : AF_UNIX, sock_type(c) | SOCK_CLOEXEC, 0)) < 0)
		return fail("creating socket");
	if (tcp)
		setsockopt(c->fd[0], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(c->fd[0], (struct sockaddr *)&ss, len) < 0 || listen(c->fd[0], 1) < 0)
		return fail("binding socket");
	if (tcp) {
		len = sizeof ss;
		if (getsockname(c->fd[0], (struct sockaddr *)&ss, &len) < 0)
			return fail("reading port");
		c->id[0] = ((struct sockaddr_in *)&ss)->sin_port;
	}
	return 0;
}

static int nodelay(struct chan *c, int fd)
{
	int one = 1;
	if (strcmp(c->mech, "tcp") == 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
		return fail("setting TCP_NODELAY");
	return 0;
}

static int listen_creator(struct chan *c, struct ep *e)
{
	int fd = accept4(c->fd[0], NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return fail("accepting");
	close_fds(c);
	if (sock_ep(c, e, fd) < 0)
		return -1;
	return nodelay(c, fd);
}

static int listen_peer(struct chan *c, struct ep *e)
{
	struct sockaddr_storage ss;
	socklen_t len = sock_addr(c, &ss);
	int fd = socket(ss.ss_family, sock_type(c) | SOCK_CLOEXEC, 0);
	close_fds(c);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
		return fail("connecting");
	if (sock_ep(c, e, fd) < 0)
		return -1;
	return nodelay(c, fd);
}

/* unix_dgram: a socket pair; fd[0] the creator's, fd[1] the peer's */
static int pair_setup(struct chan *c)
{
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, c->fd) < 0)
		return fail("creating socket pair");
	return 0;
}

static int pair_creator(struct chan *c, struct ep *e)
{
	close(c->fd[1]);
	return sock_ep(c, e, c->fd[0]);
}

static int pair_peer(struct chan *c, struct ep *e)
{
	close(c->fd[0]);
	return sock_ep(c, e, c->fd[1]);
}

/* eventfd: two counters, fd[0] to the peer, fd[1] from it. As in
 * ipc/eventfd.go, the 8-byte message is written as 2^63 + payload: a write of
 * 0 would wake nobody, and the bias keeps two messages from adding up. */
#define EFD_BIAS (1ULL << 63)

static int efd_send(struct ep *e, const unsigned char *m, size_t n)
{
	uint64_t v = 0;
	memcpy(&v, m, n);
	v += EFD_BIAS;
	return write_full(e->wfd, (unsigned char *)&v, 8);
}

static int efd_recv(struct ep *e, unsigned char *b, size_t n)
{
	uint64_t v;
	if (read_full(e->rfd, (unsigned char *)&v, 8) < 0)
		return -1;
	if (v < EFD_BIAS) {
		fprintf(stderr, "pingpong: eventfd counter %#llx holds no message\n", (unsigned long long)v);
		return -1;
	}
	v -= EFD_BIAS;
	memcpy(b, &v, n);
	return 0;
}

static int efd_setup(struct chan *c)
{
	if ((c->fd[0] = eventfd(0, EFD_CLOEXEC)) < 0 || (c->fd[1] = eventfd(0, EFD_CLOEXEC)) < 0)
		return fail("creating eventfd");
	return 0;
}

static int efd_creator(struct chan *c, struct ep *e)
{
	e->send = efd_send;
	e->recv = efd_recv;
	e->wfd = c->fd[0];
	e->rfd = c->fd[1];
	return 0;
}

static int efd_peer(struct chan *c, struct ep *e)
{
	e->send = efd_send;
	e->recv = efd_recv;
	e->rfd = c->fd[0];
	e->wfd = c->fd[1];
	return 0;
}

const struct mech fd_mechs[] = {
	{"pipe", 1 << 20, pipe_setup, pipe_creator, pipe_peer, teardown_fds},
	{"fifo", 1 << 20, fifo_setup, fifo_creator, fifo_peer, teardown_dir},
	{"unix_stream", 1 << 20, listen_setup, listen_creator, listen_peer, teardown_dir},
	{"unix_seqpacket", 1 << 20, listen_setup, listen_creator, listen_peer, teardown_fds},
	{"unix_dgram", 1 << 20, pair_setup, pair_creator, pair_peer, teardown_fds},
	{"tcp", 1 << 20, listen_setup, listen_creator, listen_peer, teardown_fds},
	{"eventfd", 8, efd_setup, efd_creator, efd_peer, teardown_fds},
	{0},
};
