/*
 * src/redis_client.h
 *     The Redis client of the import (hiredis 0.14), its transport: a
 *     blocking connection with its owner token. On top of it, one header
 *     per layer: redis_locks.h (reference locks on the shared entities),
 *     redis_leases.h (département leases), redis_decision.h (a launch's
 *     verdict). A lock or lease holds a token unique to its owner; it is
 *     released or renewed only by a script that checks the token first, so
 *     an expired and re-taken lock is never deleted by its former owner.
 */
#ifndef ECOLO_REDIS_CLIENT_H
#define ECOLO_REDIS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

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

#endif
