/*
 * src/redis_client.c
 *     The import's Redis client on hiredis 0.14 (blocking, 5 s timeouts):
 *     reference locks on the shared entities and département leases. Each
 *     lock or lease holds its owner's token: it is taken by SET NX PX, and
 *     released or renewed only by a Lua script that compares the token
 *     first, so an owner whose lock expired and was taken by another never
 *     deletes nor extends the other's. Several keys cost one round trip
 *     (pipelined commands).
 *
 * Errors: a failure (I/O, timeout, error reply, unexpected reply) is told
 * in rc->err as "Redis host:port: what: why" and closes the connection
 * (rc->ctx = NULL): a blocking hiredis context that lost a reply is out of
 * step with the server, and an error in a pipeline leaves replies unread.
 * The caller reconnects to go on. A password never appears in rc->err.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "connect_retry.h"
#include "owner_token.h"
#include "redis_client.h"

#define REDIS_TIMEOUT_S 5 /* connect, and each command's reply */
#define LEASE_PREFIX "ecoloweb:lease:"
#define DECISION_PREFIX "ecoloweb:decision:"

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

static redis_script unlock_script = {
        .name = "compare-and-delete",
        .body = "if redis.call('get', KEYS[1]) == ARGV[1] then "
                "return redis.call('del', KEYS[1]) else return 0 end",
};

/* ARGV[2]: the new time to live, in milliseconds */
const char REDIS_RENEW_SCRIPT[] =
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

static redis_script renew_script = {
        .name = "compare-and-pexpire",
        .body = REDIS_RENEW_SCRIPT,
};

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
 * fail says in rc->err why a command failed (reply: the server's error or
 * an unexpected reply; NULL: the context's I/O error), then closes the
 * connection. Returns false. The caller still frees reply.
 */
static bool fail(redis_client *rc, const char *what, const redisReply *reply)
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

/* connected returns true when rc has a connection, else says so in rc->err. */
static bool connected(redis_client *rc)
{
	if (rc->ctx)
		return true;
	snprintf(rc->err, sizeof(rc->err),
	         "Redis: not connected (closed after an earlier error, or never opened)");
	return false;
}

/* ttl_arg writes ttl_ms as a command argument; false (rc->err) when not positive. */
static bool ttl_arg(redis_client *rc, long ttl_ms, char *buf, size_t len)
{
	if (ttl_ms <= 0) {
		snprintf(rc->err, sizeof(rc->err), "Redis: invalid time to live %ld ms", ttl_ms);
		return false;
	}
	snprintf(buf, len, "%ld", ttl_ms);
	return true;
}

/* next_reply returns the next reply of the pipeline, NULL on an I/O error. */
static redisReply *next_reply(redis_client *rc)
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
 * status_ok checks the reply of a one-off command (AUTH, SELECT, PING): a
 * status is success; NULL (I/O error) or anything else fails. Frees reply.
 */
static bool status_ok(redis_client *rc, const char *what, redisReply *reply)
{
	bool ok;

	if (!reply)
		return fail(rc, what, NULL);
	ok = reply->type == REDIS_REPLY_STATUS || fail(rc, what, reply);
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
	ok = status_ok(rc, "AUTH", reply);
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
		return status_ok(rc, "SELECT", redisCommand(rc->ctx, "SELECT %d", cfg->db));
	if (cfg->user || cfg->password)
		return true;
	if (status_ok(rc, "PING", redisCommand(rc->ctx, "PING")))
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
		return fail(rc, NULL, NULL);
	}
	if (redisSetTimeout(c, tv) != REDIS_OK)
		return fail(rc, "setting the timeout", NULL);
	if (redisEnableKeepAlive(c) != REDIS_OK)
		return fail(rc, "enabling TCP keepalives", NULL);
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
 * set_nx_many sends SET key token NX PX ttl for the n keys in one pipeline
 * and reads the n replies: "OK" taken, nil held by someone else. what
 * names the operation in messages ("lock", "lease").
 */
static bool set_nx_many(redis_client *rc, char *const *keys, size_t n, long ttl_ms, bool *acquired,
                        const char *what)
{
	char ttl[24], msg[160];
	size_t i;

	if (!connected(rc) || !ttl_arg(rc, ttl_ms, ttl, sizeof(ttl)))
		return false;
	for (i = 0; i < n; i++) {
		acquired[i] = false;
		if (redisAppendCommand(rc->ctx, "SET %s %s NX PX %s", keys[i], rc->token, ttl) !=
		    REDIS_OK)
			return fail(rc, what, NULL);
	}
	for (i = 0; i < n; i++) {
		redisReply *reply = next_reply(rc);
		bool ok = true;

		snprintf(msg, sizeof(msg), "%s %.120s", what, keys[i]);
		if (!reply)
			return fail(rc, msg, NULL);
		if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0)
			acquired[i] = true;
		else if (reply->type != REDIS_REPLY_NIL)
			ok = fail(rc, msg, reply);
		freeReplyObject(reply);
		if (!ok)
			return false;
	}
	return true;
}

