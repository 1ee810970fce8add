/*
 * fuzz_fcgi.c - one FastCGI request through bootd's request handling
 *
 * What bootd itself makes of a request nginx passes on: REQUEST_METHOD,
 * DOCUMENT_URI (or SCRIPT_NAME and PATH_INFO), QUERY_STRING,
 * CONTENT_TYPE, CONTENT_LENGTH, REMOTE_ADDR and the body of a done POST,
 * handled by route_handle() with a real inventory (a temporary SQLite
 * file with a host marked for install, one booting locally) and the
 * worker's database handles.  The request travels as well-formed FastCGI
 * records over a real unix socket, accepted by libfcgi's
 * FCGX_Accept_r(), so that libfcgi's own record parsing is not what is
 * fuzzed here; the answer is read back from the socket.
 *
 * The input is split at NUL bytes into the values of REQUEST_METHOD,
 * DOCUMENT_URI, QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH, REMOTE_ADDR,
 * SCRIPT_NAME and PATH_INFO (an empty value is not sent), and the rest,
 * NULs included, is the body.  Every answer must be a well-formed CGI
 * answer (a status bootd knows, headers without stray line breaks, a
 * Content-Length that is the body's, printable headers), done never
 * succeeds (the one live token is random), and every answer to config
 * (200 or 400) an iPXE script that, read the way iPXE reads it
 * (tests/ipxe_check.c), holds only the commands and settings a bootd
 * script may use.
 */
#define _GNU_SOURCE		/* mkdtemp() */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "bootd.h"
#include "fuzz.h"
#include "inv.h"
#include "ipxe_check.h"

#define REQUEST_MAX	32768	/* longer inputs are skipped: the request
				 * must fit the socket's buffer */

enum { FIELD_METHOD, FIELD_URI, FIELD_QUERY, FIELD_CTYPE, FIELD_CLEN,
    FIELD_ADDR, FIELD_SCRIPT, FIELD_PATH, NFIELDS };

static const char *const field_names[NFIELDS] = {
	"REQUEST_METHOD", "DOCUMENT_URI", "QUERY_STRING", "CONTENT_TYPE",
	"CONTENT_LENGTH", "REMOTE_ADDR", "SCRIPT_NAME", "PATH_INFO",
};

static char		 dir[64];	/* the temporary inventory's */
static struct cfg	*cfg;
static struct worker	 w;
static int		 listen_fd = -1;
static int		 queue[2] = { -1, -1 };
static struct sockaddr_un sun;

void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_fcgi: %s\n", what);
	abort();
}

static void
cleanup(void)
{
	char path[128];

	worker_db_close(&w);
	snprintf(path, sizeof(path), "%s/bootd.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bootd.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bootd.db-shm", dir);
	unlink(path);
	unlink(sun.sun_path);
	rmdir(dir);
}

#define MUST(call) do {							\
	if ((call) != BOOTD_OK) {					\
		fprintf(stderr, "fuzz_fcgi: %s: %s\n", #call, e.text);	\
		abort();						\
	}								\
} while (0)

/* The inventory: an install host, a local host, one distribution. */
static void
make_inventory(const char *path)
{
	static const char *const mac_install[] = { "52:54:00:12:34:56" };
	static const char *const mac_local[] = { "52:54:00:12:34:57" };
	char *initrds[] = { "{{base_url}}/images/{{dist}}/initrd.gz" };
	struct inv_dist d = { "debian-12", "{{base_url}}/images/{{dist}}/linux",
	    initrds, 1, "auto=true hostname={{hostname}} url={{base_url}}/"
	    "preseed/{{fqdn}} bootd.token={{token}}" };
	struct bootd_error e = { "" };
	struct inv *inv;

	MUST(inv_open(path, INV_CREATE, &inv, &e));
	MUST(inv_dist_add(inv, &d, &e));
	MUST(inv_host_add_dist(inv, "web1.example.org", mac_install, 1, NULL,
	    "debian-12", &e));
	MUST(inv_host_add(inv, "web2.example.org", mac_local, 1, NULL, &e));
	MUST(inv_set_reinstall(inv, "web1.example.org", NULL,
	    (int64_t)time(NULL), 30L * 86400, NULL, &e));
	inv_close(inv);
}

