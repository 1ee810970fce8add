/*
 * fcgi_hello - the smallest libfcgi program: the framework's limit.
 *
 *     fcgi_hello SOCKET PROCS BODYFILE
 *
 * Listens on the unix socket SOCKET, forks PROCS processes that each accept
 * FastCGI requests one at a time (as bootd's workers do) and answer every
 * request with the bytes of BODYFILE, with the headers bootd sends.  No
 * parsing, no lookup: what is left is nginx, FastCGI and libfcgi.  The
 * benchmark (bench/run) gives it a boot script of bootd's size.  Killing the
 * parent (SIGTERM) ends the children (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "fcgi_hello: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void
serve(int fd, const char *body, size_t len)
{
	FCGX_Request req;
	char head[128];
	int hlen;

	FCGX_InitRequest(&req, fd, 0);
	while (FCGX_Accept_r(&req) >= 0) {
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
	size_t len;
	char *body;
	int fd, procs, i;

	if (argc != 4 || (procs = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: fcgi_hello SOCKET PROCS BODYFILE\n");
		return 2;
	}
	body = slurp(argv[3], &len);
	FCGX_Init();
	unlink(argv[1]);
	if ((fd = FCGX_OpenSocket(argv[1], 1024)) < 0) {
		fprintf(stderr, "fcgi_hello: cannot listen on %s\n", argv[1]);
		return 1;
	}
	chmod(argv[1], 0666);
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fcgi_hello: fork");
			return 1;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			serve(fd, body, len);
		}
	}
	signal(SIGTERM, SIG_DFL);	/* libfcgi catches it; end here */
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
