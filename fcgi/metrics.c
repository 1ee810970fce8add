/*
 * metrics.c - process-wide counters in shared memory, and their Prometheus
 * text exposition
 *
 * The master maps one anonymous shared segment before forking, so every
 * worker (and every later generation of workers) adds to the same fixed
 * arrays with atomic operations.  Nothing here allocates except the output
 * buffer the caller passes in.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bootd.h"

/* Status codes bootd answers with, in exposition order. */
static const int codes[] = {
	200, 400, 403, 404, 405, 413, 415, 429, 500, 503
};
#define NCODES	(sizeof(codes) / sizeof(codes[0]))

/* Histogram bucket upper bounds in microseconds, and as printed. */
static const uint64_t bucket_us[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000
};
static const char *const bucket_le[] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
	"0.25", "0.5", "1"
};
#define NBUCKETS	(sizeof(bucket_us) / sizeof(bucket_us[0]))

/* Recorder batch size histogram: upper bounds, in events. */
static const uint64_t batch_le[] = { 1, 4, 16, 64, 256, 1024, 4096 };
#define NBATCH	(sizeof(batch_le) / sizeof(batch_le[0]))

static const char *const route_names[METRICS_ROUTE__MAX] = {
	[METRICS_ROUTE_CONFIG] = "config",
	[METRICS_ROUTE_DONE] = "done",
	[METRICS_ROUTE_HEALTH] = "health",
	[METRICS_ROUTE_METRICS] = "metrics",
	[METRICS_ROUTE_OTHER] = "other",
};

static const char *const action_names[METRICS_ACTION__MAX] = {
	[METRICS_ACTION_INSTALL] = "install",
	[METRICS_ACTION_LOCAL] = "local",
	[METRICS_ACTION_UNKNOWN] = "unknown",
	[METRICS_ACTION_FAILSAFE] = "failsafe",
};

struct metrics {
	uint64_t	requests[METRICS_ROUTE__MAX][NCODES];
	uint64_t	scripts[METRICS_ACTION__MAX];
	uint64_t	bucket[NBUCKETS + 1];	/* not cumulative; last: +Inf */
	uint64_t	duration_us;		/* sum of durations */
	uint64_t	counter[METRICS_COUNTER__MAX];
	uint64_t	batch[NBATCH + 1];	/* not cumulative; last: +Inf */
	uint64_t	batch_events;		/* sum of batch sizes */
	uint64_t	held[METRICS_RECORDER_SLOTS]; /* in a recorder's batch */
	int64_t		workers;
};

/* Before metrics_init() (e.g. bootd -t) counts go to a private copy. */
static struct metrics	 local;
static struct metrics	*m = &local;

int
metrics_init(void)
{
	void *p;

	p = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memset(p, 0, sizeof(*m));
	m = p;
	return 0;
}

