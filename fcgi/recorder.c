/*
 * recorder.c - the recorder: one process that writes boot events in batches
 *
 * Why.  Recording a boot used to be a write transaction in the worker that
 * answered it, after the answer.  Every worker then queued on SQLite's one
 * write lock: measured, 7.5k requests/s against 26k with recording switched
 * off, and 4 workers no faster than 2.  Now a worker only hands each event
 * over, without ever waiting, and one process, the recorder, writes them
 * many to a transaction.  The answer never shares a transaction with, nor
 * waits for, the record of the boot.
 *
 * The hand-over.  The master makes one AF_UNIX SOCK_DGRAM socketpair before
 * it forks anything (recorder_socket()) and keeps both ends for its whole
 * life: workers inherit the sending end, the recorder the receiving end.
 * Each event is one datagram; a worker sends it with MSG_DONTWAIT, and when
 * the socket is full (EAGAIN, ENOBUFS) the event is counted in
 * bootd_events_dropped_total and the worker goes on.  Chosen over a pipe
 * after measuring both (2 writers, 200-byte events, this 2-core machine):
 * a pipe moves about 1.1M events/s, datagrams about 0.6M/s, both some 20
 * times what the workers can answer, so speed does not decide; datagrams
 * do because each event arrives whole or not at all, on its own: a short
 * or malformed one is refused alone and cannot desynchronise the ones
 * after it, as a bad length in a byte stream would.  Because the master
 * holds the receiving end, the socket and what is queued in it survive
 * the recorder: a recorder that dies loses only the batch in its hands,
 * and its replacement reads on where it stopped.
 *
 * The queue.  The socket buffer is the queue, bounded by the sending end's
 * SO_SNDBUF (on a socketpair every queued datagram is charged to the
 * sender; SO_RCVBUF and net.unix.max_dgram_qlen play no part, measured).
 * Each queued event costs its sk_buff, about 1.3 KB of buffer however
 * short the event.  bootd asks for RECORDER_SNDBUF (4 MiB, doubled by the
 * kernel): about 6500 events, a quarter of a second at the rate the issue
 * measured without recording.  Started as root it forces that size
 * (SO_SNDBUFFORCE); otherwise the kernel caps it at net.core.wmem_max
 * (208 KiB by default: about 330 events).  bootd logs what it got.
 *
 * The batches.  The recorder writes a batch when it holds
 * daemon.event_batch_max events or its oldest event is
 * daemon.event_batch_ms old, whichever comes first, through the one call
 * of inv_record_boots() in flush().  Idle, it sleeps until an event
 * arrives; then it sleeps again until that batch is due and takes what
 * gathered in the socket meanwhile: one wake-up per batch, not one per
 * boot.  Waking for every datagram spent a quarter of the recorder's time
 * switching context (perf) and cost bootd about 15% of its requests/s
 * under wrk on 2 cores (8.7k against 10.7k, a noisy shared machine).
 * A batch the database refuses, or that waits longer than
 * daemon.event_wait_ms on a busy database, is dropped and counted; so
 * are the events a killed recorder held (metrics_recorder_died()).
 * Nothing is lost without being counted.  Retention pruning
 * (daemon.event_retention_days) is done here too: the recorder is the
 * only writer of boot events.
 *
 * At most lost.  SIGKILL of the recorder: the batch in hand, at most
 * event_batch_max events or event_batch_ms of boots, counted as dropped.
 * SIGKILL or crash of all of bootd, or a power loss: that batch plus what
 * is in the socket (at most the socket's capacity, logged at start), plus
 * whatever the database's synchronous=NORMAL may lose on a power cut.
 *
 * Signals.  The recorder blocks SIGTERM and SIGINT except while it waits
 * in ppoll(2), so a signal never cuts a transaction short.  On SIGTERM it
 * reads the socket until it is empty, writes every batch, and exits 0:
 * the master sends it only after the workers have exited (shutdown), so
 * nothing handed over is left behind.  On a reload the master starts a
 * new recorder with the new configuration and then stops the old one;
 * both read the same socket meanwhile, so nothing is lost in between.
 *
 * The wire format: struct wire, then the fields present, without NULs, in
 * the order of enum field.  The recorder trusts nothing in a datagram: a
 * worker is less trusted than nothing.  Lengths are checked against the
 * datagram's and each field's maximum, text must be printable ASCII, the
 * MAC must parse and "served" must be one of four words; anything else is
 * counted in bootd_events_malformed_total and skipped.
 */
