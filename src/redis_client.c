/*
 * src/redis_client.c
 *     The transport of the import's Redis client on hiredis 0.14 (blocking,
 *     5 s timeouts): connecting (AUTH, SELECT, keepalives), the owner token,
 *     and how a failed command is told. The commands the locks, leases and
 *     decisions share are in redis_script.c; each of those has its file.
 *
 * Errors: a failure (I/O, timeout, error reply, unexpected reply) is told
 * in rc->err as "Redis host:port: what: why" and closes the connection
 * (rc->ctx = NULL): a blocking hiredis context that lost a reply is out of
 * step with the server, and an error in a pipeline leaves replies unread.
 * The caller reconnects to go on. A password never appears in rc->err.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "connect_retry.h"
#include "redis_client.h"
#include "redis_commands.h"

#define REDIS_TIMEOUT_S 5 /* connect, and each command's reply */

/* set_err writes "Redis host:port: what: why" (what may be NULL) into rc->err. */
static void set_err(redis_client *rc, const char *host, int port, const char *what, const char *why)
{
	char addr[128] = "";

	if (host && strchr(host, ':'))
		snprintf(addr, sizeof(addr), " [%.80s]:%d", host, port);
	else if (host)
		snprintf(addr, sizeof(addr), " %.80s:%d", host, port);
	snprintf(rc->err, sizeof(rc->err), "Redis%s: %s%s%s", addr, what ? what : "",
	         what ? ": " : "", why);
}

/*
 * describe_io writes why the context failed: hiredis' message with a small
 * first letter ("connection refused"), a timeout said as one (hiredis 0.14
 * reports the EAGAIN of a socket timeout as such).
 */
