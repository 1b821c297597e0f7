/*
 * src/redis_locks.h
 *     Reference locks on the shared entities (bailleurs, administrations),
 *     one round trip for several keys.
 */
#ifndef ECOLO_REDIS_LOCKS_H
#define ECOLO_REDIS_LOCKS_H

#include <stdbool.h>
#include <stddef.h>

#include "redis_client.h"

/* every reference lock is "ecoloweb:lock:<apilos model>:<ecolo id>" */
#define REDIS_LOCK_PREFIX "ecoloweb:lock:"

/*
 * redis_lock_many tries SET key token NX PX ttl_ms for n keys in one
 * pipelined round trip; acquired[i] tells which ones this owner now holds.
 * False on a Redis error (rc->err), after which the connection is closed.
 */
bool redis_lock_many(redis_client *rc, char *const *keys, size_t n, long ttl_ms, bool *acquired);

/*
 * redis_lock_take_over_dead takes each of the n keys not acquired whose
 * holder died on this machine (owner_token_dead: a worker killed while it
 * held the lock), compare-and-set, instead of waiting for it to expire;
 * acquired[i] becomes true for those taken. False on a Redis error (rc->err).
 */
bool redis_lock_take_over_dead(redis_client *rc, char *const *keys, size_t n, long ttl_ms,
                               bool *acquired);

/*
 * redis_locks_release_dead deletes every lock (REDIS_LOCK_PREFIX) whose
 * holder is a dead process of this machine: a worker SIGKILLed while it
 * held one. Nobody may need such a lock again (its row was created, or
 * the launch rolled back), and it would stay until it expires. released
 * counts them. False on a Redis error (rc->err).
 */
bool redis_locks_release_dead(redis_client *rc, size_t *released);

/* redis_unlock_many releases the keys this owner holds (compare-and-delete), one round trip. */
bool redis_unlock_many(redis_client *rc, char *const *keys, size_t n);

#endif