#define _GNU_SOURCE		/* ppoll() */

#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootd.h"
#include "mac.h"

#define RECORDER_SNDBUF	(4 << 20)	/* asked for; the kernel doubles it */
#define EVENT_TRUESIZE	1280		/* buffer a queued event costs, measured */
#define WIRE_MAGIC	0x62657631u	/* "bev1" */
#define DGRAM_MAX	8192		/* larger than any valid event */
#define PRUNE_INTERVAL	3600		/* seconds between retention runs */
#define PRUNE_BATCH	10000L		/* rows deleted per run, at most */

enum field {
	FIELD_MAC,
	FIELD_FQDN,
	FIELD_SERVED,
	FIELD_PARAMS,
	FIELD_ADDR,
	FIELD__MAX
};

/* Longest accepted value of each field, in bytes. */
static const size_t field_max[FIELD__MAX] = {
	[FIELD_MAC] = MAC_STRLEN,
	[FIELD_FQDN] = 255,
	[FIELD_SERVED] = 16,
	[FIELD_PARAMS] = 4096,
	[FIELD_ADDR] = 64,
};

/* Where the text of one event lives: every field and its NUL. */
#define TEXT_MAX	(MAC_STRLEN + 255 + 16 + 4096 + 64 + FIELD__MAX)

/* The head of a datagram, in host byte order (it never leaves the host). */
struct wire {
	uint32_t	magic;		/* WIRE_MAGIC */
	uint16_t	present;	/* bit (1 << field): field sent */
	uint16_t	len[FIELD__MAX]; /* its length; 0 when absent */
	int64_t		time;		/* unix time of the boot */
};

static const char *const served_words[] = {
	"install", "local", "unknown", "failsafe"
};

/* The recorder's state: one per process. */
struct recorder {
	const struct cfg *cfg;
	int		 fd;		/* receiving end of the socket */
	int		 slot;		/* names its counters in metrics.c */
	struct inv	*inv;		/* read-write; NULL until opened */
	char		 dberr[512];	/* last open failure, logged once */
	struct inv_event *evs;		/* the batch: event_batch_max slots */
	char		(*text)[TEXT_MAX]; /* their strings */
	size_t		 n;		/* events in the batch */
	struct timespec	 first;		/* when the oldest one came */
	time_t		 pruned;	/* last retention run */
	uint64_t	 dropping;	/* events dropped since the last batch
					 * written; 0 while all is well */
	unsigned char	 dgram[DGRAM_MAX + 1];
};

static volatile sig_atomic_t	stop_requested;
static int			queue_full;	/* sender: last send failed */

static void
on_stop(int sig)
{
	stop_requested = 1;
}

int
recorder_socket(int sv[2])
{
	int size = RECORDER_SNDBUF, got = 0;
	socklen_t sl = sizeof(got);

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	/* Above net.core.wmem_max only as root; else take what we get. */
	if (setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &size,
	    sizeof(size)) == -1)
		(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size,
		    sizeof(size));
	getsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &got, &sl);
	blog_info("boot event queue: %d bytes of socket buffer, about %d "
	    "events", got, got / EVENT_TRUESIZE);
	return 0;
}

/* Append field f of value s (NULL: absent) to the datagram being built. */
static int
put(unsigned char *buf, size_t *off, struct wire *h, enum field f,
    const char *s)
{
	size_t len;

	if (s == NULL)
		return 0;
	if ((len = strlen(s)) > field_max[f])
		return -1;
	memcpy(buf + *off, s, len);
	*off += len;
	h->len[f] = (uint16_t)len;
	h->present |= (uint16_t)(1u << f);
	return 0;
}

