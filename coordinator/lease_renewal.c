/*
 * coordinator/lease_renewal.c
 *     One renewal of the département leases inside the loop: for each
 *     département a short chain of commands, each link a reply callback,
 *     the chain of redis_lease_renew then redis_lease_acquire (the same
 *     script, the same commands), all départements at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lease_renewal.h"
#include "log.h"
#include "redis_leases.h"

/* redis_lease_acquire's tries: a lease that expires between SET and GET is taken again */
#define TAKE_TRIES 3

typedef struct lease_link {
	struct leases_renewal *r;
	const char *dep; /* the launch's: outlives the renewal */
	char key[96];
	char what[128]; /* the command running, for messages */
	int tries;      /* SET NX so far */
} lease_link;

struct leases_renewal {
	redis_loop *rl;
	leases_renew_cb cb; /* NULL once abandoned */
	void *ctx;
	size_t left;         /* départements without an answer yet */
	lease_status status; /* the worst answer so far */
	const char *lost;
	bool warned; /* one warning per renewal */
	char ttl[24];
	lease_link links[];
};

/* link_end records one département's answer; the last one tells the caller. */
static void link_end(lease_link *k, lease_status status)
{
	leases_renewal *r = k->r;

	if (status > r->status) {
		r->status = status;
		if (status == LEASES_LOST)
			r->lost = k->dep;
	}
	if (--r->left > 0)
		return;
	if (r->cb)
		r->cb(r->ctx, r->status, r->lost);
	free(r);
}

/* unreachable: Redis did not answer, or not as expected: the lease expires unless renewed later. */
static void unreachable(lease_link *k, const char *err)
{
	if (k->r->cb && !k->r->warned)
		log_warn("cannot renew the lease of département %s: %s", k->dep, err);
	k->r->warned = true;
	link_end(k, LEASES_UNREACHABLE);
}

/* unexpected: a reply of a type the command never gives. */
static void unexpected(lease_link *k)
{
	char err[256];

	snprintf(err, sizeof(err), "Redis %s: %s: unexpected reply", redis_loop_addr(k->r->rl),
	         k->what);
	unreachable(k, err);
}

/* lost: another launch holds the lease now; this launch must stop. */
static void lost(lease_link *k, const char *holder)
{
	if (k->r->cb)
		log_error("the lease of département %s is now held by another launch (%s)", k->dep,
		          holder);
	link_end(k, LEASES_LOST);
}

static void send_renew(lease_link *k, redis_reply_cb then);
static void send_take(lease_link *k);

/* next_try: the lease expired under our feet; taken again, a bounded number of times. */
static void next_try(lease_link *k, const char *holder)
{
	if (k->tries < TAKE_TRIES)
		send_take(k);
	else
		lost(k, holder);
}

/*
 * renew_reply reads the renew script's reply: held when it renewed, else
 * not_ours(k) goes on (the lease is no longer this launch's).
 */
static void renew_reply(lease_link *k, const redisReply *reply, const char *err,
                        void (*not_ours)(lease_link *k))
{
	if (err)
		unreachable(k, err);
	else if (reply->type != REDIS_REPLY_INTEGER)
		unexpected(k);
	else if (reply->integer == 1)
		link_end(k, LEASES_HELD);
	else
		not_ours(k);
}

static void try_next(lease_link *k)
{
	next_try(k, "");
}

/* on_mine_renewed: the lease held our token a moment ago; renewed unless it expired since. */
static void on_mine_renewed(void *ctx, const redisReply *reply, const char *err)
{
	renew_reply(ctx, reply, err, try_next);
}

/* on_holder: who holds the lease that SET NX could not take. */
static void on_holder(void *ctx, const redisReply *reply, const char *err)
{
	lease_link *k = ctx;
	const char *token = redis_loop_token(k->r->rl);

	if (err)
		unreachable(k, err);
	else if (reply->type == REDIS_REPLY_NIL)
		next_try(k, "");
	else if (reply->type != REDIS_REPLY_STRING)
		unexpected(k);
	else if (reply->len == strlen(token) && memcmp(reply->str, token, reply->len) == 0)
		send_renew(k, on_mine_renewed);
	else {
		char holder[256];
		snprintf(holder, sizeof(holder), "%.*s",
		         (int)(reply->len < sizeof(holder) ? reply->len : sizeof(holder) - 1),
		         reply->str);
		lost(k, holder);
	}
}

static void on_taken(void *ctx, const redisReply *reply, const char *err)
{
	lease_link *k = ctx;

	if (err)
		unreachable(k, err);
	else if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0)
		link_end(k, LEASES_HELD);
	else if (reply->type != REDIS_REPLY_NIL)
		unexpected(k);
	else {
		snprintf(k->what, sizeof(k->what), "GET %s", k->key);
		redis_loop_command(k->r->rl, on_holder, k, k->what, "GET %s", k->key);
	}
}

/* send_take takes the lease if it is free (it expired meanwhile), as redis_lease_acquire. */
static void send_take(lease_link *k)
{
	k->tries++;
	snprintf(k->what, sizeof(k->what), "lease %s", k->key);
	redis_loop_command(k->r->rl, on_taken, k, k->what, "SET %s %s NX PX %s", k->key,
	                   redis_loop_token(k->r->rl), k->r->ttl);
}

/* on_renewed: renewed, or no longer ours: then it is taken again if nobody else holds it. */
static void on_renewed(void *ctx, const redisReply *reply, const char *err)
{
	renew_reply(ctx, reply, err, send_take);
}

/* send_renew runs the token-checking renewal script of redis_lease_renew (by EVAL). */
static void send_renew(lease_link *k, redis_reply_cb then)
{
	snprintf(k->what, sizeof(k->what), "compare-and-pexpire %s", k->key);
	redis_loop_command(k->r->rl, then, k, k->what, "EVAL %s 1 %s %s %s", REDIS_RENEW_SCRIPT,
	                   k->key, redis_loop_token(k->r->rl), k->r->ttl);
}

/* to_renew counts the départements whose lease is renewed: those not finished yet. */
static size_t to_renew(const launch *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += l->deps[i].state < DEP_COMMITTED;
	return n;
}

leases_renewal *leases_renew_start(redis_loop *rl, const launch *l, leases_renew_cb cb, void *ctx)
{
	size_t n = to_renew(l), k = 0;

	if (n == 0)
		return NULL;
	leases_renewal *r = calloc(1, sizeof(*r) + n * sizeof(lease_link));
	if (!r)
		abort();
	r->rl = rl;
	r->cb = cb;
	r->ctx = ctx;
	r->left = n;
	snprintf(r->ttl, sizeof(r->ttl), "%ld", LEASE_TTL_MS);
	for (size_t i = 0; i < l->n; i++) {
		if (l->deps[i].state < DEP_COMMITTED) {
			r->links[k].r = r;
			r->links[k].dep = l->deps[i].code;
			redis_lease_key(r->links[k].key, sizeof(r->links[k].key), l->deps[i].code);
			k++;
		}
	}
	/* their callbacks come from the loop, after this returns */
	for (size_t i = 0; i < n; i++)
		send_renew(&r->links[i], on_renewed);
	return r;
}

void leases_renew_abandon(leases_renewal *r)
{
	if (r)
		r->cb = NULL;
}