static void describe_io(const redisContext *c, char *buf, size_t len)
{
	if (c->err == REDIS_ERR_IO && strcmp(c->errstr, strerror(EAGAIN)) == 0) {
		snprintf(buf, len, "no reply within %d s (timeout)", REDIS_TIMEOUT_S);
		return;
	}
	snprintf(buf, len, "%s", c->errstr[0] ? c->errstr : "unknown error");
	if (isupper((unsigned char)buf[0]) && islower((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
}

/* describe_reply writes what an error or unexpected reply says. */
static void describe_reply(const redisReply *reply, char *buf, size_t len)
{
	static const char *const types[] = {"?",   "string", "array", "integer",
	                                    "nil", "status", "error"};
	int t = reply->type;

	if (t == REDIS_REPLY_ERROR)
		snprintf(buf, len, "%.*s", (int)(reply->len < 180 ? reply->len : 180), reply->str);
	else
		snprintf(buf, len, "unexpected %s reply",
		         t > 0 && t <= REDIS_REPLY_ERROR ? types[t] : types[0]);
}

/*
 * redis_fail says in rc->err why a command failed (reply: the server's error or
 * an unexpected reply; NULL: the context's I/O error), then closes the
 * connection. Returns false. The caller still frees reply.
 */
bool redis_fail(redis_client *rc, const char *what, const redisReply *reply)
{
	redisContext *c = rc->ctx;
	char why[200];

	if (reply)
		describe_reply(reply, why, sizeof(why));
	else if (c)
		describe_io(c, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "not connected");
	set_err(rc, c ? c->tcp.host : NULL, c ? c->tcp.port : 0, what, why);
	redis_client_close(rc);
	return false;
}

/* redis_connected returns true when rc has a connection, else says so in rc->err. */
bool redis_connected(redis_client *rc)
{
	if (rc->ctx)
		return true;
	snprintf(rc->err, sizeof(rc->err),
	         "Redis: not connected (closed after an earlier error, or never opened)");
	return false;
}

/* redis_ttl_arg writes ttl_ms as a command argument; false (rc->err) when not positive. */
bool redis_ttl_arg(redis_client *rc, long ttl_ms, char *buf, size_t len)
{
	if (ttl_ms <= 0) {
		snprintf(rc->err, sizeof(rc->err), "Redis: invalid time to live %ld ms", ttl_ms);
		return false;
	}
	snprintf(buf, len, "%ld", ttl_ms);
	return true;
}

/* redis_next_reply returns the next reply of the pipeline, NULL on an I/O error. */
redisReply *redis_next_reply(redis_client *rc)
{
	void *reply = NULL;

	if (redisGetReply(rc->ctx, &reply) != REDIS_OK)
		return NULL;
	return reply;
}

/*
 * scrub replaces each occurrence of secret in s with "****", in case a
 * server message quoted it (none does today: defence in depth). Secrets
 * shorter than the mask are left: the text must not grow.
 */
static void scrub(char *s, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *p;

	if (n < 4)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		memmove(p + 4, p + n, strlen(p + n) + 1);
		memcpy(p, "****", 4);
	}
}

/*
 * make_token copies token into buf (len bytes), or makes "<host>:<pid>:<ms>"
 * when it is NULL or "". False when token does not fit.
 */
static bool make_token(const char *token, char *buf, size_t len)
{
	char host[64] = "localhost";
	struct timespec ts;

	if (token && *token) {
		if (strlen(token) >= len)
			return false;
		snprintf(buf, len, "%s", token);
		return true;
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "%s:%ld:%lld", host, (long)getpid(),
	         (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	return true;
}

/*
 * redis_status_ok checks the reply of a one-off command (AUTH, SELECT, PING): a
 * status is success; NULL (I/O error) or anything else fails. Frees reply.
 */
bool redis_status_ok(redis_client *rc, const char *what, redisReply *reply)
{
	bool ok;

	if (!reply)
		return redis_fail(rc, what, NULL);
	ok = reply->type == REDIS_REPLY_STATUS || redis_fail(rc, what, reply);
	freeReplyObject(reply);
	return ok;
}

/*
 * authenticate sends AUTH [user] password (the user form is Redis 6's ACL
 * one) when the URL had user information. A refusal gets a hint; the
 * password is an argument, never part of the format, never in rc->err.
 */
static bool authenticate(redis_client *rc, const redis_config *cfg)
{
	const char *pw = cfg->password ? cfg->password : "";
	redisReply *reply;
	bool ok;

	if (cfg->user)
		reply = redisCommand(rc->ctx, "AUTH %s %s", cfg->user, pw);
	else
		reply = redisCommand(rc->ctx, "AUTH %s", pw);
	ok = redis_status_ok(rc, "AUTH", reply);
	if (!ok && strstr(rc->err, "WRONGPASS"))
		snprintf(rc->err + strlen(rc->err), sizeof(rc->err) - strlen(rc->err),
		         " (check the user and password of the Redis URL)");
	scrub(rc->err, cfg->password);
	return ok;
}

/*
 * check_session makes sure the connection can be used: AUTH and SELECT
 * when configured, else a PING, so that a server wanting a password
 * (NOAUTH) is told at connect time rather than at the first lock.
 */
static bool check_session(redis_client *rc, const redis_config *cfg)
{
	if ((cfg->user || cfg->password) && !authenticate(rc, cfg))
		return false;
	if (cfg->db != 0)
		return redis_status_ok(rc, "SELECT", redisCommand(rc->ctx, "SELECT %d", cfg->db));
	if (cfg->user || cfg->password)
		return true;
	if (redis_status_ok(rc, "PING", redisCommand(rc->ctx, "PING")))
		return true;
	if (strstr(rc->err, "NOAUTH"))
		snprintf(rc->err + strlen(rc->err), sizeof(rc->err) - strlen(rc->err),
		         " (put the password in the Redis URL: redis://:password@host:port/db)");
	return false;
}

/*
 * redis_client_connect connects to cfg with a 5 s timeout (connect and
 * every later reply), TCP keepalives, AUTH and SELECT as configured, and
 * sets the owner token (made from host, pid and time when token is NULL or
 * empty). rc's previous content is ignored. False with rc->err set.
 */
bool redis_client_connect(redis_client *rc, const redis_config *cfg, const char *token)
{
	struct timeval tv = {REDIS_TIMEOUT_S, 0};
	char tok[sizeof(rc->token)];
	bool tok_ok = make_token(token, tok, sizeof(tok)); /* token may be rc->token */
	redisContext *c;

	memset(rc, 0, sizeof(*rc));
	if (!tok_ok) {
		snprintf(rc->err, sizeof(rc->err), "Redis: owner token longer than %zu bytes",
		         sizeof(rc->token) - 1);
		return false;
	}
	memcpy(rc->token, tok, sizeof(rc->token));
	if (!cfg->host || !*cfg->host) {
		snprintf(rc->err, sizeof(rc->err), "Redis: no host to connect to");
		return false;
	}
	c = redisConnectWithTimeout(cfg->host, cfg->port, tv);
	if (!c) {
		set_err(rc, cfg->host, cfg->port, NULL, "out of memory");
		return false;
	}
	rc->ctx = c;
	if (c->err) {
		/* refused, timed out, reset: the server may be back in a moment */
		rc->transient = c->err == REDIS_ERR_IO || c->err == REDIS_ERR_EOF;
		return redis_fail(rc, NULL, NULL);
	}
	if (redisSetTimeout(c, tv) != REDIS_OK)
		return redis_fail(rc, "setting the timeout", NULL);
	if (redisEnableKeepAlive(c) != REDIS_OK)
		return redis_fail(rc, "enabling TCP keepalives", NULL);
	return check_session(rc, cfg);
}

bool redis_client_connect_retried(redis_client *rc, const redis_config *cfg, const char *token)
{
	char tok[sizeof(rc->token)];

	snprintf(tok, sizeof(tok), "%s", token ? token : "");
	for (int try = 1;; try++) {
		if (redis_client_connect(rc, cfg, *tok ? tok : NULL))
			return true;
		if (!rc->transient || !connect_retry_wait("REDIS", try, rc->err))
			return false;
	}
}

/* redis_client_close closes the connection, if any; rc->err is kept. */
void redis_client_close(redis_client *rc)
{
	if (rc->ctx)
		redisFree(rc->ctx);
	rc->ctx = NULL;
}

/*
 * redis_get_token reads key (GET) into buf, "" when it does not exist; *mine
 * (when not NULL) tells whether it holds this owner's token, whole.
 */
bool redis_get_token(redis_client *rc, const char *key, char *buf, size_t len, bool *mine)
{
	char what[160];
	redisReply *reply;
	bool ok = true;

	snprintf(what, sizeof(what), "GET %.120s", key);
	buf[0] = '\0';
	if (mine)
		*mine = false;
	if (!redis_connected(rc))
		return false;
	if (!(reply = redisCommand(rc->ctx, "GET %s", key)))
		return redis_fail(rc, what, NULL);
	if (reply->type == REDIS_REPLY_STRING) {
		snprintf(buf, len, "%.*s", (int)(reply->len < len ? reply->len : len - 1),
		         reply->str);
		if (mine)
			*mine = strlen(rc->token) == reply->len &&
			        memcmp(rc->token, reply->str, reply->len) == 0;
	} else if (reply->type != REDIS_REPLY_NIL) {
		ok = redis_fail(rc, what, reply);
	}
	freeReplyObject(reply);
	return ok;
}

/*
 * redis_eval_flag sends one command (a rare EVAL) whose reply is 1 or 0: 1 yes,
 * 0 no, -1 on an error (rc->err, the connection closed).
 */
int redis_eval_flag(redis_client *rc, const char *what, const char *fmt, ...)
{
	va_list ap;
	int got = -1;

	va_start(ap, fmt);
	redisReply *reply = redisvCommand(rc->ctx, fmt, ap);
	va_end(ap);
	if (!reply) {
		redis_fail(rc, what, NULL);
		return -1;
	}
	if (reply->type == REDIS_REPLY_INTEGER)
		got = reply->integer == 1;
	else
		redis_fail(rc, what, reply);
	freeReplyObject(reply);
	return got;
}