/*
 * redis_lock_many tries SET key token NX PX ttl_ms for the n keys in one
 * round trip; acquired[i] tells whether this owner now holds keys[i].
 * False on an error (rc->err), after which the connection is closed; also
 * false, connection kept, when ttl_ms is not positive.
 */
bool redis_lock_many(redis_client *rc, char *const *keys, size_t n, long ttl_ms, bool *acquired)
{
	return set_nx_many(rc, keys, n, ttl_ms, acquired, "lock");
}

/* script_load loads s with SCRIPT LOAD and keeps its SHA1. */
static bool script_load(redis_client *rc, redis_script *s)
{
	char what[64];
	redisReply *reply = redisCommand(rc->ctx, "SCRIPT LOAD %s", s->body);
	bool ok = true;

	snprintf(what, sizeof(what), "SCRIPT LOAD %s", s->name);
	if (!reply)
		return fail(rc, what, NULL);
	if (reply->type == REDIS_REPLY_STRING && reply->len == sizeof(s->sha) - 1)
		memcpy(s->sha, reply->str, sizeof(s->sha));
	else
		ok = fail(rc, what, reply);
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
			return fail(rc, s->name, NULL);
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
		redisReply *reply = next_reply(rc);
		bool ok = true;

		snprintf(what, sizeof(what), "%s %.120s", s->name, keys[i]);
		if (!reply)
			return fail(rc, what, NULL);
		if (reply->type == REDIS_REPLY_INTEGER && results)
			results[i] = reply->integer;
		else if (reply->type == REDIS_REPLY_ERROR && noscript &&
		         strncmp(reply->str, "NOSCRIPT", 8) == 0)
			*noscript = true;
		else if (reply->type != REDIS_REPLY_INTEGER)
			ok = fail(rc, what, reply);
		freeReplyObject(reply);
		if (!ok)
			return false;
	}
	return true;
}

/*
 * script_many runs s once per key in one round trip (loading it on first
 * use), all again by EVAL if the server lacked it: both scripts give the
 * same answer when run twice. results[i] (may be NULL) gets each answer.
 */
