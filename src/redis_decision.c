/*
 * src/redis_decision.c
 *     The verdict of a launch kept in Redis (ecoloweb:decision:<launch>),
 *     for the next launch to finish a COMMIT that a dead one decided.
 */
#include <stdio.h>
#include <string.h>

#include <hiredis.h>

#include "redis_commands.h"
#include "redis_decision.h"

#define DECISION_PREFIX "ecoloweb:decision:"

bool redis_decision_key(char *buf, size_t len, const char *launch_id)
{
	if (!launch_id || !*launch_id || strlen(launch_id) + sizeof(DECISION_PREFIX) > len)
		return false;
	snprintf(buf, len, DECISION_PREFIX "%s", launch_id);
	return true;
}

/* decision_key writes ecoloweb:decision:<launch> into buf; false (rc->err) on a bad id. */
static bool decision_key(redis_client *rc, const char *launch_id, char *buf, size_t len)
{
	if (redis_decision_key(buf, len, launch_id))
		return true;
	snprintf(rc->err, sizeof(rc->err), "Redis: invalid launch id for a decision");
	return false;
}

bool redis_decision_set(redis_client *rc, const char *launch_id, const char *decision, long ttl_s)
{
	char key[96], what[128];

	if (!decision_key(rc, launch_id, key, sizeof(key)) || !redis_connected(rc))
		return false;
	snprintf(what, sizeof(what), "SET %s", key);
	return redis_status_ok(rc, what,
	                       redisCommand(rc->ctx, "SET %s %s EX %ld", key, decision, ttl_s));
}

bool redis_decision_get(redis_client *rc, const char *launch_id, char *buf, size_t len)
{
	char key[96];

	buf[0] = '\0';
	return decision_key(rc, launch_id, key, sizeof(key)) &&
	       redis_get_token(rc, key, buf, len, NULL);
}

bool redis_decision_delete(redis_client *rc, const char *launch_id)
{
	char key[96];
	redisReply *reply;

	if (!decision_key(rc, launch_id, key, sizeof(key)) || !redis_connected(rc))
		return false;
	if (!(reply = redisCommand(rc->ctx, "DEL %s", key)))
		return redis_fail(rc, "DEL decision", NULL);
	bool ok = reply->type == REDIS_REPLY_INTEGER || redis_fail(rc, "DEL decision", reply);
	freeReplyObject(reply);
	return ok;
}
