/*
 * coordinator/redis_loop.c
 *     Redis commands on the coordinator's loop: hiredis' asynchronous
 *     context on its libev adapter, each command timed by an ev_timer.
 *
 * A command waiting for its reply is a `pending`, in the client's list
 * until its callback ran. hiredis runs that callback with the reply, or
 * with NULL for every command still pending when the context is freed
 * (connection lost or refused, or dropped here on a time-out). A command
 * that could not even be queued fails through its timer, set to 0, so that
 * callbacks always come from the loop.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <adapters/libev.h>
#include <async.h>

#include "log.h"
#include "redis_loop.h"
#include "resolve.h"

typedef struct pending {
	struct pending *prev, *next;
	redis_loop *rl;
	ev_timer timer; /* the time-out; 0 for a command that failed before being queued */
	redis_reply_cb cb;
	void *ctx;
	bool queued; /* hiredis holds it: its callback will come */
	char what[128];
	char err[512];
} pending;

struct redis_loop {
	struct ev_loop *loop;
	const redis_config *cfg;
	char token[128];
	char addr[128];
	char ip[64];           /* cfg->host looked up before the loop, "" when not (resolve.h) */
	redisAsyncContext *ac; /* NULL when not connected */
	char why[160];         /* why this client drops the connection: told to its commands */
	pending *list;
};

/* describe copies hiredis' message with a small first letter ("connection refused"). */
static void describe(const char *msg, char *buf, size_t len)
{
	snprintf(buf, len, "%s", msg && *msg ? msg : "connection lost");
	if (isupper((unsigned char)buf[0]) && islower((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
}

/* set_err writes "Redis host:port: what: why" into p->err. */
static void set_err(pending *p, const char *why)
{
	snprintf(p->err, sizeof(p->err), "Redis %s: %s: %s", p->rl->addr, p->what, why);
}

/* deliver tells the caller and forgets p. */
static void deliver(pending *p, const redisReply *reply, const char *err)
{
	redis_loop *rl = p->rl;

	ev_timer_stop(rl->loop, &p->timer);
	if (p->prev)
		p->prev->next = p->next;
	else
		rl->list = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->cb(p->ctx, reply, err);
	free(p);
}

/* on_reply: hiredis' callback of a command, with its reply or NULL (no reply will come). */
static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	pending *p = privdata;
	const redisReply *reply = r;
	char why[200];

	if (reply && reply->type != REDIS_REPLY_ERROR) {
		deliver(p, reply, NULL);
		return;
	}
	if (reply)
		snprintf(why, sizeof(why), "%.*s", (int)(reply->len < 180 ? reply->len : 180),
		         reply->str);
	else if (ac->err)
		describe(ac->errstr, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s", p->rl->why[0] ? p->rl->why : "connection lost");
	set_err(p, why);
	deliver(p, reply, p->err);
}

/* drop frees the connection; every command pending on it is told why. */
static void drop(redis_loop *rl, const char *why)
{
	redisAsyncContext *ac = rl->ac;

	if (!ac)
		return;
	/* a command sent by a callback below connects anew */
	rl->ac = NULL;
	snprintf(rl->why, sizeof(rl->why), "%s", why);
	redisAsyncFree(ac);
	rl->why[0] = '\0';
}

/* on_timer: a command without a reply in time, or one that could not be queued. */
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	pending *p = w->data;

	(void)loop;
	(void)revents;
	if (!p->queued) {
		deliver(p, NULL, p->err);
		return;
	}
	char why[64];
	snprintf(why, sizeof(why), "no reply within %.0f s (timeout)", REDIS_LOOP_TIMEOUT_S);
	drop(p->rl, why);
}

/* forget_context: hiredis frees ac after this callback; the next command connects anew. */
static void forget_context(const redisAsyncContext *ac)
{
	redis_loop *rl = ac->data;

	if (rl && rl->ac == ac)
		rl->ac = NULL;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK)
		forget_context(ac);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	(void)status;
	forget_context(ac);
}

/*
 * on_session_reply: AUTH or SELECT refused. The commands queued after it
 * get their own error replies; the connection is closed once they did, so
 * that the next command tries a new one.
 */
static void on_session_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	const redisReply *reply = r;
	redis_loop *rl = ac->data;

	if (!reply || reply->type != REDIS_REPLY_ERROR)
		return;
	log_warn("Redis %s: %s: %.*s", rl->addr, (const char *)privdata,
	         (int)(reply->len < 180 ? reply->len : 180), reply->str);
	redisAsyncDisconnect(ac);
}

