/*
 * storm - a boot storm: many machines booting at once, each doing what a
 * real boot does.
 *
 *     storm --port PORT --macs FILE [--clients N] [--kernel PATH]
 *           [--initrd PATH] [--source ADDR | --distinct-sources]
 *
 * FILE holds one machine per line: the value sent as mac= (any spelling,
 * already URL-encoded).  N threads (default 256) take machines in turn; a
 * machine
 *   1. connects to 127.0.0.1:PORT and GETs /ipxe/v1/config?mac=...;
 *   2. when the script installs (it carries bootd.token=), GETs the kernel
 *      and the initrd on the same keep-alive connection, as iPXE does;
 *   3. then, from a new connection as the installer would, POSTs
 *      token=... to /ipxe/v1/done.
 * A boot fails when any answer is not 200, the connection breaks, or the
 * script is nginx's failsafe (bootd did not answer: "boot server
 * unavailable", counted apart).
 *
 * --distinct-sources binds machine i to its own loopback address
 * (127.1.0.1, 127.1.0.2, ...), so per-address limits in nginx see a fleet;
 * --source binds every machine to one address (a fleet behind NAT).
 * Linux routes all of 127.0.0.0/8 to the loopback interface.
 *
 * Prints one JSON object: machines, installs, failed boots, answers by
 * status, time to complete, per-boot latency percentiles.  Part of bench/,
 * never run by the tests.
 */
#define _GNU_SOURCE		/* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE	65536
#define STATUS_MAX	600

struct conn {
	int	fd;
	char	buf[BUF_SIZE];
	size_t	len;		/* bytes in buf */
};

static struct {
	int		port;
	const char	*kernel;
	const char	*initrd;
	const char	*source;
	int		distinct;
	char		**macs;
	size_t		nmacs;
} opt = { 0, "/images/debian-12/vmlinuz", "/images/debian-12/initrd.img",
	  NULL, 0, NULL, 0 };

static atomic_size_t	next_machine;
static atomic_long	by_status[STATUS_MAX];
static atomic_long	io_errors, failed, installs, done_ok, requests, failsafe;
static double		*boot_ms;	/* per machine */

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
source_of(size_t i, char *out, size_t n)
{
	if (opt.distinct)
		snprintf(out, n, "127.%zu.%zu.%zu", 1 + i / (254 * 256),
		    (i / 254) % 256, 1 + i % 254);
	else
		snprintf(out, n, "%s", opt.source ? opt.source : "");
}

