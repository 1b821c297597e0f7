/*
 * src/redis_locks.c
 *     Reference locks on the shared entities (ecoloweb:lock:<model>:<id>):
 *     taken by SET NX PX, released by compare-and-delete, taken over from a
 *     holder that died on this machine, and swept when a launch starts and
 *     ends. Several keys cost one round trip (pipelined commands).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>

#include "owner_token.h"
#include "redis_commands.h"
#include "redis_locks.h"

/*
 * redis_lock_many tries SET key token NX PX ttl_ms for the n keys in one
 * round trip; acquired[i] tells whether this owner now holds keys[i].
 * False on an error (rc->err), after which the connection is closed; also
 * false, connection kept, when ttl_ms is not positive.
 */
bool redis_lock_many(redis_client *rc, char *const *keys, size_t n, long ttl_ms, bool *acquired)
{
	return redis_set_nx_many(rc, keys, n, ttl_ms, acquired, "lock");
}

/*
 * redis_unlock_many deletes those of the n keys this owner holds (compare-
 * and-delete), in one round trip; keys held by others or gone are left.
 * False on an error (rc->err), after which the connection is closed.
 */
bool redis_unlock_many(redis_client *rc, char *const *keys, size_t n)
{
	return redis_script_many(rc, &redis_unlock_script, keys, n, NULL, NULL);
}

/*
 * read_holders reads, in one round trip, the holder of each key not
 * acquired into holders[i] ("" when free, or acquired).
 */
static bool read_holders(redis_client *rc, char *const *keys, size_t n, const bool *acquired,
                         char (*holders)[256])
{
	size_t sent = 0;
	bool ok = true;

	for (size_t i = 0; i < n; i++) {
		holders[i][0] = '\0';
		if (!acquired[i] && redisAppendCommand(rc->ctx, "GET %s", keys[i]) != REDIS_OK)
			return redis_fail(rc, "GET of the lock holders", NULL);
		sent += !acquired[i];
	}
	for (size_t i = 0; i < n && sent > 0; i++) {
		redisReply *reply = NULL;
		if (acquired[i])
			continue;
		sent--;
		if (redisGetReply(rc->ctx, (void **)&reply) != REDIS_OK || !reply)
			return redis_fail(rc, "GET of the lock holders", NULL);
		if (reply->type == REDIS_REPLY_STRING)
			snprintf(holders[i], sizeof(holders[i]), "%.*s",
			         (int)(reply->len < 255 ? reply->len : 255), reply->str);
		else if (reply->type != REDIS_REPLY_NIL && ok)
			ok = redis_fail(rc, "GET of the lock holders", reply);
		freeReplyObject(reply);
	}
	return ok;
}

bool redis_lock_take_over_dead(redis_client *rc, char *const *keys, size_t n, long ttl_ms,
                               bool *acquired)
{
	char(*holders)[256] = calloc(n + 1, sizeof(*holders));
	bool ok = holders && redis_connected(rc) && read_holders(rc, keys, n, acquired, holders);

	for (size_t i = 0; ok && i < n; i++) {
		if (!holders[i][0] || !owner_token_dead(holders[i]))
			continue;
		int got = redis_take_over_key(rc, keys[i], holders[i], ttl_ms, "lock take-over");
		ok = got >= 0;
		acquired[i] = got == 1;
	}
	free(holders);
	return ok;
}

/* release_if_held deletes key if dead still holds it (compare-and-delete with dead's token). */
static int release_if_held(redis_client *rc, const char *key, const char *dead)
{
	return redis_eval_flag(rc, "release of a dead owner's lock", "EVAL %s 1 %s %s",
	                       redis_unlock_script.body, key, dead);
}

/* release_dead_page releases, among the n keys of one SCAN page, those whose holder died. */
static bool release_dead_page(redis_client *rc, redisReply *keys, size_t *released)
{
	bool *none = calloc(keys->elements + 1, sizeof(bool));
	char(*holders)[256] = calloc(keys->elements + 1, sizeof(*holders));
	char **names = calloc(keys->elements + 1, sizeof(char *));
	bool ok = none && holders && names;

	for (size_t i = 0; ok && i < keys->elements; i++) {
		ok = keys->element[i]->type == REDIS_REPLY_STRING;
		names[i] = keys->element[i]->str;
	}
	ok = ok && read_holders(rc, names, keys->elements, none, holders);
	for (size_t i = 0; ok && i < keys->elements; i++) {
		if (!holders[i][0] || !owner_token_dead(holders[i]))
			continue;
		int got = release_if_held(rc, names[i], holders[i]);
		ok = got >= 0;
		*released += got == 1;
	}
	free(none);
	free(holders);
	free(names);
	return ok;
}

bool redis_locks_release_dead(redis_client *rc, size_t *released)
{
	char cursor[32] = "0";
	bool ok = redis_connected(rc);

	*released = 0;
	do {
		redisReply *reply = ok ? redisCommand(rc->ctx, "SCAN %s MATCH %s* COUNT 1000",
		                                      cursor, REDIS_LOCK_PREFIX)
		                       : NULL;
		if (ok && (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
		           reply->element[0]->type != REDIS_REPLY_STRING ||
		           reply->element[1]->type != REDIS_REPLY_ARRAY)) {
			ok = redis_fail(rc, "SCAN of the locks", reply);
		} else if (ok) {
			snprintf(cursor, sizeof(cursor), "%s", reply->element[0]->str);
			ok = release_dead_page(rc, reply->element[1], released);
		}
		if (reply)
			freeReplyObject(reply);
	} while (ok && strcmp(cursor, "0") != 0);
	return ok;
}