int
recorder_send(int fd, const struct inv_event *ev)
{
	unsigned char buf[sizeof(struct wire) + TEXT_MAX];
	struct wire h;
	size_t off = sizeof(h);

	memset(&h, 0, sizeof(h));
	h.magic = WIRE_MAGIC;
	h.time = ev->time;
	if (put(buf, &off, &h, FIELD_MAC, ev->mac) == -1 ||
	    put(buf, &off, &h, FIELD_FQDN, ev->fqdn) == -1 ||
	    put(buf, &off, &h, FIELD_SERVED, ev->served) == -1 ||
	    put(buf, &off, &h, FIELD_PARAMS, ev->params) == -1 ||
	    put(buf, &off, &h, FIELD_ADDR, ev->addr) == -1) {
		blog_err("boot event of %s dropped: a field is too long",
		    ev->mac);
		metrics_inc(METRICS_EVENTS_DROPPED);
		return -1;
	}
	memcpy(buf, &h, sizeof(h));
	if (send(fd, buf, off, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)off) {
		metrics_inc(METRICS_EVENTS_HANDED);
		if (queue_full)
			blog_notice("recorder queue accepts events again");
		queue_full = 0;
		return 0;
	}
	metrics_inc(METRICS_EVENTS_DROPPED);
	/* Say it once per episode, not once per boot of a storm. */
	if (!queue_full) {
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS)
			blog_warn("recorder queue full; dropping boot events "
			    "(counted in bootd_events_dropped_total)");
		else
			blog_err("send(recorder socket): %s", strerror(errno));
	}
	queue_full = 1;
	return -1;
}

/* Is s[0..len-1] printable ASCII (space too when space is set)? */
static int
printable(const char *s, size_t len, int space)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < (space ? 0x20 : 0x21) || s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * Check the datagram p of len bytes and decode it into ev, its strings
 * into text.  Returns NULL, or why it is refused.
 */
static const char *
decode(const unsigned char *p, size_t len, struct inv_event *ev, char *text)
{
	const char *fields[FIELD__MAX] = { NULL };
	char canon[MAC_STRLEN + 1];
	struct wire h;
	size_t off = sizeof(h), i, total = sizeof(h);

	if (len < sizeof(h))
		return "shorter than its head";
	memcpy(&h, p, sizeof(h));
	if (h.magic != WIRE_MAGIC)
		return "bad magic";
	if (h.present >= 1u << FIELD__MAX)
		return "unknown fields";
	for (i = 0; i < FIELD__MAX; i++) {
		if (!(h.present & (1u << i)) && h.len[i] != 0)
			return "length of an absent field";
		if (h.len[i] > field_max[i])
			return "field too long";
		total += h.len[i];
	}
	if (total != len)
		return "length does not match";
	if (h.time <= 0)
		return "bad time";
	for (i = 0; i < FIELD__MAX; i++) {
		if (!(h.present & (1u << i)))
			continue;
		if (!printable((const char *)p + off, h.len[i],
		    i == FIELD_FQDN || i == FIELD_PARAMS))
			return "not printable";
		memcpy(text, p + off, h.len[i]);
		text[h.len[i]] = '\0';
		fields[i] = text;
		text += h.len[i] + 1;
		off += h.len[i];
	}
	if (fields[FIELD_MAC] == NULL ||
	    mac_canon(fields[FIELD_MAC], canon, NULL) != BOOTD_OK ||
	    strcmp(canon, fields[FIELD_MAC]) != 0)
		return "bad MAC";
	if (fields[FIELD_SERVED] == NULL)
		return "no served";
	for (i = 0; i < sizeof(served_words) / sizeof(served_words[0]); i++)
		if (strcmp(fields[FIELD_SERVED], served_words[i]) == 0)
			break;
	if (i == sizeof(served_words) / sizeof(served_words[0]))
		return "bad served";
	ev->mac = fields[FIELD_MAC];
	ev->fqdn = fields[FIELD_FQDN];
	ev->served = fields[FIELD_SERVED];
	ev->params = fields[FIELD_PARAMS];
	ev->addr = fields[FIELD_ADDR];
	ev->time = h.time;
	return NULL;
}

