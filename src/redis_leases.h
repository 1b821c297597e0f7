/*
 * src/redis_leases.h
 *     Département leases (ecoloweb:lease:<dep>).
 */
#ifndef ECOLO_REDIS_LEASES_H
#define ECOLO_REDIS_LEASES_H

#include <stdbool.h>
#include <stddef.h>

#include "redis_client.h"

/*
 * redis_lease_acquire takes ecoloweb:lease:<dep> for ttl_ms. Returns 1 when
 * taken, 0 when another owner holds it (its token copied into holder),
 * -1 on error.
 */
int redis_lease_acquire(redis_client *rc, const char *dep, long ttl_ms, char *holder,
                        size_t holderlen);

/* redis_lease_renew extends the lease if this owner still holds it; false otherwise. */
bool redis_lease_renew(redis_client *rc, const char *dep, long ttl_ms);

/* redis_lease_release deletes the lease if this owner holds it. */
bool redis_lease_release(redis_client *rc, const char *dep);

/*
 * redis_lease_take_over gives the lease of dep to this owner if it still
 * holds the token dead (a launch known to be dead): 1 taken, 0 not, -1 error.
 */
int redis_lease_take_over(redis_client *rc, const char *dep, const char *dead, long ttl_ms);

/* redis_lease_holder reads the token holding the lease of dep ("" when free); false on error. */
bool redis_lease_holder(redis_client *rc, const char *dep, char *holder, size_t holderlen);

/*
 * For a client of the same keys on another connection (the coordinator's,
 * inside its loop): redis_lease_key writes ecoloweb:lease:<dep> into buf
 * (false when the name is empty or does not fit); REDIS_RENEW_SCRIPT is the
 * Lua body redis_lease_renew runs (KEYS[1] the lease, ARGV[1] the owner's
 * token, ARGV[2] the time to live in ms): 1 extended, 0 not this owner's.
 */
bool redis_lease_key(char *buf, size_t len, const char *dep);
extern const char REDIS_RENEW_SCRIPT[];
#endif
