/*
 * coordinator/leases.c
 *     Taking, renewing and releasing the département leases.
 */
#include "leases.h"
#include "log.h"

bool leases_acquire(redis_client *rc, launch *l)
{
	size_t taken = 0;
	bool ok = true;

	for (; taken < l->n; taken++) {
		char holder[256] = "";
		int got = redis_lease_acquire(rc, l->deps[taken].code, LEASE_TTL_MS, holder,
		                              sizeof(holder));
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

bool leases_renew(redis_client *rc, const launch *l)
{
	bool ok = true;

	for (size_t i = 0; i < l->n; i++) {
		if (l->deps[i].state >= DEP_COMMITTED)
			continue;
		if (!redis_lease_renew(rc, l->deps[i].code, LEASE_TTL_MS)) {
			log_warn("cannot renew the lease of département %s: %s", l->deps[i].code,
			         rc->err[0] ? rc->err : "lost");
			ok = false;
		}
	}
	return ok;
}

void leases_release(redis_client *rc, const launch *l)
{
	for (size_t i = 0; i < l->n; i++)
		redis_lease_release(rc, l->deps[i].code);
}