static void
add(uint64_t *p, uint64_t n)
{
	__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t
get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void
metrics_request(enum metrics_route route, int status, uint64_t usec)
{
	size_t i;

	if ((unsigned)route >= METRICS_ROUTE__MAX)
		route = METRICS_ROUTE_OTHER;
	for (i = 0; i < NCODES; i++)
		if (codes[i] == status) {
			add(&m->requests[route][i], 1);
			break;
		}
	for (i = 0; i < NBUCKETS; i++)
		if (usec <= bucket_us[i])
			break;
	add(&m->bucket[i], 1);
	add(&m->duration_us, usec);
}

void
metrics_script(enum metrics_action action)
{
	if ((unsigned)action < METRICS_ACTION__MAX)
		add(&m->scripts[action], 1);
}

void
metrics_inc(enum metrics_counter counter)
{
	if ((unsigned)counter < METRICS_COUNTER__MAX)
		add(&m->counter[counter], 1);
}

void
metrics_add(enum metrics_counter counter, uint64_t n)
{
	if ((unsigned)counter < METRICS_COUNTER__MAX)
		add(&m->counter[counter], n);
}

void
metrics_recorder_held(int slot, uint64_t n)
{
	if (slot >= 0 && slot < METRICS_RECORDER_SLOTS)
		__atomic_store_n(&m->held[slot], n, __ATOMIC_RELAXED);
}

void
metrics_recorder_batch(int slot, uint64_t n, int recorded)
{
	size_t i;

	for (i = 0; i < NBATCH; i++)
		if (n <= batch_le[i])
			break;
	add(&m->batch[i], 1);
	add(&m->batch_events, n);
	add(&m->counter[recorded ? METRICS_EVENTS_RECORDED :
	    METRICS_EVENTS_DROPPED], n);
	if (!recorded)
		add(&m->counter[METRICS_EVENTS_LOST], n);
}

uint64_t
metrics_recorder_died(int slot)
{
	uint64_t n;

	if (slot < 0 || slot >= METRICS_RECORDER_SLOTS)
		return 0;
	n = __atomic_exchange_n(&m->held[slot], 0, __ATOMIC_RELAXED);

	add(&m->counter[METRICS_EVENTS_DROPPED], n);
	add(&m->counter[METRICS_EVENTS_LOST], n);
	return n;
}

void
metrics_set_workers(int n)
{
	__atomic_store_n(&m->workers, (int64_t)n, __ATOMIC_RELAXED);
}

static void
header(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric with a single, unlabelled value: its header and its line. */
static void
single(struct buf *out, const char *name, const char *type, const char *help,
    intmax_t v)
{
	header(out, name, type, help);
	buf_printf(out, "%s %jd\n", name, v);
}

void
metrics_write(struct buf *out, const struct inv_counts *c,
    const struct events_counts *ec)
{
	uint64_t cum, count, handed, done, held;
	size_t r, i;

	header(out, "bootd_requests_total", "counter",
	    "Requests answered, by route and HTTP status.");
	for (r = 0; r < METRICS_ROUTE__MAX; r++)
		for (i = 0; i < NCODES; i++)
			buf_printf(out, "bootd_requests_total{route=\"%s\","
			    "code=\"%d\"} %ju\n", route_names[r], codes[i],
			    (uintmax_t)get(&m->requests[r][i]));

	header(out, "bootd_scripts_total", "counter",
	    "Boot scripts served, by what they boot.");
	for (i = 0; i < METRICS_ACTION__MAX; i++)
		buf_printf(out, "bootd_scripts_total{action=\"%s\"} %ju\n",
		    action_names[i], (uintmax_t)get(&m->scripts[i]));

	header(out, "bootd_request_duration_seconds", "histogram",
	    "Time from reading a request to having written its answer.");
	cum = 0;
	for (i = 0; i < NBUCKETS; i++) {
		cum += get(&m->bucket[i]);
		buf_printf(out, "bootd_request_duration_seconds_bucket"
		    "{le=\"%s\"} %ju\n", bucket_le[i], (uintmax_t)cum);
	}
	count = cum + get(&m->bucket[NBUCKETS]);
	buf_printf(out, "bootd_request_duration_seconds_bucket{le=\"+Inf\"} "
	    "%ju\n", (uintmax_t)count);
	buf_printf(out, "bootd_request_duration_seconds_sum %.6f\n",
	    (double)get(&m->duration_us) / 1e6);
	buf_printf(out, "bootd_request_duration_seconds_count %ju\n",
	    (uintmax_t)count);

	single(out, "bootd_worker_restarts_total", "counter",
	    "Workers that died unexpectedly and were replaced.",
	    (intmax_t)get(&m->counter[METRICS_WORKER_RESTARTS]));
	single(out, "bootd_recorder_restarts_total", "counter",
	    "Recorder processes that died unexpectedly and were replaced.",
	    (intmax_t)get(&m->counter[METRICS_RECORDER_RESTARTS]));
	single(out, "bootd_events_recorded_total", "counter",
	    "Boot events written to the database by the recorder.",
	    (intmax_t)get(&m->counter[METRICS_EVENTS_RECORDED]));
	single(out, "bootd_events_dropped_total", "counter",
	    "Boot events not recorded: queue full, database busy or failing, "
	    "recorder killed.",
	    (intmax_t)get(&m->counter[METRICS_EVENTS_DROPPED]));
	single(out, "bootd_events_evicted_total", "counter",
	    "Stored boot events and discovered MACs removed, oldest first, "
	    "to stay under daemon.events_max and daemon.discovered_max.",
	    (intmax_t)get(&m->counter[METRICS_EVENTS_EVICTED]));
	single(out, "bootd_fetch_notes_total", "counter",
	    "Install script fetches the recorder noted on their hosts' "
	    "tokens (the address written, or found noted already), and "
	    "those whose token was gone by then (done, set-local).",
	    (intmax_t)get(&m->counter[METRICS_FETCH_NOTES]));
	single(out, "bootd_events_malformed_total", "counter",
	    "Datagrams the recorder refused as not a well-formed boot event.",
	    (intmax_t)get(&m->counter[METRICS_EVENTS_MALFORMED]));
	/* Handed over, not yet written or dropped: socket plus batch. */
	handed = get(&m->counter[METRICS_EVENTS_HANDED]);
	done = get(&m->counter[METRICS_EVENTS_RECORDED]) +
	    get(&m->counter[METRICS_EVENTS_LOST]);
	single(out, "bootd_events_queued", "gauge",
	    "Boot events handed to the recorder and not yet recorded or "
	    "dropped.", handed > done ? (intmax_t)(handed - done) : 0);
	for (held = 0, i = 0; i < METRICS_RECORDER_SLOTS; i++)
		held += get(&m->held[i]);
	single(out, "bootd_events_held", "gauge",
	    "Of those, boot events the recorder has read from the pipe, into "
	    "its batch or its memory: what a recorder killed now would lose.",
	    (intmax_t)held);
	header(out, "bootd_recorder_batch_size", "histogram",
	    "Boot events per recorder transaction.");
	cum = 0;
	for (i = 0; i < NBATCH; i++) {
		cum += get(&m->batch[i]);
		buf_printf(out, "bootd_recorder_batch_size_bucket{le=\"%ju\"} "
		    "%ju\n", (uintmax_t)batch_le[i], (uintmax_t)cum);
	}
	count = cum + get(&m->batch[NBATCH]);
	buf_printf(out, "bootd_recorder_batch_size_bucket{le=\"+Inf\"} %ju\n",
	    (uintmax_t)count);
	buf_printf(out, "bootd_recorder_batch_size_sum %ju\n",
	    (uintmax_t)get(&m->batch_events));
	buf_printf(out, "bootd_recorder_batch_size_count %ju\n",
	    (uintmax_t)count);
	single(out, "bootd_errors_total", "counter",
	    "Inventory, rendering and system errors while answering.",
	    (intmax_t)get(&m->counter[METRICS_ERRORS]));
	single(out, "bootd_done_address_mismatch_total", "counter",
	    "Install reports (done) from another address than the one that "
	    "fetched the install script, or for a script never fetched.",
	    (intmax_t)get(&m->counter[METRICS_DONE_ADDRESS_MISMATCH]));
	single(out, "bootd_done_rate_limited_total", "counter",
	    "Install reports (done) refused with 429: too many failed ones "
	    "from the address.",
	    (intmax_t)get(&m->counter[METRICS_DONE_RATE_LIMITED]));
	single(out, "bootd_fastcgi_connections_total", "counter",
	    "FastCGI connections accepted; fewer than the requests when the "
	    "web server keeps them open (fastcgi_keep_conn).",
	    (intmax_t)get(&m->counter[METRICS_CONNECTIONS]));
	single(out, "bootd_peers_refused_total", "counter",
	    "FastCGI connections closed unanswered: the peer process may not "
	    "connect (daemon.peer_users, daemon.peer_groups).",
	    (intmax_t)get(&m->counter[METRICS_PEERS_REFUSED]));

	if (c != NULL) {
		single(out, "bootd_inventory_hosts", "gauge",
		    "Hosts in the inventory.", (intmax_t)c->hosts);
		single(out, "bootd_inventory_nics", "gauge",
		    "Network interfaces in the inventory.", (intmax_t)c->nics);
		single(out, "bootd_inventory_distributions", "gauge",
		    "Distributions in the inventory.", (intmax_t)c->dists);
		single(out, "bootd_inventory_installing", "gauge",
		    "Hosts marked for reinstall.", (intmax_t)c->installing);
	}
	if (ec != NULL) {
		single(out, "bootd_inventory_discovered", "gauge",
		    "Unknown MACs seen booting (events database).",
		    (intmax_t)ec->discovered);
		single(out, "bootd_events_stored", "gauge",
		    "Boot events in the events database.",
		    (intmax_t)ec->events);
	}

	single(out, "bootd_workers", "gauge", "Worker processes running.",
	    (intmax_t)__atomic_load_n(&m->workers, __ATOMIC_RELAXED));
}
