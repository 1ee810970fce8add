/*
 * fcgi_naive - the naive boot-script server: libfcgi and one SELECT.
 *
 *     fcgi_naive SOCKET PROCS DATABASE TEMPLATES SQL
 *
 * What a site would write in an afternoon, as a yardstick for bootd's read
 * path: PROCS processes (forked after listening on the unix socket SOCKET)
 * each open DATABASE read-only, prepare SQL once and, per request, take
 * mac= from the query, bring it to aa:bb:cc:dd:ee:ff, run the prepared
 * statement and fill one of three script templates.  It records nothing,
 * validates nothing beyond the MAC, and is not a boot server.
 *
 * SQL (given by bench/run, the one place the benchmark knows the schema)
 * takes :mac and :now (unix seconds) and returns fqdn, action and the live
 * token.  TEMPLATES is a directory with local.ipxe, install.ipxe
 * and unknown.ipxe, made by bench/run from `bootctl render`, in which
 * @FQDN@, @MAC@ and @TOKEN@ are replaced: the bytes are bootd's bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { T_LOCAL, T_INSTALL, T_UNKNOWN, T_COUNT };

static const char *tmpl_name[T_COUNT] = {
	"local.ipxe", "install.ipxe", "unknown.ipxe"
};
static char *tmpl[T_COUNT];

static char *
slurp(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	char *buf = NULL;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "fcgi_naive: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * The value of mac= in the query string, percent-decoded, as
 * aa:bb:cc:dd:ee:ff in out.  Separators ':', '-', '.' are skipped, so every
 * spelling bootd takes is taken (and a few it refuses).  0 or -1.
 */
static int
query_mac(const char *qs, char out[18])
{
	char hex[12];
	size_t n = 0;
	const char *p = qs;

	while (p != NULL && strncmp(p, "mac=", 4) != 0) {
		p = strchr(p, '&');
		if (p != NULL)
			p++;
	}
	if (p == NULL)
		return -1;
	for (p += 4; *p != '\0' && *p != '&'; p++) {
		int c = (unsigned char)*p;

		if (c == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			c = hexval(p[1]) * 16 + hexval(p[2]);
			p += 2;
		}
		if (c == ':' || c == '-' || c == '.')
			continue;
		if (hexval(c) < 0 || n == sizeof(hex))
			return -1;
		hex[n++] = (char)tolower(c);
	}
	if (n != sizeof(hex))
		return -1;
	snprintf(out, 18, "%.2s:%.2s:%.2s:%.2s:%.2s:%.2s", hex, hex + 2,
	    hex + 4, hex + 6, hex + 8, hex + 10);
	return 0;
}

/* Copy template t to the buffer, replacing @FQDN@, @MAC@ and @TOKEN@. */
static size_t
fill(char *out, size_t cap, const char *t, const char *fqdn, const char *mac,
    const char *token)
{
	size_t n = 0;

	while (*t != '\0' && n + 1 < cap) {
		const char *v = NULL;
		size_t skip = 0;

		if (*t == '@') {
			if (strncmp(t, "@FQDN@", 6) == 0)
				v = fqdn, skip = 6;
			else if (strncmp(t, "@MAC@", 5) == 0)
				v = mac, skip = 5;
			else if (strncmp(t, "@TOKEN@", 7) == 0)
				v = token, skip = 7;
		}
		if (v == NULL) {
			out[n++] = *t++;
			continue;
		}
		while (*v != '\0' && n + 1 < cap)
			out[n++] = *v++;
		t += skip;
	}
	out[n] = '\0';
	return n;
}

static void
serve(int fd, const char *db, const char *sql)
{
	static char body[65536];
	FCGX_Request req;
	sqlite3 *con;
	sqlite3_stmt *st;
	int pmac, pnow, hlen;
	char head[128];

	if (sqlite3_open_v2(db, &con, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(con, 5000) != SQLITE_OK ||
	    sqlite3_prepare_v3(con, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	    NULL) != SQLITE_OK) {
		fprintf(stderr, "fcgi_naive: %s: %s\n", db, sqlite3_errmsg(con));
		_exit(1);
	}
	pmac = sqlite3_bind_parameter_index(st, ":mac");
	pnow = sqlite3_bind_parameter_index(st, ":now");
	FCGX_InitRequest(&req, fd, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		const char *qs = FCGX_GetParam("QUERY_STRING", req.envp);
		char mac[18];
		size_t len;

		if (qs == NULL || query_mac(qs, mac) != 0) {
			FCGX_FPrintF(req.out, "Status: 400 Bad Request\r\n"
			    "Content-Type: text/plain\r\n\r\nbad mac\n");
			FCGX_Finish_r(&req);
			continue;
		}
		sqlite3_bind_text(st, pmac, mac, 17, SQLITE_STATIC);
		sqlite3_bind_int64(st, pnow, (sqlite3_int64)time(NULL));
		if (sqlite3_step(st) == SQLITE_ROW) {
			const char *fqdn = (const char *)sqlite3_column_text(st, 0);
			const char *action = (const char *)sqlite3_column_text(st, 1);
			const char *token = (const char *)sqlite3_column_text(st, 2);
			int install = action != NULL && token != NULL &&
			    strcmp(action, "install") == 0;

			len = fill(body, sizeof(body),
			    tmpl[install ? T_INSTALL : T_LOCAL], fqdn ? fqdn : "",
			    mac, token ? token : "");
		} else {
			len = fill(body, sizeof(body), tmpl[T_UNKNOWN], "", mac, "");
		}
		sqlite3_reset(st);
		/* libfcgi's own printf knows no %zu: format here. */
		hlen = snprintf(head, sizeof(head), "Status: 200 OK\r\n"
		    "Content-Type: text/plain\r\nCache-Control: no-store\r\n"
		    "Content-Length: %zu\r\n\r\n", len);
		FCGX_PutStr(head, hlen, req.out);
		FCGX_PutStr(body, (int)len, req.out);
		FCGX_Finish_r(&req);
	}
	_exit(0);
}

int
main(int argc, char **argv)
{
	int fd, procs, i;

	if (argc != 6 || (procs = atoi(argv[2])) < 1) {
		fprintf(stderr,
		    "usage: fcgi_naive SOCKET PROCS DATABASE TEMPLATES SQL\n");
		return 2;
	}
	for (i = 0; i < T_COUNT; i++)
		tmpl[i] = slurp(argv[4], tmpl_name[i]);
	FCGX_Init();
	unlink(argv[1]);
	if ((fd = FCGX_OpenSocket(argv[1], 1024)) < 0) {
		fprintf(stderr, "fcgi_naive: cannot listen on %s\n", argv[1]);
		return 1;
	}
	chmod(argv[1], 0666);
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fcgi_naive: fork");
			return 1;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			serve(fd, argv[3], argv[5]);
		}
	}
	signal(SIGTERM, SIG_DFL);	/* libfcgi catches it; end here */
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