/* The read-write handle, opened or reopened as needed; NULL on failure. */
static struct inv *
db(struct recorder *r)
{
	struct bootd_error e;
	char prev[sizeof(r->dberr)];

	if (r->inv != NULL && inv_stale(r->inv)) {
		blog_notice("database %s was replaced or removed; reopening",
		    r->cfg->database);
		inv_close(r->inv);
		r->inv = NULL;
	}
	if (r->inv != NULL)
		return r->inv;
	if (inv_open(r->cfg->database, INV_RDWR, &r->inv, &e) != BOOTD_OK) {
		r->inv = NULL;
		memcpy(prev, r->dberr, sizeof(prev));
		snprintf(r->dberr, sizeof(r->dberr), "%s", e.text);
		if (strcmp(prev, r->dberr) != 0)
			blog_err("recorder: inv_open(%s): %s",
			    r->cfg->database, e.text);
		return NULL;
	}
	if (r->dberr[0] != '\0')
		blog_notice("recorder: database %s is available again",
		    r->cfg->database);
	r->dberr[0] = '\0';
	inv_set_busy_timeout(r->inv, r->cfg->daemon.event_wait_ms);
	inv_set_actor(r->inv, "bootd");
	return r->inv;
}

/*
 * Write the batch in one transaction, or drop and count it.  The one place
 * boot events reach the database.
 */
static void
flush(struct recorder *r)
{
	struct bootd_error e;
	struct inv *inv;
	enum bootd_err rc = BOOTD_EDB;
	size_t n = r->n;

	if (n == 0)
		return;
	if ((inv = db(r)) != NULL)
		rc = inv_record_boots(inv, r->evs, n, &e);
	metrics_recorder_batch(r->slot, n, rc == BOOTD_OK);
	r->n = 0;
	if (rc == BOOTD_OK) {
		if (r->dropping > 0)
			blog_notice("recorder: boot events are written again; "
			    "%ju were dropped meanwhile",
			    (uintmax_t)r->dropping);
		r->dropping = 0;
		return;
	}
	if (rc == BOOTD_EDB && inv != NULL) {
		inv_close(r->inv);	/* reopen for the next batch */
		r->inv = NULL;
	}
	/* Say why once per episode, not once per batch. */
	if (r->dropping == 0) {
		if (inv == NULL)
			blog_warn("boot events dropped: database unavailable");
		else if (rc == BOOTD_EBUSY)
			blog_warn("boot events dropped: database busy for %d "
			    "ms", r->cfg->daemon.event_wait_ms);
		else
			blog_err("inv_record_boots: %s; boot events dropped",
			    e.text);
	}
	r->dropping += n;
}

/* Retention: at most once an hour, a bounded batch of old events. */
static void
prune(struct recorder *r)
{
	struct bootd_error e;
	struct inv *inv;
	int64_t deleted;
	time_t now = time(NULL);
	int days = r->cfg->daemon.event_retention_days;

	if (days == 0 || now - r->pruned < PRUNE_INTERVAL)
		return;
	r->pruned = now;
	if ((inv = db(r)) == NULL)
		return;
	if (inv_prune_events(inv, (int64_t)now - (int64_t)days * 86400,
	    PRUNE_BATCH, &deleted, &e) != BOOTD_OK)
		blog_warn("pruning old boot events: %s", e.text);
	else if (deleted > 0)
		blog_info("deleted %jd boot events and discovered MACs older "
		    "than %d days", (intmax_t)deleted, days);
}

/*
 * Take every datagram waiting in the socket into the batch, writing the
 * batch whenever it is full.  Returns when the socket is empty, or as
 * soon as the batch is full when flush_full is 0.
 */
