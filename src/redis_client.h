/*
 * src/redis_client.h
 *     The Redis side of the import (hiredis 0.14): reference locks for the
 *     shared entities (bailleurs, administrations) and département leases.
 *     A lock or lease holds a token unique to its owner; it is released or
 *     renewed only by a script that checks the token first, so an expired
 *     and re-taken lock is never deleted by its former owner.
 */
#ifndef ECOLO_REDIS_CLIENT_H
#define ECOLO_REDIS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* every reference lock is "ecoloweb:lock:<apilos model>:<ecolo id>" */
#define REDIS_LOCK_PREFIX "ecoloweb:lock:"

typedef struct redis_client {
	void *ctx;       /* redisContext *, NULL when not connected */
	char token[128]; /* owner token: "<host>:<pid>:<launch>" */
	char err[256];   /* last error, for the caller's message */
	bool transient;  /* the last connect failed in a way a later try may not */
} redis_client;

/*
 * redis_client_connect connects to cfg (timeout 5 s, AUTH when a password
 * is set, SELECT db) and sets the owner token. False with rc->err set.
 */
bool redis_client_connect(redis_client *rc, const redis_config *cfg, const char *token);

/*
 * redis_client_connect_retried is redis_client_connect tried again while
 * the failure is transient (refused, timed out): the policy of
 * connect_retry.h, each failed try logged.
 */
bool redis_client_connect_retried(redis_client *rc, const redis_config *cfg, const char *token);
void redis_client_close(redis_client *rc);

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
 * redis_decision_set records the verdict of a launch (SET
 * ecoloweb:decision:<launch> decision EX ttl_s): once COMMIT was decided,
 * a launch that dies halfway through its COMMIT PREPAREDs is finished by
 * the next one's clean-up, which reads it back with redis_decision_get
 * ("" when none). redis_decision_delete drops it once every commit is done.
 */
bool redis_decision_set(redis_client *rc, const char *launch_id, const char *decision, long ttl_s);
bool redis_decision_get(redis_client *rc, const char *launch_id, char *buf, size_t len);
bool redis_decision_delete(redis_client *rc, const char *launch_id);

/*
 * For a client of the same keys on another connection (the coordinator's,
 * inside its loop): redis_lease_key and redis_decision_key write
 * ecoloweb:lease:<dep> and ecoloweb:decision:<launch> into buf (false when
 * the name is empty or does not fit); REDIS_RENEW_SCRIPT is the Lua body
 * redis_lease_renew runs (KEYS[1] the lease, ARGV[1] the owner's token,
 * ARGV[2] the time to live in ms): 1 extended, 0 not this owner's.
 */
bool redis_lease_key(char *buf, size_t len, const char *dep);
bool redis_decision_key(char *buf, size_t len, const char *launch_id);
extern const char REDIS_RENEW_SCRIPT[];

#endif