static void
init(void)
{
	struct bootd_error e = { "" };
	char path[128];

	snprintf(dir, sizeof(dir), "%s/bootd-fuzz-fcgi.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		fuzz_fail("mkdtemp failed");
	atexit(cleanup);
	MUST(cfg_defaults(&cfg, &e));
	snprintf(path, sizeof(path), "%s/bootd.db", dir);
	free(cfg->database);
	free(cfg->events_database);
	cfg->database = strdup(path);
	snprintf(path, sizeof(path), "%s/bootd-events.db", dir);
	cfg->events_database = strdup(path);
	if (cfg->database == NULL || cfg->events_database == NULL)
		fuzz_fail("out of memory");
	cfg->daemon.done_rate = 0;	/* no 429s: each input on its own */
	cfg->daemon.log_level = LOG_CRIT;	/* quiet */
	blog_init(cfg);
	make_inventory(cfg->database);

	if (metrics_init() == -1 || ratelimit_init() == -1)
		fuzz_fail("shared memory");
	if (recorder_queue(queue) == -1)
		fuzz_fail("recorder queue");
	w.cfg = cfg;
	w.events = queue[1];

	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/bootd.sock", dir);
	if ((listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 || bind(listen_fd, (struct sockaddr *)&sun, sizeof(sun)) ==
	    -1 || listen(listen_fd, 4) == -1)
		fuzz_fail("listening socket");
	if (FCGX_Init() != 0)
		fuzz_fail("FCGX_Init");
}

/* Append one FastCGI record of type with content p (n bytes) to out. */
static void
record(struct buf *out, int type, const char *p, size_t n)
{
	unsigned char h[8];

	do {
		size_t len = n > 65535 ? 65535 : n;

		h[0] = 1;			/* FCGI_VERSION_1 */
		h[1] = (unsigned char)type;
		h[2] = 0;
		h[3] = 1;			/* request id 1 */
		h[4] = (unsigned char)(len >> 8);
		h[5] = (unsigned char)len;
		h[6] = 0;
		h[7] = 0;
		buf_append(out, (const char *)h, sizeof(h));
		buf_append(out, p, len);
		p += len;
		n -= len;
	} while (n > 0);
}

/* Append a FastCGI name-value length to out. */
static void
nv_len(struct buf *out, size_t n)
{
	unsigned char b[4];

	if (n < 128) {
		b[0] = (unsigned char)n;
		buf_append(out, (const char *)b, 1);
		return;
	}
	b[0] = (unsigned char)(0x80 | (n >> 24));
	b[1] = (unsigned char)(n >> 16);
	b[2] = (unsigned char)(n >> 8);
	b[3] = (unsigned char)n;
	buf_append(out, (const char *)b, 4);
}

/*
 * The request as FastCGI records: BEGIN_REQUEST (responder, connection
 * not kept), the parameters, the body as STDIN, each stream ended.
 */
static void
build_request(struct buf *out, char *const v[NFIELDS], const char *body,
    size_t bodylen)
{
	static const char begin[8] = { 0, 1, 0 };	/* FCGI_RESPONDER */
	struct buf params = { 0 };
	size_t i;

	record(out, 1, begin, sizeof(begin));		/* BEGIN_REQUEST */
	for (i = 0; i < NFIELDS; i++) {
		if (v[i] == NULL || *v[i] == '\0')
			continue;
		nv_len(&params, strlen(field_names[i]));
		nv_len(&params, strlen(v[i]));
		buf_puts(&params, field_names[i]);
		buf_puts(&params, v[i]);
	}
	if (params.len > 0)
		record(out, 4, buf_str(&params), params.len);	/* PARAMS */
	record(out, 4, "", 0);
	if (bodylen > 0)
		record(out, 5, body, bodylen);		/* STDIN */
	record(out, 5, "", 0);
	buf_free(&params);
}

/* Read everything the worker wrote to fd until it closed, as records. */
static void
read_answer(int fd, struct buf *out)
{
	struct buf raw = { 0 };
	char chunk[8192];
	const unsigned char *p, *end;
	ssize_t n;
	int ended = 0;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fuzz_fail("reading the answer failed");
		}
		buf_append(&raw, chunk, (size_t)n);
	}
	if (buf_failed(&raw))
		fuzz_fail("out of memory");
	p = (const unsigned char *)raw.data;
	end = p + raw.len;
	while (p != NULL && end - p >= 8) {
		size_t len = (size_t)p[4] << 8 | p[5], pad = p[6];

		if ((size_t)(end - p) < 8 + len + pad)
			fuzz_fail("truncated FastCGI record in the answer");
		if (p[1] == 6)				/* STDOUT */
			buf_append(out, (const char *)p + 8, len);
		else if (p[1] == 3)			/* END_REQUEST */
			ended = 1;
		else if (p[1] != 7)			/* STDERR */
			fuzz_fail("unexpected FastCGI record in the answer");
		p += 8 + len + pad;
	}
	if (p != end || !ended)
		fuzz_fail("answer without END_REQUEST");
	buf_free(&raw);
}

