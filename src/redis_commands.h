/*
 * src/redis_commands.h
 *     Inside the Redis client only (redis_client.c, redis_script.c and the
 *     layers on them: redis_locks.c, redis_leases.c, redis_decision.c): how
 *     a command fails, the shared commands and the Lua scripts.
 */
#ifndef ECOLO_REDIS_COMMANDS_H
#define ECOLO_REDIS_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis.h>

#include "redis_client.h"

/*
 * A Lua script run by EVALSHA. The SHA1 is a digest of the body, the same
 * on every server, so it is kept per process (after fork too); a server
 * that lacks the script (restarted, SCRIPT FLUSH, another server) answers
 * NOSCRIPT and the batch is sent again by EVAL, which caches it there.
 */
typedef struct redis_script {
	const char *name; /* for messages */
	const char *body; /* KEYS[1] = the key, ARGV[1] = the owner's token */
	char sha[41];     /* given by SCRIPT LOAD; "" until loaded */
} redis_script;

extern redis_script redis_unlock_script; /* compare-and-delete */
extern redis_script redis_renew_script;  /* compare-and-pexpire, ARGV[2] the ttl in ms */
extern const char REDIS_TAKE_OVER_SCRIPT[];

/*
 * redis_fail says in rc->err why a command failed (reply: the server's
 * error or an unexpected reply; NULL: the context's I/O error), then closes
 * the connection. Returns false. The caller still frees reply.
 */
bool redis_fail(redis_client *rc, const char *what, const redisReply *reply);

/* redis_connected returns true when rc has a connection, else says so in rc->err. */
bool redis_connected(redis_client *rc);

/* redis_ttl_arg writes ttl_ms as a command argument; false (rc->err) when not positive. */
bool redis_ttl_arg(redis_client *rc, long ttl_ms, char *buf, size_t len);

/* redis_next_reply returns the next reply of the pipeline, NULL on an I/O error. */
redisReply *redis_next_reply(redis_client *rc);

/* redis_status_ok checks a one-off command's status reply; frees reply. */
bool redis_status_ok(redis_client *rc, const char *what, redisReply *reply);

/*
 * redis_get_token reads key (GET) into buf, "" when it does not exist;
 * *mine (when not NULL) tells whether it holds this owner's token, whole.
 */
bool redis_get_token(redis_client *rc, const char *key, char *buf, size_t len, bool *mine);

/* redis_eval_flag sends one command whose reply is 1 or 0: 1, 0, or -1 (rc->err). */
int redis_eval_flag(redis_client *rc, const char *what, const char *fmt, ...);

/*
 * redis_set_nx_many sends SET key token NX PX ttl for the n keys in one
 * pipeline: acquired[i] tells which ones this owner took. what names the
 * operation in messages ("lock", "lease").
 */
bool redis_set_nx_many(redis_client *rc, char *const *keys, size_t n, long ttl_ms, bool *acquired,
                       const char *what);

/*
 * redis_script_many runs s once per key in one round trip (KEYS[1] the key,
 * ARGV[1] the token, ARGV[2] arg when not NULL); results[i] (may be NULL)
 * gets each answer.
 */
bool redis_script_many(redis_client *rc, redis_script *s, char *const *keys, size_t n,
                       const char *arg, long long *results);

/*
 * redis_take_over_key replaces key by this owner's token if it still holds
 * dead (compare-and-set): 1 taken, 0 not, -1 on an error (rc->err).
 */
int redis_take_over_key(redis_client *rc, const char *key, const char *dead, long ttl_ms,
                        const char *what);

#endif
