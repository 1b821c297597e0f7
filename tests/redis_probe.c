/*
 * tests/redis_probe.c
 *     Drives src/redis_client.c against a real Redis for tests/t_redis.sh:
 *     `redis_probe URL PHASE` runs one scenario, prints a PASS or FAIL line
 *     per check (and "err: ..." lines the script asserts on), and exits 0
 *     only when every check passed. Phases:
 *
 *       basic   two owners A and B: locks, unlock by the wrong owner, TTL
 *               expiry, NOSCRIPT fallback, leases, error replies and a
 *               connection killed by the server, the sweep of the locks
 *               of dead processes (Redis without password)
 *       gone    connects, prints READY, waits for a line on stdin (the
 *               script stops Redis meanwhile), then every call must fail
 *       down    Redis is stopped: connecting and every call must fail
 *       auth    connecting (AUTH, SELECT) and a lock/lease round trip work
 *       noauth  connecting must fail (wrong or missing password)
 *
 *     A raw hiredis connection (no password) looks at and tampers with the
 *     keys behind the client's back.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis.h>

#include "config.h"
#include "redis_client.h"
#include "redis_leases.h"
#include "redis_locks.h"

static int failures;

/* check prints PASS or FAIL and the check's name (with rc's error when it failed). */
static bool check(bool ok, const redis_client *rc, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok && rc && rc->err[0])
		printf(" [err: %s]", rc->err);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
	return ok;
}

/* check_err checks that a call failed with rc->err set, and prints the message. */
static void check_err(bool failed, const redis_client *rc, const char *name)
{
	check(failed && rc->err[0] != '\0', rc, "%s fails with a message", name);
	printf("err: %s\n", rc->err);
}