/* start_session sends AUTH and SELECT as configured, ahead of the first command. */
static void start_session(redis_loop *rl)
{
	const redis_config *cfg = rl->cfg;
	const char *pw = cfg->password ? cfg->password : "";

	if (cfg->user)
		redisAsyncCommand(rl->ac, on_session_reply, "AUTH", "AUTH %s %s", cfg->user, pw);
	else if (cfg->password)
		redisAsyncCommand(rl->ac, on_session_reply, "AUTH", "AUTH %s", pw);
	if (cfg->db != 0)
		redisAsyncCommand(rl->ac, on_session_reply, "SELECT", "SELECT %d", cfg->db);
}

/*
 * open_context starts a non-blocking connection, attached to the loop by
 * hiredis' libev adapter. False (why) when it fails at once.
 */
static bool open_context(redis_loop *rl, char *why, size_t len)
{
	redisAsyncContext *ac =
	        redisAsyncConnect(rl->ip[0] ? rl->ip : rl->cfg->host, rl->cfg->port);

	if (!ac) {
		snprintf(why, len, "out of memory");
		return false;
	}
	if (ac->err) {
		describe(ac->errstr, why, len);
		redisAsyncFree(ac);
		return false;
	}
	ac->data = rl;
	if (redisLibevAttach(rl->loop, ac) != REDIS_OK) {
		snprintf(why, len, "cannot watch the connection");
		redisAsyncFree(ac);
		return false;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	redisEnableKeepAlive(&ac->c);
	rl->ac = ac;
	start_session(rl);
	return true;
}

void redis_loop_command(redis_loop *rl, redis_reply_cb cb, void *ctx, const char *what,
                        const char *fmt, ...)
{
	pending *p = calloc(1, sizeof(*p));
	char why[160];
	va_list ap;

	if (!p)
		abort();
	p->rl = rl;
	p->cb = cb;
	p->ctx = ctx;
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->next = rl->list;
	if (rl->list)
		rl->list->prev = p;
	rl->list = p;
	ev_timer_init(&p->timer, on_timer, REDIS_LOOP_TIMEOUT_S, 0);
	p->timer.data = p;
	if (!rl->ac && !open_context(rl, why, sizeof(why))) {
		set_err(p, why);
		ev_timer_set(&p->timer, 0, 0);
		ev_timer_start(rl->loop, &p->timer);
		return;
	}
	va_start(ap, fmt);
	p->queued = redisvAsyncCommand(rl->ac, on_reply, p, fmt, ap) == REDIS_OK;
	va_end(ap);
	if (!p->queued) {
		set_err(p, "not connected (closing after an error)");
		ev_timer_set(&p->timer, 0, 0);
	}
	ev_timer_start(rl->loop, &p->timer);
}

redis_loop *redis_loop_new(struct ev_loop *loop, const redis_config *cfg, const char *token)
{
	redis_loop *rl = calloc(1, sizeof(*rl));

	if (!rl)
		abort();
	rl->loop = loop;
	rl->cfg = cfg;
	snprintf(rl->token, sizeof(rl->token), "%s", token);
	/* looked up now, before the loop: hiredis' connect would block it on a lookup */
	resolve_host(cfg->host, rl->ip, sizeof(rl->ip));
	if (cfg->host && strchr(cfg->host, ':'))
		snprintf(rl->addr, sizeof(rl->addr), "[%.80s]:%d", cfg->host, cfg->port);
	else
		snprintf(rl->addr, sizeof(rl->addr), "%.80s:%d", cfg->host ? cfg->host : "?",
		         cfg->port);
	return rl;
}

void redis_loop_free(redis_loop *rl)
{
	if (!rl)
		return;
	drop(rl, "closed at the end of the launch");
	while (rl->list) /* commands that failed before being queued */
		deliver(rl->list, NULL, rl->list->err);
	free(rl);
}

void redis_loop_forget(redis_loop *rl)
{
	if (rl && rl->ac)
		close(rl->ac->c.fd);
}

const char *redis_loop_token(const redis_loop *rl)
{
	return rl->token;
}

const char *redis_loop_addr(const redis_loop *rl)
{
	return rl->addr;
}