static bool script_many(redis_client *rc, redis_script *s, char *const *keys, size_t n,
                        const char *arg, long long *results)
{
	bool noscript = false;

	if (!connected(rc))
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
 * redis_unlock_many deletes those of the n keys this owner holds (compare-
 * and-delete), in one round trip; keys held by others or gone are left.
 * False on an error (rc->err), after which the connection is closed.
 */
bool redis_unlock_many(redis_client *rc, char *const *keys, size_t n)
{
	return script_many(rc, &unlock_script, keys, n, NULL, NULL);
}

bool redis_lease_key(char *buf, size_t len, const char *dep)
{
	if (!dep || !*dep || strlen(dep) + sizeof(LEASE_PREFIX) > len)
		return false;
	snprintf(buf, len, LEASE_PREFIX "%s", dep);
	return true;
}

/* lease_key writes ecoloweb:lease:<dep> into buf; false (rc->err) on a bad dep. */
static bool lease_key(redis_client *rc, const char *dep, char *buf, size_t len)
{
	if (redis_lease_key(buf, len, dep))
		return true;
	snprintf(rc->err, sizeof(rc->err), "Redis: invalid département for a lease");
	return false;
}

/* copy_holder copies a token into the caller's holder buffer (may be NULL). */
static void copy_holder(char *holder, size_t holderlen, const char *token)
{
	if (holder && holderlen > 0)
		snprintf(holder, holderlen, "%s", token);
}

/*
 * get_token reads key (GET) into buf, "" when it does not exist; *mine
 * (when not NULL) tells whether it holds this owner's token, whole.
 */
static bool get_token(redis_client *rc, const char *key, char *buf, size_t len, bool *mine)
{
	char what[160];
	redisReply *reply;
	bool ok = true;

	snprintf(what, sizeof(what), "GET %.120s", key);
	buf[0] = '\0';
	if (mine)
		*mine = false;
	if (!connected(rc))
		return false;
	if (!(reply = redisCommand(rc->ctx, "GET %s", key)))
		return fail(rc, what, NULL);
	if (reply->type == REDIS_REPLY_STRING) {
		snprintf(buf, len, "%.*s", (int)(reply->len < len ? reply->len : len - 1),
		         reply->str);
		if (mine)
			*mine = strlen(rc->token) == reply->len &&
			        memcmp(rc->token, reply->str, reply->len) == 0;
	} else if (reply->type != REDIS_REPLY_NIL) {
		ok = fail(rc, what, reply);
	}
	freeReplyObject(reply);
	return ok;
}

/* lease_renew_key extends key to ttl_ms if it holds this owner's token (*renewed). */
static bool lease_renew_key(redis_client *rc, char *key, long ttl_ms, bool *renewed)
{
	char ttl[24];
	long long res = 0;

	*renewed = false;
	if (!ttl_arg(rc, ttl_ms, ttl, sizeof(ttl)) ||
	    !script_many(rc, &renew_script, &key, 1, ttl, &res))
		return false;
	*renewed = res == 1;
	return true;
}

/*
 * redis_lease_acquire takes ecoloweb:lease:<dep> for ttl_ms: 1 when taken
 * (or already held by this owner: then extended to ttl_ms), 0 when another
 * owner holds it (its token copied into holder), -1 on an error (rc->err).
 * A lease that expires between the SET and the GET is tried again.
 */
int redis_lease_acquire(redis_client *rc, const char *dep, long ttl_ms, char *holder,
                        size_t holderlen)
{
	char key[96], cur[256] = "";
	char *keys[1] = {key};
	bool got, mine;
	int attempt;

	copy_holder(holder, holderlen, "");
	if (!lease_key(rc, dep, key, sizeof(key)))
		return -1;
	for (attempt = 0; attempt < 3; attempt++) {
		if (!set_nx_many(rc, keys, 1, ttl_ms, &got, "lease"))
			return -1;
		if (got)
			return 1;
		if (!get_token(rc, key, cur, sizeof(cur), &mine))
			return -1;
		if (mine && !lease_renew_key(rc, key, ttl_ms, &got))
			return -1;
		if (mine && got)
			return 1;
		if (!mine && cur[0])
			break;
	}
	copy_holder(holder, holderlen, cur);
	return 0;
}

/*
 * redis_lease_renew extends the lease of dep to ttl_ms if this owner still
 * holds it. False when it does not (rc->err says so, the connection stays
 * open) or on an error (rc->err, connection closed: rc->ctx is NULL).
 */
bool redis_lease_renew(redis_client *rc, const char *dep, long ttl_ms)
{
	char key[96];
	bool renewed;

	if (!lease_key(rc, dep, key, sizeof(key)) || !lease_renew_key(rc, key, ttl_ms, &renewed))
		return false;
	if (!renewed)
		snprintf(rc->err, sizeof(rc->err),
		         "Redis: the lease of département %.32s is no longer held by this launch "
		         "(expired, or taken by another)",
		         dep);
	return renewed;
}

/*
 * redis_lease_release deletes the lease of dep if this owner holds it
 * (compare-and-delete): true when this owner no longer holds it (deleted,
 * or held by another / free: left as is), false on an error (rc->err).
 */
bool redis_lease_release(redis_client *rc, const char *dep)
{
	char key[96];
	char *keys[1] = {key};

	return lease_key(rc, dep, key, sizeof(key)) &&
	       script_many(rc, &unlock_script, keys, 1, NULL, NULL);
}

/* redis_lease_holder reads the token holding the lease of dep ("" when free); false on error. */
bool redis_lease_holder(redis_client *rc, const char *dep, char *holder, size_t holderlen)
{
	char key[96], cur[256];

	copy_holder(holder, holderlen, "");
	if (!lease_key(rc, dep, key, sizeof(key)) || !get_token(rc, key, cur, sizeof(cur), NULL))
		return false;
	copy_holder(holder, holderlen, cur);
	return true;
}

/* ARGV[1]: the dead holder's token, ARGV[2]: ours, ARGV[3]: the time to live in ms */
/*
 * eval_flag sends one command (a rare EVAL) whose reply is 1 or 0: 1 yes,
 * 0 no, -1 on an error (rc->err, the connection closed).
 */
static int eval_flag(redis_client *rc, const char *what, const char *fmt, ...)
{
	va_list ap;
	int got = -1;

	va_start(ap, fmt);
	redisReply *reply = redisvCommand(rc->ctx, fmt, ap);
	va_end(ap);
	if (!reply) {
		fail(rc, what, NULL);
		return -1;
	}
	if (reply->type == REDIS_REPLY_INTEGER)
		got = reply->integer == 1;
	else
		fail(rc, what, reply);
	freeReplyObject(reply);
	return got;
}

static const char take_over_body[] =
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 else return 0 end";

/*
 * take_over_key replaces key by this owner's token if it still holds dead
 * (compare-and-set: an owner that took it meanwhile keeps it). 1 taken, 0
 * not, -1 on an error (rc->err). Rare: the script is sent by EVAL.
 */
static int take_over_key(redis_client *rc, const char *key, const char *dead, long ttl_ms,
                         const char *what)
{
	char ttl[24];

	if (!connected(rc) || !ttl_arg(rc, ttl_ms, ttl, sizeof(ttl)))
		return -1;
	return eval_flag(rc, what, "EVAL %s 1 %s %s %s %s", take_over_body, key, dead, rc->token,
	                 ttl);
}

/* redis_lease_take_over gives the lease of dep to this owner if it still holds dead. */
int redis_lease_take_over(redis_client *rc, const char *dep, const char *dead, long ttl_ms)
{
	char key[96];

	if (!lease_key(rc, dep, key, sizeof(key)))
		return -1;
	return take_over_key(rc, key, dead, ttl_ms, "lease take-over");
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
			return fail(rc, "GET of the lock holders", NULL);
		sent += !acquired[i];
	}
	for (size_t i = 0; i < n && sent > 0; i++) {
		redisReply *reply = NULL;
		if (acquired[i])
			continue;
		sent--;
		if (redisGetReply(rc->ctx, (void **)&reply) != REDIS_OK || !reply)
			return fail(rc, "GET of the lock holders", NULL);
		if (reply->type == REDIS_REPLY_STRING)
			snprintf(holders[i], sizeof(holders[i]), "%.*s",
			         (int)(reply->len < 255 ? reply->len : 255), reply->str);
		else if (reply->type != REDIS_REPLY_NIL && ok)
			ok = fail(rc, "GET of the lock holders", reply);
		freeReplyObject(reply);
	}
	return ok;
}

