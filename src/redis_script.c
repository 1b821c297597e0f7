/*
 * src/redis_script.c
 *     The commands the locks, the leases and the decisions share: SET NX PX
 *     of several keys in one round trip, and the Lua scripts that compare
 *     the owner's token before they delete, extend or take a key over.
 */
#include <stdio.h>
#include <string.h>

#include <hiredis.h>

#include "redis_client.h"
#include "redis_commands.h"

redis_script redis_unlock_script = {
        .name = "compare-and-delete",
        .body = "if redis.call('get', KEYS[1]) == ARGV[1] then "
                "return redis.call('del', KEYS[1]) else return 0 end",
};

/* ARGV[2]: the new time to live, in milliseconds */
const char REDIS_RENEW_SCRIPT[] =
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

redis_script redis_renew_script = {
        .name = "compare-and-pexpire",
        .body = REDIS_RENEW_SCRIPT,
};

/* ARGV[1]: the dead holder's token, ARGV[2]: ours, ARGV[3]: the time to live in ms */
const char REDIS_TAKE_OVER_SCRIPT[] =
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 else return 0 end";

/*
 * redis_set_nx_many sends SET key token NX PX ttl for the n keys in one pipeline
 * and reads the n replies: "OK" taken, nil held by someone else. what
 * names the operation in messages ("lock", "lease").
 */
bool redis_set_nx_many(redis_client *rc, char *const *keys, size_t n, long ttl_ms, bool *acquired,
                       const char *what)
{
	char ttl[24], msg[160];
	size_t i;

	if (!redis_connected(rc) || !redis_ttl_arg(rc, ttl_ms, ttl, sizeof(ttl)))
		return false;
	for (i = 0; i < n; i++) {
		acquired[i] = false;
		if (redisAppendCommand(rc->ctx, "SET %s %s NX PX %s", keys[i], rc->token, ttl) !=
		    REDIS_OK)
			return redis_fail(rc, what, NULL);
	}
	for (i = 0; i < n; i++) {
		redisReply *reply = redis_next_reply(rc);
		bool ok = true;

		snprintf(msg, sizeof(msg), "%s %.120s", what, keys[i]);
		if (!reply)
			return redis_fail(rc, msg, NULL);
		if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0)
			acquired[i] = true;
		else if (reply->type != REDIS_REPLY_NIL)
			ok = redis_fail(rc, msg, reply);
		freeReplyObject(reply);
		if (!ok)
			return false;
	}
	return true;
}

/* script_load loads s with SCRIPT LOAD and keeps its SHA1. */
static bool script_load(redis_client *rc, redis_script *s)
{
	char what[64];
	redisReply *reply = redisCommand(rc->ctx, "SCRIPT LOAD %s", s->body);
	bool ok = true;

	snprintf(what, sizeof(what), "SCRIPT LOAD %s", s->name);
	if (!reply)
		return redis_fail(rc, what, NULL);
	if (reply->type == REDIS_REPLY_STRING && reply->len == sizeof(s->sha) - 1)
		memcpy(s->sha, reply->str, sizeof(s->sha));
	else
		ok = redis_fail(rc, what, reply);
	freeReplyObject(reply);
	return ok;
}

/*
 * script_send appends s for each key (KEYS[1] = key, ARGV = token, then
 * arg when not NULL): EVALSHA, or EVAL when by_sha is false.
 */
static bool script_send(redis_client *rc, const redis_script *s, char *const *keys, size_t n,
                        const char *arg, bool by_sha)
{
	const char *code = by_sha ? s->sha : s->body;
	const char *fmt;
	size_t i;
	int r;

	if (arg)
		fmt = by_sha ? "EVALSHA %s 1 %s %s %s" : "EVAL %s 1 %s %s %s";
	else
		fmt = by_sha ? "EVALSHA %s 1 %s %s" : "EVAL %s 1 %s %s";
	for (i = 0; i < n; i++) {
		if (arg)
			r = redisAppendCommand(rc->ctx, fmt, code, keys[i], rc->token, arg);
		else
			r = redisAppendCommand(rc->ctx, fmt, code, keys[i], rc->token);
		if (r != REDIS_OK)
			return redis_fail(rc, s->name, NULL);
	}
	return true;
}

/*
 * script_read reads the n integer replies of script_send into results (when
 * not NULL). A NOSCRIPT reply sets *noscript when noscript is not NULL
 * (every reply is read all the same), else is an error.
 */
static bool script_read(redis_client *rc, const redis_script *s, char *const *keys, size_t n,
                        long long *results, bool *noscript)
{
	char what[160];
	size_t i;

	for (i = 0; i < n; i++) {
		redisReply *reply = redis_next_reply(rc);
		bool ok = true;

		snprintf(what, sizeof(what), "%s %.120s", s->name, keys[i]);
		if (!reply)
			return redis_fail(rc, what, NULL);
		if (reply->type == REDIS_REPLY_INTEGER && results)
			results[i] = reply->integer;
		else if (reply->type == REDIS_REPLY_ERROR && noscript &&
		         strncmp(reply->str, "NOSCRIPT", 8) == 0)
			*noscript = true;
		else if (reply->type != REDIS_REPLY_INTEGER)
			ok = redis_fail(rc, what, reply);
		freeReplyObject(reply);
		if (!ok)
			return false;
	}
	return true;
}

/*
 * redis_script_many runs s once per key in one round trip (loading it on first
 * use), all again by EVAL if the server lacked it: both scripts give the
 * same answer when run twice. results[i] (may be NULL) gets each answer.
 */
bool redis_script_many(redis_client *rc, redis_script *s, char *const *keys, size_t n,
                       const char *arg, long long *results)
{
	bool noscript = false;

	if (!redis_connected(rc))
		return false;
	if (n == 0)
		return true;
	if (!s->sha[0] && !script_load(rc, s))
		return false;
	if (!script_send(rc, s, keys, n, arg, true) ||
	    !script_read(rc, s, keys, n, results, &noscript))
		return false;
	if (!noscript)
		return true;
	return script_send(rc, s, keys, n, arg, false) &&
	       script_read(rc, s, keys, n, results, NULL);
}

/*
 * redis_take_over_key replaces key by this owner's token if it still holds dead
 * (compare-and-set: an owner that took it meanwhile keeps it). 1 taken, 0
 * not, -1 on an error (rc->err). Rare: the script is sent by EVAL.
 */
int redis_take_over_key(redis_client *rc, const char *key, const char *dead, long ttl_ms,
                        const char *what)
{
	char ttl[24];

	if (!redis_connected(rc) || !redis_ttl_arg(rc, ttl_ms, ttl, sizeof(ttl)))
		return -1;
	return redis_eval_flag(rc, what, "EVAL %s 1 %s %s %s %s", REDIS_TAKE_OVER_SCRIPT, key, dead,
	                       rc->token, ttl);
}