/* sleep_ms sleeps ms milliseconds. */
static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* raw_connect opens the probe's own hiredis connection to cfg's server (no AUTH). */
static redisContext *raw_connect(const redis_config *cfg)
{
	redisContext *c = redisConnect(cfg->host, cfg->port);

	if (!c || c->err) {
		fprintf(stderr, "redis_probe: raw connection failed: %s\n",
		        c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return NULL;
	}
	if (cfg->db != 0) {
		redisReply *r = redisCommand(c, "SELECT %d", cfg->db);

		freeReplyObject(r);
	}
	return c;
}

/* raw_get returns key's string value ("" when absent) in buf. */
static const char *raw_get(redisContext *c, const char *key, char *buf, size_t len)
{
	redisReply *r = redisCommand(c, "GET %s", key);

	buf[0] = '\0';
	if (r && r->type == REDIS_REPLY_STRING)
		snprintf(buf, len, "%s", r->str);
	freeReplyObject(r);
	return buf;
}

/* raw_int runs a command answering an integer (PTTL, EXISTS, ...); -99 otherwise. */
static long long raw_int(redisContext *c, const char *cmd, const char *key)
{
	redisReply *r = redisCommand(c, "%s %s", cmd, key);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -99;

	freeReplyObject(r);
	return v;
}

/* raw_ok runs an argument-less command and tells whether it did not fail. */
static bool raw_ok(redisContext *c, const char *cmd)
{
	redisReply *r = redisCommand(c, cmd);
	bool ok = r && r->type != REDIS_REPLY_ERROR;

	freeReplyObject(r);
	return ok;
}

/* connect_as connects rc with token (NULL: the default one), reporting the check. */
static bool connect_as(redis_client *rc, const redis_config *cfg, const char *token)
{
	return check(redis_client_connect(rc, cfg, token), rc, "connect as %s",
	             token ? token : "(default token)");
}

/* phase_locks: locks taken, refused, released only by their owner. */
static void phase_locks(redis_client *a, redis_client *b, redisContext *raw, char **k)
{
	bool got[3] = {false, false, false};
	char buf[256];
	long long ttl;
	bool ok;

	check(redis_lock_many(a, k, 2, 10000, got) && got[0] && got[1], a, "A locks k0 k1");
	ttl = raw_int(raw, "PTTL", k[0]);
	check(ttl > 0 && ttl <= 10000, NULL, "k0 has a time to live (%lld ms)", ttl);
	check(strcmp(raw_get(raw, k[0], buf, sizeof(buf)), a->token) == 0, NULL,
	      "k0 holds A's token");
	ok = redis_lock_many(b, k, 3, 10000, got);
	check(ok && !got[0] && !got[1] && got[2], b, "B gets k2 only (%d %d %d)", got[0], got[1],
	      got[2]);
	check(redis_unlock_many(b, k, 2), b, "B's unlock of k0 k1 succeeds");
	check(strcmp(raw_get(raw, k[0], buf, sizeof(buf)), a->token) == 0 &&
	              strcmp(raw_get(raw, k[1], buf, sizeof(buf)), a->token) == 0,
	      NULL, "B's unlock left A's k0 k1");
	check(redis_unlock_many(a, k, 2), a, "A unlocks k0 k1");
	check(raw_int(raw, "EXISTS", k[0]) == 0 && raw_int(raw, "EXISTS", k[1]) == 0, NULL,
	      "k0 k1 are gone");
	check(raw_int(raw, "EXISTS", k[2]) == 1, NULL, "A's unlock did not touch B's k2");
	check(redis_lock_many(b, k, 1, 10000, got) && got[0], b, "B now locks k0");
	check(raw_ok(raw, "SCRIPT FLUSH"), NULL, "SCRIPT FLUSH");
	check(redis_unlock_many(b, k, 3), b, "B unlocks after SCRIPT FLUSH (NOSCRIPT -> EVAL)");
	check(raw_int(raw, "EXISTS", k[0]) == 0 && raw_int(raw, "EXISTS", k[2]) == 0, NULL,
	      "B's k0 k2 are gone");
	check(redis_unlock_many(a, k, 0) && redis_lock_many(a, k, 0, 1000, got), a,
	      "zero keys is a no-op");
}

/* phase_expiry: an expired lock is taken by another, and its former owner cannot delete it. */
static void phase_expiry(redis_client *a, redis_client *b, redisContext *raw, char **k)
{
	bool got = false;
	char buf[256];

	check(redis_lock_many(a, k + 1, 1, 200, &got) && got, a, "A locks k1 for 200 ms");
	check(redis_lock_many(b, k + 1, 1, 10000, &got) && !got, b, "B cannot lock k1 yet");
	sleep_ms(300);
	check(redis_lock_many(b, k + 1, 1, 10000, &got) && got, b, "B locks k1 after expiry");
	check(redis_unlock_many(a, k + 1, 1), a, "A's late unlock succeeds");
	check(strcmp(raw_get(raw, k[1], buf, sizeof(buf)), b->token) == 0, NULL,
	      "A's late unlock left B's k1");
	check(redis_unlock_many(b, k + 1, 1) && raw_int(raw, "EXISTS", k[1]) == 0, b,
	      "B unlocks k1");
	check(!redis_lock_many(a, k, 1, 0, &got) && a->err[0] && a->ctx, a,
	      "a TTL of 0 is refused, connection kept");
	printf("err: %s\n", a->err);
}

/* phase_leases: acquire, refuse, renew, release, expiry. */
static void phase_leases(redis_client *a, redis_client *b, redisContext *raw, const char *dep)
{
	char holder[256], key[96];
	int r;

	snprintf(key, sizeof(key), "ecoloweb:lease:%s", dep);
	check(redis_lease_acquire(a, dep, 1000, holder, sizeof(holder)) == 1 && !holder[0], a,
	      "A acquires the lease");
	check(redis_lease_acquire(a, dep, 1000, holder, sizeof(holder)) == 1, a,
	      "A acquires it again (already its own)");
	r = redis_lease_acquire(b, dep, 1000, holder, sizeof(holder));
	check(r == 0 && strcmp(holder, a->token) == 0, b, "B is refused, holder = A's token (%s)",
	      holder);
	check(redis_lease_holder(b, dep, holder, sizeof(holder)) && strcmp(holder, a->token) == 0,
	      b, "lease_holder says A");
	check(redis_lease_renew(a, dep, 60000) && raw_int(raw, "PTTL", key) > 1000, a,
	      "A renews the lease to 60 s");
	check(!redis_lease_renew(b, dep, 60000) && b->ctx && b->err[0], b,
	      "B cannot renew it (connection kept)");
	printf("err: %s\n", b->err);
	check(redis_lease_release(b, dep), b, "B's release succeeds");
	check(redis_lease_holder(b, dep, holder, sizeof(holder)) && strcmp(holder, a->token) == 0,
	      b, "B's release left A's lease");
	check(redis_lease_release(a, dep), a, "A releases the lease");
	check(redis_lease_holder(a, dep, holder, sizeof(holder)) && holder[0] == '\0', a,
	      "the lease is free");
	check(!redis_lease_renew(a, dep, 1000), a, "A cannot renew a released lease");
	check(redis_lease_acquire(a, dep, 200, holder, sizeof(holder)) == 1, a,
	      "A acquires it for 200 ms");
	sleep_ms(300);
	check(redis_lease_acquire(b, dep, 10000, holder, sizeof(holder)) == 1, b,
	      "B acquires it after expiry");
	check(redis_lease_release(a, dep) && redis_lease_holder(a, dep, holder, sizeof(holder)) &&
	              strcmp(holder, b->token) == 0,
	      a, "A's late release left B's lease");
	check(redis_lease_release(b, dep), b, "B releases it");
}

/* phase_errors: error replies and a killed connection close the client with a message. */
static void phase_errors(redis_client *a, redis_client *b, const redis_config *cfg,
                         redisContext *raw, char **k)
{
	char dep[32], key[96], holder[64];
	char *keys[1] = {key};
	bool got = false;
	redisReply *r;

	snprintf(dep, sizeof(dep), "wt%ld", (long)getpid());
	snprintf(key, sizeof(key), "ecoloweb:lease:%s", dep);
	r = redisCommand(raw, "RPUSH %s %s", key, "not a string");
	freeReplyObject(r);
	check_err(!redis_lease_holder(a, dep, holder, sizeof(holder)) && !a->ctx, a,
	          "lease_holder on a list (WRONGTYPE)");
	check(strstr(a->err, "WRONGTYPE") != NULL, a, "the message has Redis' error");
	check_err(!redis_lock_many(a, k, 1, 1000, &got), a, "lock after the connection closed");
	connect_as(a, cfg, a->token);
	check_err(redis_lease_acquire(a, dep, 1000, holder, sizeof(holder)) == -1 && !a->ctx, a,
	          "lease_acquire on a list");
	connect_as(a, cfg, a->token);
	check_err(!redis_unlock_many(a, keys, 1) && !a->ctx, a, "unlock of a list (script error)");
	connect_as(a, cfg, a->token);
	check(raw_ok(raw, "CLIENT KILL TYPE normal SKIPME yes"), NULL, "server kills A and B");
	check_err(!redis_lock_many(a, k, 2, 1000, (bool[2]){false, false}) && !a->ctx, a,
	          "lock on a killed connection");
	check_err(redis_lease_acquire(b, dep, 1000, holder, sizeof(holder)) == -1 && !b->ctx, b,
	          "lease_acquire on a killed connection");
	raw_int(raw, "DEL", key);
}

/* dead_pid returns the pid of a child that has exited and been reaped. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

/* set_lock sets lock key i of the phase (prefix) to holder, straight through raw. */
static void set_lock(redisContext *raw, const char *prefix, int i, const char *holder)
{
	freeReplyObject(redisCommand(raw, "SET %s%d %s PX 60000", prefix, i, holder));
}

/*
 * phase_dead_locks: redis_locks_release_dead deletes the locks of dead
 * processes of this machine over several SCAN pages, and only those.
 */
static void phase_dead_locks(redis_client *a, redisContext *raw)
{
	enum { N_DEAD = 2500 };
	char host[64] = "", prefix[96], dead[128], live[128], other[128], buf[128];
	size_t released = 0;

	gethostname(host, sizeof(host) - 1);
	snprintf(prefix, sizeof(prefix), REDIS_LOCK_PREFIX "probe-dead:%ld:", (long)getpid());
	snprintf(dead, sizeof(dead), "%s:%ld:launch", host, (long)dead_pid());
	snprintf(live, sizeof(live), "%s:%ld:launch", host, (long)getpid());
	snprintf(other, sizeof(other), "not-%s:%ld:launch", host, (long)dead_pid());
	for (int i = 0; i < N_DEAD; i++)
		set_lock(raw, prefix, i, dead);
	set_lock(raw, prefix, N_DEAD, live);
	set_lock(raw, prefix, N_DEAD + 1, other);
	bool ok = redis_locks_release_dead(a, &released);
	check(ok && released == N_DEAD, a, "the %d locks of a dead process are released (%zu)",
	      N_DEAD, released);
	snprintf(buf, sizeof(buf), "%s%d", prefix, N_DEAD - 1);
	check(raw_int(raw, "EXISTS", buf) == 0, NULL, "a dead process's lock is gone");
	snprintf(buf, sizeof(buf), "%s%d", prefix, N_DEAD);
	check(raw_int(raw, "EXISTS", buf) == 1, NULL, "a live process's lock is kept");
	snprintf(buf, sizeof(buf), "%s%d", prefix, N_DEAD + 1);
	check(raw_int(raw, "EXISTS", buf) == 1, NULL, "another machine's lock is kept");
	ok = redis_locks_release_dead(a, &released);
	check(ok && released == 0, a, "a second sweep releases nothing (%zu)", released);
	for (int i = N_DEAD; i < N_DEAD + 2; i++)
		freeReplyObject(redisCommand(raw, "DEL %s%d", prefix, i));
}

/* phase_basic runs the two-owner scenario. */
static void phase_basic(const redis_config *cfg)
{
	redis_client a, b;
	char ta[64], tb[64], dep[32], names[3][64];
	char *k[3] = {names[0], names[1], names[2]};
	redisContext *raw = raw_connect(cfg);
	int i;

	if (!check(raw != NULL, NULL, "raw connection"))
		return;
	snprintf(ta, sizeof(ta), "probe-A:%ld", (long)getpid());
	snprintf(tb, sizeof(tb), "probe-B:%ld", (long)getpid());
	snprintf(dep, sizeof(dep), "p%ld", (long)getpid());
	for (i = 0; i < 3; i++)
		snprintf(names[i], sizeof(names[i]), "ecoloweb:lock:probe:%ld:%d", (long)getpid(),
		         i);
	/* '&', not '&&': both connect (and so initialize) whatever happens */
	if (connect_as(&a, cfg, ta) & connect_as(&b, cfg, tb)) {
		phase_locks(&a, &b, raw, k);
		phase_expiry(&a, &b, raw, k);
		phase_leases(&a, &b, raw, dep);
		phase_dead_locks(&a, raw);
		phase_errors(&a, &b, cfg, raw, k);
	}
	redis_client_close(&a);
	redis_client_close(&b);
	redisFree(raw);
}

/* all_calls_fail checks that every call on rc fails with a message. */
static void all_calls_fail(redis_client *rc)
{
	char *keys[1] = {"ecoloweb:lock:probe:down"};
	char holder[64];
	bool got = false;

	check_err(!redis_lock_many(rc, keys, 1, 1000, &got) && !rc->ctx, rc, "lock");
	check_err(!redis_unlock_many(rc, keys, 1), rc, "unlock");
	check_err(redis_lease_acquire(rc, "29", 1000, holder, sizeof(holder)) == -1, rc,
	          "lease_acquire");
	check_err(!redis_lease_renew(rc, "29", 1000), rc, "lease_renew");
	check_err(!redis_lease_release(rc, "29"), rc, "lease_release");
	check_err(!redis_lease_holder(rc, "29", holder, sizeof(holder)), rc, "lease_holder");
}

/* phase_gone connects, waits for the script to stop Redis, then expects failures. */
static void phase_gone(const redis_config *cfg)
{
	redis_client rc;
	char line[16];
	char *keys[1] = {"ecoloweb:lock:probe:gone"};
	bool got = false;

	if (!connect_as(&rc, cfg, "probe-gone"))
		return;
	check(redis_lock_many(&rc, keys, 1, 1000, &got) && got, &rc, "lock while Redis runs");
	printf("READY\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		fprintf(stderr, "redis_probe: no go on stdin, going on\n");
	all_calls_fail(&rc);
	check_err(!redis_client_connect(&rc, cfg, "probe-gone"), &rc, "reconnect");
	redis_client_close(&rc);
}

/* phase_down expects Redis to be stopped. */
static void phase_down(const redis_config *cfg)
{
	redis_client rc;

	check_err(!redis_client_connect(&rc, cfg, "probe-down") && !rc.ctx, &rc, "connect");
	all_calls_fail(&rc);
	redis_client_close(&rc);
}

/* phase_auth connects (AUTH, SELECT) and does a lock and lease round trip. */
static void phase_auth(const redis_config *cfg)
{
	redis_client rc;
	char *keys[1] = {"ecoloweb:lock:probe:auth"};
	char holder[64];
	bool got = false;

	if (!connect_as(&rc, cfg, NULL))
		return;
	printf("token: %s\n", rc.token);
	check(redis_lock_many(&rc, keys, 1, 5000, &got) && got, &rc, "lock");
	check(redis_unlock_many(&rc, keys, 1), &rc, "unlock");
	check(redis_lock_many(&rc, keys, 1, 5000, &got) && got, &rc, "lock again once unlocked");
	check(redis_unlock_many(&rc, keys, 1), &rc, "unlock again");
	check(redis_lease_acquire(&rc, "2A", 5000, holder, sizeof(holder)) == 1, &rc, "lease");
	check(redis_lease_renew(&rc, "2A", 5000), &rc, "renew");
	check(redis_lease_release(&rc, "2A"), &rc, "release");
	redis_client_close(&rc);
}

/* phase_noauth expects connecting to fail. */
static void phase_noauth(const redis_config *cfg)
{
	redis_client rc;

	check_err(!redis_client_connect(&rc, cfg, "probe-noauth") && !rc.ctx, &rc, "connect");
	redis_client_close(&rc);
}

/* main parses URL, runs PHASE; exit 0 only when every check passed. */
int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(const redis_config *cfg);
	} phases[] = {{"basic", phase_basic},
	              {"gone", phase_gone},
	              {"down", phase_down},
	              {"auth", phase_auth},
	              {"noauth", phase_noauth}};
	redis_config cfg;
	char err[256];
	size_t i;

	/* as the program does: a write to a reset connection must fail, not kill */
	signal(SIGPIPE, SIG_IGN);
	if (argc != 3) {
		fprintf(stderr, "usage: redis_probe URL basic|gone|down|auth|noauth\n");
		return 2;
	}
	if (!redis_url_parse(argv[1], &cfg, err, sizeof(err))) {
		fprintf(stderr, "redis_probe: %s\n", err);
		return 2;
	}
	for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		if (strcmp(argv[2], phases[i].name) == 0)
			break;
	if (i == sizeof(phases) / sizeof(phases[0])) {
		fprintf(stderr, "redis_probe: unknown phase %s\n", argv[2]);
		failures++;
	} else {
		phases[i].run(&cfg);
	}
	free(cfg.user);
	free(cfg.host);
	free(cfg.password);
	printf("%s: %d failure(s)\n", argv[2], failures);
	return failures == 0 ? 0 : 1;
}
