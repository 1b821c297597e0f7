/*
 * coordinator/decision.c
 *     Recording and forgetting the COMMIT decision in Redis, from the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decision.h"
#include "log.h"
#include "redis_client.h"
#include "redis_decision.h"

#define DECISION_TTL_S (7L * 24 * 3600)

/* What a command's reply callback needs: the caller's callback, and the launch for messages. */
typedef struct decision_call {
	decision_cb cb;
	void *ctx;
	char launch_id[32];
} decision_call;

static decision_call *call_new(const char *launch_id, decision_cb cb, void *ctx)
{
	decision_call *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->cb = cb;
	c->ctx = ctx;
	snprintf(c->launch_id, sizeof(c->launch_id), "%s", launch_id);
	return c;
}

/* call_end tells the caller and frees c. */
static void call_end(decision_call *c, bool ok)
{
	c->cb(c->ctx, ok);
	free(c);
}

static void on_recorded(void *ctx, const redisReply *reply, const char *err)
{
	decision_call *c = ctx;
	bool ok = !err && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0;

	if (!ok)
		log_error("cannot record the COMMIT decision in Redis: %s",
		          err ? err : "unexpected reply to SET");
	call_end(c, ok);
}

void decision_record(redis_loop *rl, const char *launch_id, decision_cb cb, void *ctx)
{
	decision_call *c = call_new(launch_id, cb, ctx);
	char key[96], what[128], ttl[24];

	redis_decision_key(key, sizeof(key), launch_id);
	snprintf(what, sizeof(what), "SET %s", key);
	snprintf(ttl, sizeof(ttl), "%ld", DECISION_TTL_S);
	redis_loop_command(rl, on_recorded, c, what, "SET %s %s EX %s", key, "commit", ttl);
}

static void on_forgotten(void *ctx, const redisReply *reply, const char *err)
{
	decision_call *c = ctx;
	bool ok = !err && reply->type == REDIS_REPLY_INTEGER;

	if (!ok)
		log_warn("cannot delete the decision of launch %s in Redis (it expires): %s",
		         c->launch_id, err ? err : "unexpected reply to DEL");
	call_end(c, ok);
}

void decision_forget(redis_loop *rl, const char *launch_id, decision_cb cb, void *ctx)
{
	decision_call *c = call_new(launch_id, cb, ctx);
	char key[96];

	redis_decision_key(key, sizeof(key), launch_id);
	redis_loop_command(rl, on_forgotten, c, "DEL decision", "DEL %s", key);
}