static int
conn_open(struct conn *c, size_t machine)
{
	struct sockaddr_in sa;
	char src[32];
	int one = 1;

	c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	source_of(machine, src, sizeof(src));
	if (src[0] != '\0') {
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		if (inet_pton(AF_INET, src, &sa.sin_addr) != 1 ||
		    bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			goto fail;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)opt.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail;
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return -1;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Read more into c->buf; -1 on EOF or error. */
static int
fill(struct conn *c)
{
	ssize_t n;

	if (c->len == sizeof(c->buf))
		return -1;
	do
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	return 0;
}

static void
consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Read n body bytes, keeping at most keep_cap of them in keep. */
static int
body_bytes(struct conn *c, size_t n, char *keep, size_t keep_cap,
    size_t *kept)
{
	while (n > 0) {
		size_t take;

		if (c->len == 0 && fill(c) != 0)
			return -1;
		take = c->len < n ? c->len : n;
		if (keep != NULL && *kept < keep_cap) {
			size_t k = keep_cap - *kept < take ? keep_cap - *kept : take;

			memcpy(keep + *kept, c->buf, k);
			*kept += k;
		}
		consume(c, take);
		n -= take;
	}
	return 0;
}

/* A CRLF-terminated line at the start of buf; its length with CRLF. */
static int
line(struct conn *c, size_t *len)
{
	char *e;

	while ((e = memmem(c->buf, c->len, "\r\n", 2)) == NULL)
		if (fill(c) != 0)
			return -1;
	*len = (size_t)(e - c->buf) + 2;
	return 0;
}

/*
 * One request and its answer on c.  Returns the status (0 on I/O error);
 * the body's first bytes go to keep (NUL-terminated) when keep is given.
 */
static int
exchange(struct conn *c, const char *req, size_t reqlen, char *keep,
    size_t keep_cap, int *closing)
{
	size_t off = 0, n, kept = 0;
	long clen = -1;
	int status = 0, chunked = 0;
	char *hend;

	atomic_fetch_add(&requests, 1);
	while (off < reqlen) {
		ssize_t w = write(c->fd, req + off, reqlen - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;
		off += (size_t)w;
	}
	while ((hend = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
		if (fill(c) != 0)
			return 0;
	*hend = '\0';
	if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	for (char *h = strstr(c->buf, "\r\n"); h != NULL;
	    h = strstr(h + 2, "\r\n")) {
		if (strncasecmp(h + 2, "content-length:", 15) == 0)
			clen = strtol(h + 17, NULL, 10);
		else if (strncasecmp(h + 2, "transfer-encoding: chunked", 26) == 0)
			chunked = 1;
		else if (strncasecmp(h + 2, "connection: close", 17) == 0)
			*closing = 1;
	}
	consume(c, (size_t)(hend - c->buf) + 4);
	if (chunked) {
		for (;;) {
			long size;

			if (line(c, &n) != 0)
				return 0;
			size = strtol(c->buf, NULL, 16);
			consume(c, n);
			if (size == 0) {
				if (line(c, &n) != 0)	/* no trailers */
					return 0;
				consume(c, n);
				break;
			}
			if (body_bytes(c, (size_t)size, keep, keep_cap, &kept) != 0 ||
			    body_bytes(c, 2, NULL, 0, NULL) != 0)
				return 0;
		}
	} else if (clen >= 0) {
		if (body_bytes(c, (size_t)clen, keep, keep_cap, &kept) != 0)
			return 0;
	} else {			/* until the server closes */
		*closing = 1;
		do
			body_bytes(c, c->len, keep, keep_cap, &kept);
		while (fill(c) == 0);
	}
	if (keep != NULL)
		keep[kept < keep_cap ? kept : keep_cap - 1] = '\0';
	return status;
}

static int
count(int status)
{
	if (status == 0)
		atomic_fetch_add(&io_errors, 1);
	else if (status < STATUS_MAX)
		atomic_fetch_add(&by_status[status], 1);
	return status == 200;
}

/* GET path on c, reconnecting once if the server closed a kept one. */
static int
get(struct conn *c, size_t machine, const char *path, char *keep,
    size_t keep_cap)
{
	char req[1024];
	int n, closing = 0, status;

	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "User-Agent: iPXE/1.21.1 (bench/storm)\r\n\r\n", path);
	if (c->fd < 0 && conn_open(c, machine) != 0)
		return count(0);
	status = exchange(c, req, (size_t)n, keep, keep_cap, &closing);
	if (closing || status == 0)
		conn_close(c);
	return count(status);
}

static int
boot(size_t i)
{
	static _Thread_local char script[BUF_SIZE];
	char path[512], token[33], req[512];
	struct conn c = { .fd = -1 };
	const char *t;
	int ok, closing = 0, n;

	snprintf(path, sizeof(path), "/ipxe/v1/config?mac=%s&platform=efi"
	    "&buildarch=x86_64", opt.macs[i]);
	ok = get(&c, i, path, script, sizeof(script));
	if (ok && strstr(script, "boot server unavailable") != NULL) {
		/* nginx's failsafe script: bootd did not answer (502/504) */
		atomic_fetch_add(&failsafe, 1);
		ok = 0;
	}
	if (!ok || (t = strstr(script, "bootd.token=")) == NULL) {
		conn_close(&c);
		return ok;
	}
	atomic_fetch_add(&installs, 1);
	snprintf(token, sizeof(token), "%.32s", t + 12);
	ok = get(&c, i, opt.kernel, NULL, 0) && get(&c, i, opt.initrd, NULL, 0);
	conn_close(&c);
	if (!ok)
		return 0;
	/* The installer, later, from its own connection. */
	if (conn_open(&c, i) != 0)
		return count(0);
	n = snprintf(req, sizeof(req), "POST /ipxe/v1/done HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nUser-Agent: curl (bench/storm)\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\ntoken=%s",
	    strlen(token) + 6, token);
	ok = count(exchange(&c, req, (size_t)n, NULL, 0, &closing));
	conn_close(&c);
	if (ok)
		atomic_fetch_add(&done_ok, 1);
	return ok;
}

static void *
client(void *arg)
{
	size_t i;

	(void)arg;
	while ((i = atomic_fetch_add(&next_machine, 1)) < opt.nmacs) {
		double t0 = now_ms();

		if (!boot(i))
			atomic_fetch_add(&failed, 1);
		boot_ms[i] = now_ms() - t0;
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
read_macs(const char *path)
{
	FILE *f = fopen(path, "r");
	char line_[256];
	size_t cap = 0;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(line_, sizeof(line_), f) != NULL) {
		line_[strcspn(line_, "\r\n")] = '\0';
		if (line_[0] == '\0')
			continue;
		if (opt.nmacs == cap) {
			cap = cap ? cap * 2 : 1024;
			opt.macs = realloc(opt.macs, cap * sizeof(*opt.macs));
			if (opt.macs == NULL)
				exit(1);
		}
		opt.macs[opt.nmacs++] = strdup(line_);
	}
	fclose(f);
}

int
main(int argc, char **argv)
{
	pthread_t *th;
	int clients = 256, i, first = 1;
	double t0, elapsed;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--distinct-sources") == 0) {
			opt.distinct = 1;
			continue;
		}
		if (v == NULL)
			goto usage;
		i++;
		if (strcmp(a, "--port") == 0)
			opt.port = atoi(v);
		else if (strcmp(a, "--clients") == 0)
			clients = atoi(v);
		else if (strcmp(a, "--macs") == 0)
			read_macs(v);
		else if (strcmp(a, "--kernel") == 0)
			opt.kernel = v;
		else if (strcmp(a, "--initrd") == 0)
			opt.initrd = v;
		else if (strcmp(a, "--source") == 0)
			opt.source = v;
		else
			goto usage;
	}
	if (opt.port <= 0 || opt.nmacs == 0 || clients < 1)
		goto usage;
	boot_ms = calloc(opt.nmacs, sizeof(*boot_ms));
	th = calloc((size_t)clients, sizeof(*th));
	if (boot_ms == NULL || th == NULL)
		return 1;
	t0 = now_ms();
	for (i = 0; i < clients; i++)
		if (pthread_create(&th[i], NULL, client, NULL) != 0) {
			perror("storm: pthread_create");
			return 1;
		}
	for (i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	elapsed = now_ms() - t0;
	qsort(boot_ms, opt.nmacs, sizeof(*boot_ms), cmp_double);
#define PCT(p) boot_ms[(size_t)((p) / 100.0 * (double)(opt.nmacs - 1))]
	printf("{\"machines\": %zu, \"clients\": %d, \"installs\": %ld, "
	    "\"done_ok\": %ld, \"failed\": %ld, \"failsafe\": %ld, "
	    "\"requests\": %ld, "
	    "\"io_errors\": %ld, \"seconds\": %.3f, \"boot_ms\": {\"p50\": %.3f, "
	    "\"p99\": %.3f, \"p99.9\": %.3f, \"max\": %.3f}, \"by_status\": {",
	    opt.nmacs, clients, atomic_load(&installs), atomic_load(&done_ok),
	    atomic_load(&failed), atomic_load(&failsafe),
	    atomic_load(&requests),
	    atomic_load(&io_errors), elapsed / 1e3, PCT(50), PCT(99),
	    PCT(99.9), boot_ms[opt.nmacs - 1]);
	for (i = 0; i < STATUS_MAX; i++)
		if (atomic_load(&by_status[i]) > 0) {
			printf("%s\"%d\": %ld", first ? "" : ", ", i,
			    atomic_load(&by_status[i]));
			first = 0;
		}
	printf("}}\n");
	return 0;
usage:
	fprintf(stderr, "usage: storm --port PORT --macs FILE [--clients N] "
	    "[--kernel PATH] [--initrd PATH] [--source ADDR | "
	    "--distinct-sources]\n");
	return 2;
}
