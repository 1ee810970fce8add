/*
 * ratelimit.c - per client address token buckets in shared memory, for
 * the failed install reports (done) of each address
 *
 * The master maps one fixed table before forking, like the metrics, so
 * every worker of every generation sees the same buckets.  An address is
 * hashed (FNV-1a) to a slot and probed linearly over RL_PROBE slots; when
 * none of them is its own or free, the least recently used one is taken
 * over.  A bucket taken over was the oldest of its neighbours, so nothing
 * an address did long ago is held against a newcomer, and a flood of new
 * addresses can only give addresses a fresh (full) bucket, never take a
 * token away from one.
 *
 * One process-shared robust mutex guards the table: each call holds it
 * for a hash and a few comparisons, and checks and takes an attempt under
 * it in one step, so that reports in flight at once from one address, in
 * several workers, cannot all pass on its last attempt.  A worker that
 * dies holding it leaves the table consistent (a bucket is two integers
 * written together), so the next taker marks the mutex consistent and
 * goes on.
 *
 * Buckets count in thousandths of an attempt and refill by the monotonic
 * clock, so neither a clock step nor integer rounding gives an address
 * more than rate attempts a minute and burst at once.
 */
#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bootd.h"
#include "hash.h"

#define RL_SLOTS	4096	/* addresses remembered */
#define RL_PROBE	8	/* slots tried per address */
#define RL_ADDR_MAX	46	/* INET6_ADDRSTRLEN */

struct rl_slot {
	char		addr[RL_ADDR_MAX];	/* "" = free */
	int64_t		milli;		/* attempts left, in thousandths */
	int64_t		last_ms;	/* monotonic ms of the last refill */
};

struct rl_table {
	pthread_mutex_t	lock;
	struct rl_slot	slot[RL_SLOTS];
};

static struct rl_table	*tab;		/* NULL until ratelimit_init() */

int
ratelimit_init(void)
{
	pthread_mutexattr_t a;
	void *p;
	int rc;

	p = mmap(NULL, sizeof(*tab), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memset(p, 0, sizeof(*tab));
	if ((rc = pthread_mutexattr_init(&a)) != 0 ||
	    (rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) !=
	    0 ||
	    (rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) != 0 ||
	    (rc = pthread_mutex_init(&((struct rl_table *)p)->lock, &a)) != 0) {
		munmap(p, sizeof(*tab));
		errno = rc;
		return -1;
	}
	pthread_mutexattr_destroy(&a);
	tab = p;
	return 0;
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
lock(void)
{
	int rc = pthread_mutex_lock(&tab->lock);

	if (rc == EOWNERDEAD) {
		/* A worker died holding it; every slot is still whole. */
		pthread_mutex_consistent(&tab->lock);
		rc = 0;
	}
	return rc;
}

/*
 * The bucket of addr, refilled up to now: its own slot, else a free one,
 * else the least recently used of its probe window (reset to full).
 * Called with the lock held.
 */
static struct rl_slot *
bucket(const char *addr, int rate, int burst, int64_t now)
{
	struct rl_slot *s, *free_ = NULL, *lru = NULL;
	int64_t full = (int64_t)burst * 1000, add;
	uint32_t h = str_hash(addr);
	int i;

	for (i = 0; i < RL_PROBE; i++) {
		s = &tab->slot[(h + (uint32_t)i) % RL_SLOTS];
		if (strcmp(s->addr, addr) == 0 && s->addr[0] != '\0')
			break;
		if (s->addr[0] == '\0' && free_ == NULL)
			free_ = s;
		if (lru == NULL || s->last_ms < lru->last_ms)
			lru = s;
	}
	if (i == RL_PROBE) {
		s = free_ != NULL ? free_ : lru;
		snprintf(s->addr, sizeof(s->addr), "%s", addr);
		s->milli = full;
		s->last_ms = now;
		return s;
	}
	/* rate per minute = rate thousandths per 60 ms. */
	add = (now - s->last_ms) * (int64_t)rate / 60;
	if (add > 0) {
		s->milli += add;
		if (s->milli > full)
			s->milli = full;
		s->last_ms = now;
	}
	return s;
}

/*
 * The bucket of addr (NULL or "" and overlong ones share one each),
 * refilled up to now, with the lock held: the caller unlocks.  NULL when
 * nothing is limited (no table, rate 0) or the lock cannot be taken.
 */
static struct rl_slot *
lock_bucket(const char *addr, int rate, int burst)
{
	if (tab == NULL || rate <= 0)
		return NULL;
	if (addr == NULL || *addr == '\0')
		addr = "-";		/* no address: one shared bucket */
	if (strlen(addr) >= RL_ADDR_MAX)
		addr = "?";		/* not an address: one shared bucket */
	if (lock() != 0)
		return NULL;
	return bucket(addr, rate, burst, now_ms());
}

int
ratelimit_take(const char *addr, int rate, int burst)
{
	struct rl_slot *s;
	int ok;

	if ((s = lock_bucket(addr, rate, burst)) == NULL)
		return 1;		/* never refuse for our own failure */
	if ((ok = s->milli >= 1000))
		s->milli -= 1000;
	pthread_mutex_unlock(&tab->lock);
	return ok;
}

void
ratelimit_give_back(const char *addr, int rate, int burst)
{
	struct rl_slot *s;

	if ((s = lock_bucket(addr, rate, burst)) == NULL)
		return;
	s->milli += 1000;
	if (s->milli > (int64_t)burst * 1000)
		s->milli = (int64_t)burst * 1000;
	pthread_mutex_unlock(&tab->lock);
}