/* Check a script served to a booting machine. */
static void
check_script(const char *body)
{
	static const char *const allowed[] = {
		"${platform}", "${target}", NULL
	};
	struct ic_script ic;

	if (ic_parse(body, &ic) != 0)
		fuzz_fail("out of memory");
	if (!ic.magic || ic.dangling)
		fuzz_fail("config answer is no script, or ends dangling");
	if (ic_unknown_command(&ic, NULL) != NULL)
		fuzz_fail("config answer holds an unexpected command");
	if (ic_unknown_setting(&ic, allowed) != NULL)
		fuzz_fail("config answer holds an unexpected setting");
	if (ic_count(&ic.labels, "local") != 1)
		fuzz_fail("config answer cannot boot the local disk");
	ic_free(&ic);
}

/* Check the CGI answer text (Status: line, headers, body). */
static void
check_answer(const char *ans, size_t len, char *const v[NFIELDS])
{
	const char *hend, *line, *eol, *body;
	size_t clen = (size_t)-1, blen;
	char path[512];
	int status, head, config;

	if (len < 12 || strncmp(ans, "Status: ", 8) != 0)
		fuzz_fail("answer does not start with Status:");
	status = atoi(ans + 8);
	switch (status) {
	case 200: case 400: case 403: case 404: case 405: case 413:
	case 415: case 429: case 500: case 503:
		break;
	default:
		fuzz_fail("answer with an unexpected status");
	}
	if ((hend = memmem(ans, len, "\r\n\r\n", 4)) == NULL)
		fuzz_fail("answer headers not ended");
	for (line = ans; line < hend + 2; line = eol + 2) {
		eol = memmem(line, (size_t)(hend + 2 - line), "\r\n", 2);
		if (eol == NULL)
			fuzz_fail("header without CRLF");
		for (const char *c = line; c < eol; c++)
			if (*c < 0x20 || *c >= 0x7f)
				fuzz_fail("header holds a control or non-ASCII "
				    "byte");
		if (strncmp(line, "Content-Length: ", 16) == 0)
			clen = strtoul(line + 16, NULL, 10);
	}
	body = hend + 4;
	blen = len - (size_t)(body - ans);
	head = strcmp(v[FIELD_METHOD], "HEAD") == 0;
	if (clen == (size_t)-1 || (!head && clen != blen) ||
	    (head && blen != 0))
		fuzz_fail("Content-Length is not the body's");
	if (memchr(body, '\0', blen) != NULL)
		fuzz_fail("NUL in the body");
	/* The route, as route.c finds it. */
	if (*v[FIELD_URI] != '\0')
		snprintf(path, sizeof(path), "%s", v[FIELD_URI]);
	else
		snprintf(path, sizeof(path), "%s%s", v[FIELD_SCRIPT],
		    v[FIELD_PATH]);
	config = strcmp(path, "/ipxe/v1/config") == 0;
	/* The only live token is random: no input can complete an install. */
	if (strcmp(path, "/ipxe/v1/done") == 0 && status == 200)
		fuzz_fail("done accepted a token nobody was given");
	if (config && !head && (status == 200 || status == 400))
		check_script(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char no_field[] = "";
	struct buf req = { 0 }, ans = { 0 };
	char *copy, *v[NFIELDS], *p, *body, drain[65536];
	size_t i, off, bodylen;
	FCGX_Request fr;
	ssize_t n;
	int c;

	if (cfg == NULL)
		init();
	if (size > REQUEST_MAX)
		return 0;
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0, p = copy; i < NFIELDS; i++) {
		if (p < copy + size) {
			v[i] = p;
			p += strlen(p) + 1;
		} else
			v[i] = (char *)no_field;
	}
	body = p < copy + size ? p : NULL;
	bodylen = body != NULL ? (size_t)(copy + size - body) : 0;
	build_request(&req, v, body, bodylen);
	if (buf_failed(&req))
		fuzz_fail("out of memory");

	if ((c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(c, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fuzz_fail("connect");
	for (off = 0; off < req.len; off += (size_t)n)
		if ((n = write(c, req.data + off, req.len - off)) <= 0)
			fuzz_fail("writing the request failed");
	shutdown(c, SHUT_WR);

	if (FCGX_InitRequest(&fr, listen_fd, 0) != 0 ||
	    FCGX_Accept_r(&fr) != 0)
		fuzz_fail("FCGX_Accept_r");
	route_handle(&w, &fr);	/* finishes the request: closes its side */
	read_answer(c, &ans);
	close(c);
	if (buf_failed(&ans))
		fuzz_fail("out of memory");
	check_answer(buf_str(&ans), ans.len, v);

	/* Empty the recorder queue, so it never fills. */
	while (read(queue[0], drain, sizeof(drain)) > 0)
		;
	buf_free(&req);
	buf_free(&ans);
	free(copy);
	return 0;
}
