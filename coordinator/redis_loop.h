/*
 * coordinator/redis_loop.h
 *     The coordinator's Redis connection inside its libev loop: hiredis'
 *     asynchronous context attached with its own libev adapter
 *     (hiredis/adapters/libev.h), so that no command blocks the loop. It
 *     connects when a command needs it (AUTH and SELECT first, as
 *     redis_client_connect does), and a lost connection is opened anew by
 *     the next command. hiredis 0.14 times nothing: each command is timed
 *     here, and one without a reply in REDIS_LOOP_TIMEOUT_S drops the
 *     connection, as the blocking client's time-out does.
 */
#ifndef ECOLO_REDIS_LOOP_H
#define ECOLO_REDIS_LOOP_H

#include <stdbool.h>

#include <ev.h>
#include <hiredis.h>

#include "config.h"

#define REDIS_LOOP_TIMEOUT_S 5.0

typedef struct redis_loop redis_loop;

/*
 * redis_reply_cb gets the reply of a command (freed after the call), or
 * NULL when none came. err is set, "Redis host:port: what: why", when
 * reply is NULL (time-out, connection lost or refused) or an error reply;
 * else NULL. Always called from the loop, never from redis_loop_command.
 */
typedef void (*redis_reply_cb)(void *ctx, const redisReply *reply, const char *err);

/* redis_loop_new returns a client of cfg on loop (not connected yet); token is the owner's. */
redis_loop *redis_loop_new(struct ev_loop *loop, const redis_config *cfg, const char *token);

/* redis_loop_free closes the connection: every pending command gets NULL first. */
void redis_loop_free(redis_loop *rl);

/*
 * redis_loop_forget, in a forked child only: closes the socket without a
 * word and never touches the context again (the coordinator's).
 */
void redis_loop_forget(redis_loop *rl);

/* redis_loop_token returns the owner token ("<host>:<pid>:<launch>") its scripts check. */
const char *redis_loop_token(const redis_loop *rl);

/* redis_loop_addr returns "host:port", for messages about an unexpected reply. */
const char *redis_loop_addr(const redis_loop *rl);

/*
 * redis_loop_command sends a command (hiredis format: every value a %s
 * argument, never in the format), connecting first if need be; cb gets
 * its outcome. what names it in err ("SET ecoloweb:decision:...").
 */
void redis_loop_command(redis_loop *rl, redis_reply_cb cb, void *ctx, const char *what,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
