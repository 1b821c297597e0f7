/*
 * coordinator/leases.c
 *     Taking and releasing the département leases, before and after the
 *     coordinator's loop (blocking calls); lease_renewal.c renews them.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leases.h"
#include "log.h"
#include "owner_token.h"
#include "redis_leases.h"

/*
 * acquire_one takes the lease of dep: 1 taken, 0 held by a live launch
 * (holder says which), -1 on an error. A lease whose holder died on this
 * machine is taken over at once instead of refusing the launch for the
 * rest of its time to live.
 */
static int acquire_one(redis_client *rc, const char *dep, char *holder, size_t len)
{
	int got = redis_lease_acquire(rc, dep, LEASE_TTL_MS, holder, len);

	if (got != 0 || !owner_token_dead(holder))
		return got;
	got = redis_lease_take_over(rc, dep, holder, LEASE_TTL_MS);
	if (got == 1)
		log_warn("département %s: the lease of a launch that died on this machine (%s) "
		         "taken over",
		         dep, holder);
	if (got == 0) /* taken by another launch meanwhile: say which */
		redis_lease_holder(rc, dep, holder, len);
	return got;
}

bool leases_acquire(redis_client *rc, launch *l)
{
	size_t taken = 0;
	bool ok = true;

	for (; taken < l->n; taken++) {
		char holder[256] = "";
		int got = acquire_one(rc, l->deps[taken].code, holder, sizeof(holder));
		if (got == 1)
			continue;
		if (got == 0)
			log_error(
			        "département %s is already being imported by another launch (%s): "
			        "refused, nothing done",
			        l->deps[taken].code, holder);
		else
			log_error("cannot take the lease of département %s in Redis: %s",
			          l->deps[taken].code, rc->err);
		ok = false;
		break;
	}
	if (!ok) {
		for (size_t i = 0; i < taken; i++)
			redis_lease_release(rc, l->deps[i].code);
	}
	return ok;
}

void leases_release(redis_client *rc, const config *cfg, const launch *l)
{
	if (rc->ctx == NULL && !redis_client_connect(rc, &cfg->redis, rc->token)) {
		log_warn("cannot give back the département leases (they expire in %ld s): %s",
		         LEASE_TTL_MS / 1000, rc->err);
		return;
	}
	for (size_t i = 0; i < l->n; i++)
		redis_lease_release(rc, l->deps[i].code);
}