bool redis_lock_take_over_dead(redis_client *rc, char *const *keys, size_t n, long ttl_ms,
                               bool *acquired)
{
	char(*holders)[256] = calloc(n + 1, sizeof(*holders));
	bool ok = holders && connected(rc) && read_holders(rc, keys, n, acquired, holders);

	for (size_t i = 0; ok && i < n; i++) {
		if (!holders[i][0] || !owner_token_dead(holders[i]))
			continue;
		int got = take_over_key(rc, keys[i], holders[i], ttl_ms, "lock take-over");
		ok = got >= 0;
		acquired[i] = got == 1;
	}
	free(holders);
	return ok;
}

/* release_if_held deletes key if dead still holds it (compare-and-delete with dead's token). */
static int release_if_held(redis_client *rc, const char *key, const char *dead)
{
	return eval_flag(rc, "release of a dead owner's lock", "EVAL %s 1 %s %s",
	                 unlock_script.body, key, dead);
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
	bool ok = connected(rc);

	*released = 0;
	do {
		redisReply *reply = ok ? redisCommand(rc->ctx, "SCAN %s MATCH %s* COUNT 1000",
		                                      cursor, REDIS_LOCK_PREFIX)
		                       : NULL;
		if (ok && (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
		           reply->element[0]->type != REDIS_REPLY_STRING ||
		           reply->element[1]->type != REDIS_REPLY_ARRAY)) {
			ok = fail(rc, "SCAN of the locks", reply);
		} else if (ok) {
			snprintf(cursor, sizeof(cursor), "%s", reply->element[0]->str);
			ok = release_dead_page(rc, reply->element[1], released);
		}
		if (reply)
			freeReplyObject(reply);
	} while (ok && strcmp(cursor, "0") != 0);
	return ok;
}

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

	if (!decision_key(rc, launch_id, key, sizeof(key)) || !connected(rc))
		return false;
	snprintf(what, sizeof(what), "SET %s", key);
	return status_ok(rc, what, redisCommand(rc->ctx, "SET %s %s EX %ld", key, decision, ttl_s));
}

bool redis_decision_get(redis_client *rc, const char *launch_id, char *buf, size_t len)
{
	char key[96];

	buf[0] = '\0';
	return decision_key(rc, launch_id, key, sizeof(key)) && get_token(rc, key, buf, len, NULL);
}

bool redis_decision_delete(redis_client *rc, const char *launch_id)
{
	char key[96];
	redisReply *reply;

	if (!decision_key(rc, launch_id, key, sizeof(key)) || !connected(rc))
		return false;
	if (!(reply = redisCommand(rc->ctx, "DEL %s", key)))
		return fail(rc, "DEL decision", NULL);
	bool ok = reply->type == REDIS_REPLY_INTEGER || fail(rc, "DEL decision", reply);
	freeReplyObject(reply);
	return ok;
}