static void
take(struct recorder *r, int flush_full)
{
	const char *why;
	ssize_t len;

	for (;;) {
		if (r->n == (size_t)r->cfg->daemon.event_batch_max) {
			if (!flush_full)
				return;
			flush(r);
		}
		len = recv(r->fd, r->dgram, sizeof(r->dgram),
		    MSG_DONTWAIT | MSG_TRUNC);
		if (len < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				blog_err("recv(recorder socket): %s",
				    strerror(errno));
			return;
		}
		why = (size_t)len > DGRAM_MAX ? "too long" :
		    decode(r->dgram, (size_t)len, &r->evs[r->n],
		    r->text[r->n]);
		if (why != NULL) {
			metrics_inc(METRICS_EVENTS_MALFORMED);
			blog_warn("recorder: refused a datagram of %zd bytes: "
			    "%s", len, why);
			continue;
		}
		if (r->n++ == 0)
			clock_gettime(CLOCK_MONOTONIC, &r->first);
		metrics_recorder_held(r->slot, 1);
	}
}

/*
 * How long an idle recorder may sleep: until the next retention run, at
 * least a second; NULL (for ever) without retention.  Fills ts.
 */
static struct timespec *
sleep_until_prune(const struct recorder *r, struct timespec *ts)
{
	time_t left;

	if (r->cfg->daemon.event_retention_days == 0)
		return NULL;
	left = r->pruned + PRUNE_INTERVAL - time(NULL);
	ts->tv_sec = left < 1 ? 1 : left;
	ts->tv_nsec = 0;
	return ts;
}

/* Milliseconds until the batch is due (0: now), or -1 when empty. */
static int
due_ms(const struct recorder *r)
{
	struct timespec now;
	int64_t ms;

	if (r->n == 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(now.tv_sec - r->first.tv_sec) * 1000 +
	    (now.tv_nsec - r->first.tv_nsec) / 1000000;
	ms = r->cfg->daemon.event_batch_ms - ms;
	return ms < 0 ? 0 : (int)ms;
}

int
recorder_run(const struct cfg *cfg, int fd, int slot)
{
	static struct recorder r;	/* zeroed; one per process */
	struct sigaction sa;
	sigset_t block, waitmask;
	struct timespec ts;
	struct pollfd pfd;
	int ms;

	r.cfg = cfg;
	r.fd = fd;
	r.slot = slot;
	prctl(PR_SET_NAME, "bootd-recorder");
	prctl(PR_SET_PDEATHSIG, SIGTERM);

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;	/* reloads are the master's business */
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	r.evs = calloc((size_t)cfg->daemon.event_batch_max, sizeof(*r.evs));
	r.text = calloc((size_t)cfg->daemon.event_batch_max, sizeof(*r.text));
	if (r.evs == NULL || r.text == NULL) {
		blog_err("recorder: out of memory for a batch of %d events",
		    cfg->daemon.event_batch_max);
		free(r.evs);
		free(r.text);
		return 1;
	}
	blog_debug("recorder started: batches of up to %d events or %d ms",
	    cfg->daemon.event_batch_max, cfg->daemon.event_batch_ms);
	db(&r);				/* open early; failures are retried */

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!stop_requested) {
		prune(&r);
		if (r.n == 0) {
			/* Idle: wait for an event, or the next retention run. */
			if (ppoll(&pfd, 1, sleep_until_prune(&r, &ts),
			    &waitmask) > 0)
				take(&r, 0);
			continue;
		}
		if (r.n < (size_t)cfg->daemon.event_batch_max &&
		    (ms = due_ms(&r)) > 0) {
			/*
			 * Let the batch fill in the socket and sleep until it
			 * is due, rather than wake for every event: under
			 * load that is one wake-up per batch, not per boot.
			 */
			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (long)(ms % 1000) * 1000000;
			ppoll(NULL, 0, &ts, &waitmask);
			continue;
		}
		take(&r, 0);		/* top the batch up from the socket */
		flush(&r);
	}
	/* Stopping: everything still in the socket, then the last batch. */
	take(&r, 1);
	flush(&r);
	inv_close(r.inv);
	free(r.evs);
	free(r.text);
	blog_debug("recorder exiting");
	return 0;
}
