/*
 * coordinator/verdict.c
 *     Prepared transactions, with blocking calls, before and after the
 *     coordinator's loop: the start-up clean-up of what a dead launch
 *     prepared, the sweep of a failed launch's; and what a COMMIT PREPARED
 *     that fails means, shared with the loop's own (verdict_queue.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "launch.h"
#include "leases.h"
#include "log.h"
#include "owner_token.h"
#include "pgsql.h"
#include "redis_decision.h"
#include "redis_leases.h"
#include "verdict.h"

void verdict_gid(char *buf, size_t len, const char *launch_id, const char *dep)
{
	snprintf(buf, len, GID_PREFIX "%s-%s", launch_id, dep);
}

bool verdict_is_marker(const char *gid)
{
	size_t n = strlen(gid), m = strlen(MARKER_SUFFIX);

	return n > m && strcmp(gid + n - m, MARKER_SUFFIX) == 0;
}

/* connect_target opens the coordinator's own APiLos session (after the forks). */
static bool connect_target(pgconn *pg, const config *cfg)
{
	if (pg_connect(pg, cfg->target_conninfo, "TARGET", "import_ecoloweb_data/coordinator"))
		return true;
	log_error("cannot connect to the APiLos database (%s): %s", cfg->target_safe, pg->errmsg);
	return false;
}

#define PRESENCE_PREFIX "import_ecoloweb_data/launch/"

bool verdict_presence_open(pgconn *pg, const config *cfg, const char *launch_id)
{
	char app[64];

	snprintf(app, sizeof(app), PRESENCE_PREFIX "%s", launch_id);
	if (pg_connect(pg, cfg->target_conninfo, "TARGET", app))
		return true;
	log_error("cannot connect to the APiLos database (%s): %s", cfg->target_safe, pg->errmsg);
	return false;
}

/* gid_launch copies the launch id of gid (ecoloweb-<launch>-<dep>) into buf. */
static bool gid_launch(const char *gid, char *buf, size_t len)
{
	const char *dash = strrchr(gid, '-');
	size_t n = dash ? (size_t)(dash - gid) - strlen(GID_PREFIX) : 0;

	if (!dash || n == 0 || n >= len)
		return false;
	memcpy(buf, gid + strlen(GID_PREFIX), n);
	buf[n] = '\0';
	return true;
}

typedef enum lease_word { LEASE_SILENT, LEASE_ALIVE, LEASE_DEAD } lease_word;

/*
 * lease_says tells what the lease of gid's département says of gid's
 * launch: alive (it holds it, or Redis cannot tell), dead (it holds it, but
 * its coordinator's pid is gone from this machine) or nothing.
 */
static lease_word lease_says(redis_client *redis, const char *gid, const char *launch_id)
{
	char holder[256];
	const char *dash = strrchr(gid, '-');

	if (redis == NULL || redis->ctx == NULL)
		return LEASE_SILENT;
	/* cannot tell: leave it, never roll back a live launch's work */
	if (!redis_lease_holder(redis, dash + 1, holder, sizeof(holder)))
		return LEASE_ALIVE;
	const char *owner = strrchr(holder, ':');
	if (!owner || strcmp(owner + 1, launch_id) != 0)
		return LEASE_SILENT;
	return owner_token_dead(holder) ? LEASE_DEAD : LEASE_ALIVE;
}

/*
 * gid_owner_alive tells whether the launch that prepared gid still runs:
 * its presence session is connected, or it holds its département's lease.
 * A lease held by a pid dead on this machine outweighs the presence session,
 * which the server may not have ended yet when a killed launch is followed
 * by the next one at once.
 */
static bool gid_owner_alive(pgconn *pg, redis_client *redis, const char *gid)
{
	char launch_id[64], app[96];

	if (!gid_launch(gid, launch_id, sizeof(launch_id)))
		return false;
	/* a marker has no département, hence no lease: only the presence session tells */
	lease_word lease =
	        verdict_is_marker(gid) ? LEASE_SILENT : lease_says(redis, gid, launch_id);
	if (lease != LEASE_SILENT)
		return lease == LEASE_ALIVE;
	snprintf(app, sizeof(app), PRESENCE_PREFIX "%s", launch_id);
	const char *params[] = {app};
	PGresult *res =
	        pg_exec(pg, "launch presence",
	                "SELECT 1 FROM pg_stat_activity WHERE application_name = $1", 1, params);
	bool alive = res == NULL || PQntuples(res) > 0; /* cannot tell: alive */

	PQclear(res);
	return alive;
}

/* verdict_finish_sql: see verdict.h. */
char *verdict_finish_sql(PGconn *conn, const char *gid, bool commit)
{
	return pg_gid_sql(conn, commit ? "COMMIT PREPARED " : "ROLLBACK PREPARED ", gid);
}

/* verdict_prepare_sql: see verdict.h. */
char *verdict_prepare_sql(PGconn *conn, const char *gid)
{
	return pg_gid_sql(conn, "PREPARE TRANSACTION ", gid);
}

/*
 * The commit of a decided launch. Once the first COMMIT PREPARED went
 * through, rolling back the others would split the launch: every one is
 * retried on a new session until it succeeds, for COMMIT_RETRY_S, long
 * enough to ride out a restart of the APiLos server.
 */
#define COMMIT_RETRY_S 300.0
#define COMMIT_PAUSE_MAX_S 10.0

static void pause_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};

	nanosleep(&ts, NULL);
}

/* session_ready (re)opens the verdict session when it is closed or broken. */
static bool session_ready(verdict_session *s)
{
	if (s->pg.conn && PQstatus(s->pg.conn) == CONNECTION_OK)
		return true;
	pg_disconnect(&s->pg);
	if (pg_connect(&s->pg, s->cfg->target_conninfo, "TARGET", "import_ecoloweb_data/verdict"))
		return true;
	log_warn("cannot connect to the APiLos database (%s): %s", s->cfg->target_safe,
	         s->pg.errmsg);
	return false;
}

void verdict_session_init(verdict_session *s, const config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
}

void verdict_session_close(verdict_session *s)
{
	pg_disconnect(&s->pg);
}

/* verdict_retryable: see verdict.h. */
bool verdict_retryable(const pgconn *pg)
{
	return pg_sqlstate_is_connection(pg) || strncmp(pg->sqlstate, "57P", 3) == 0 ||
	       strncmp(pg->sqlstate, "53", 2) == 0;
}

/*
 * read_xid copies the transaction id of the prepared transaction gid into
 * xid ("" when it is not prepared): kept, it tells later what became of
 * gid once COMMIT PREPARED says that it no longer exists.
 */
static bool read_xid(verdict_session *s, const char *gid, char *xid, size_t len)
{
	const char *params[] = {gid};
	PGresult *res = pg_exec(&s->pg, "prepared transaction id", VERDICT_XID_SQL, 1, params);

	if (!res)
		return false;
	snprintf(xid, len, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return true;
}

const char VERDICT_XID_SQL[] = "SELECT transaction::text FROM pg_prepared_xacts WHERE gid = $1";

/*
 * VERDICT_XACT_STATUS_SQL: pg_xact_status of a 32-bit xid ($1), widened to
 * xid8 with the epoch of the server's next xid (the one before, when $1 is
 * above its low half: it was taken before the counter wrapped).
 */
const char VERDICT_XACT_STATUS_SQL[] =
        "WITH n AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS x,\n"
        "                  $1::bigint AS t)\n"
        "SELECT pg_xact_status(((((x >> 32) - CASE WHEN t > (x & 4294967295) THEN 1 ELSE 0 "
        "END)\n"
        "                        << 32) | t)::text::xid8) FROM n";

/*
 * verdict_commit_gone: see verdict.h. After a lost connection it is most
 * likely our own COMMIT that went through; otherwise someone else ended it.
 */
commit_outcome verdict_commit_gone(const char *gid, const char *xid, const char *status, bool lost)
{
	if (!xid[0]) {
		log_error("%s was no longer prepared when the commit began: cannot tell whether "
		          "it was committed or rolled back",
		          gid);
		return COMMIT_FAILED;
	}
	commit_outcome out =
	        status && strcmp(status, "committed") == 0 ? COMMIT_DONE : COMMIT_FAILED;

	if (out == COMMIT_DONE)
		log_info("%s (transaction %s) is committed: %s", gid, xid,
		         lost ? "the COMMIT PREPARED sent before the connection was lost went "
		                "through"
		              : "someone else committed it");
	else
		log_error("%s (transaction %s) is no longer prepared and was not committed: "
		          "status %s (rolled back by someone else?)",
		          gid, xid, status ? status : "unknown");
	return out;
}

/*
 * commit_gone: COMMIT PREPARED said gid does not exist (SQLSTATE 42704):
 * pg_xact_status tells what became of it.
 */
static commit_outcome commit_gone(verdict_session *s, const char *gid, const char *xid, bool lost)
{
	if (!xid[0])
		return verdict_commit_gone(gid, xid, NULL, lost);
	const char *params[] = {xid};
	PGresult *res = pg_exec(&s->pg, "transaction status", VERDICT_XACT_STATUS_SQL, 1, params);
	commit_outcome out = verdict_commit_gone(gid, xid, res ? pg_value(res, 0, 0) : NULL, lost);

	PQclear(res);
	return out;
}

/*
 * commit_try runs COMMIT PREPARED gid once: COMMIT_RETRY when the session
 * failed. *sent tells whether an earlier try may have reached the server.
 */
static commit_outcome commit_try(verdict_session *s, const char *gid, char *xid, size_t len,
                                 bool *sent)
{
	bool sent_before = *sent;

	if (!session_ready(s))
		return COMMIT_RETRY;
	if (!sent_before && !xid[0] && !read_xid(s, gid, xid, len))
		return verdict_retryable(&s->pg) ? COMMIT_RETRY : COMMIT_FAILED;
	char *sql = verdict_finish_sql(s->pg.conn, gid, true);
	if (!sql)
		return COMMIT_RETRY;
	s->pg.expected = "42704";
	*sent = true;
	bool ok = pg_exec_ok(&s->pg, "commit prepared", sql, 0, NULL);
	s->pg.expected = NULL;
	free(sql);
	if (ok)
		return COMMIT_DONE;
	if (strcmp(s->pg.sqlstate, "42704") == 0)
		return commit_gone(s, gid, xid, sent_before);
	return verdict_retryable(&s->pg) ? COMMIT_RETRY : COMMIT_FAILED;
}

void verdict_retry_init(commit_retry *r)
{
	r->deadline = mono_s() + COMMIT_RETRY_S;
	r->pause = 0.5;
	r->attempt = 0;
}

double verdict_retry_next(commit_retry *r, const char *gid)
{
	double pause = r->pause;

	if (mono_s() + pause > r->deadline) {
		log_error("COMMIT PREPARED %s: gave up after %d attempts in %.0f s; it stays "
		          "prepared, the next launch's clean-up commits it",
		          gid, r->attempt, COMMIT_RETRY_S);
		return -1;
	}
	log_warn("COMMIT PREPARED %s: attempt %d failed, retrying on a new session in %.1f s", gid,
	         r->attempt, pause);
	r->pause = pause * 2 < COMMIT_PAUSE_MAX_S ? pause * 2 : COMMIT_PAUSE_MAX_S;
	return pause;
}

commit_outcome verdict_commit(verdict_session *s, const char *gid)
{
	char xid[32] = "";
	bool sent = false;
	commit_retry r;

	verdict_retry_init(&r);
	for (;;) {
		r.attempt++;
		commit_outcome out = commit_try(s, gid, xid, sizeof(xid), &sent);
		if (out != COMMIT_RETRY)
			return out;
		pg_disconnect(&s->pg);
		double pause = verdict_retry_next(&r, gid);
		if (pause < 0)
			return COMMIT_FAILED;
		pause_s(pause);
	}
}

void verdict_forget_decision(redis_client *redis, const char *launch_id)
{
	if (redis && redis->ctx && !redis_decision_delete(redis, launch_id))
		log_warn("cannot delete the decision of launch %s in Redis (it expires): %s",
		         launch_id, redis->err);
}

/* listed tells whether gid is one of the prepared transactions of listing. */
static bool listed(const PGresult *listing, const char *gid)
{
	for (int i = 0; i < PQntuples(listing); i++) {
		if (strcmp(PQgetvalue(listing, i, 0), gid) == 0)
			return true;
	}
	return false;
}

/* decision_of reads the decision recorded for gid's launch: 1 commit, 0 none, -1 cannot tell. */
static int decision_of(const PGresult *listing, redis_client *redis, const char *gid)
{
	char launch_id[64], decision[32], marker[96];

	if (!gid_launch(gid, launch_id, sizeof(launch_id)))
		return 0;
	/* without Redis, the decision is a prepared marker (verdict.h), listed with the rest */
	verdict_gid(marker, sizeof(marker), launch_id, MARKER_DEP);
	if (listed(listing, marker))
		return 1;
	if (redis == NULL || redis->ctx == NULL)
		return 0;
	if (!redis_decision_get(redis, launch_id, decision, sizeof(decision)))
		return -1;
	return strcmp(decision, "commit") == 0;
}

/*
 * forget_when_done deletes the decision of gid's launch once none of its
 * prepared transactions is left: it has been carried out.
 */
static void forget_when_done(verdict_session *s, redis_client *redis, const char *gid)
{
	char launch_id[64], pattern[80];

	if (!gid_launch(gid, launch_id, sizeof(launch_id)) || !session_ready(s))
		return;
	snprintf(pattern, sizeof(pattern), GID_PREFIX "%s-%%", launch_id);
	const char *params[] = {pattern};
	PGresult *res =
	        pg_exec(&s->pg, "prepared transactions of a launch",
	                "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE $1", 1, params);
	if (res && strcmp(PQgetvalue(res, 0, 0), "0") == 0)
		verdict_forget_decision(redis, launch_id);
	PQclear(res);
}

/*
 * cleanup_marker ends the COMMIT decision marker of a dead launch once
 * every prepared transaction of that launch is committed (the markers come
 * last): while one is left, the marker is what commits it.
 */
static bool cleanup_marker(const config *cfg, pgconn *pg, const char *gid)
{
	char launch_id[64], pattern[80];

	if (!gid_launch(gid, launch_id, sizeof(launch_id)))
		return true;
	snprintf(pattern, sizeof(pattern), GID_PREFIX "%s-%%", launch_id);
	const char *params[] = {pattern, gid};
	PGresult *res = pg_exec(pg, "prepared transactions of a launch",
	                        "SELECT count(*) FROM pg_prepared_xacts\n"
	                        "WHERE gid LIKE $1 AND gid <> $2",
	                        2, params);
	bool alone = res && strcmp(PQgetvalue(res, 0, 0), "0") == 0;

	PQclear(res);
	if (!alone) {
		log_warn("COMMIT decision %s left: some of its launch is still prepared", gid);
		return res != NULL;
	}
	log_warn("removing the COMMIT decision %s of a launch that died: carried out", gid);
	char *one[] = {(char *)gid};
	return verdict_finish_prepared(cfg, one, 1, false);
}

/*
 * cleanup_one ends gid, left by a dead launch: committed when that launch
 * had decided COMMIT (some of its départements may be committed already),
 * else rolled back; left alone when Redis cannot say which.
 */
static bool cleanup_one(const config *cfg, pgconn *pg, const PGresult *listing, redis_client *redis,
                        verdict_session *s, const char *gid)
{
	if (verdict_is_marker(gid))
		return cleanup_marker(cfg, pg, gid);
	int decision = decision_of(listing, redis, gid);

	if (decision < 0) {
		log_warn("prepared transaction %s left by a launch that died: its decision cannot "
		         "be read from Redis (%s), left as it is",
		         gid, redis->err);
		return true;
	}
	if (decision == 1) {
		log_warn("committing prepared transaction %s left by a launch that died after "
		         "deciding COMMIT",
		         gid);
		if (verdict_commit(s, gid) != COMMIT_DONE)
			return false;
		forget_when_done(s, redis, gid);
		return true;
	}
	log_warn("rolling back prepared transaction %s left by a launch that died", gid);
	char *one[] = {(char *)gid};
	return verdict_finish_prepared(cfg, one, 1, false);
}

bool verdict_cleanup(const config *cfg, redis_client *redis)
{
	pgconn pg;

	if (!connect_target(&pg, cfg))
		return false;
	PGresult *res = pg_exec(&pg, "prepared transactions",
	                        "SELECT gid FROM pg_prepared_xacts\n"
	                        "WHERE database = current_database() AND gid LIKE 'ecoloweb-%'\n"
	                        "ORDER BY gid LIKE '%" MARKER_SUFFIX "'", /* markers last */
	                        0, NULL);
	bool ok = res != NULL;
	verdict_session vs;

	verdict_session_init(&vs, cfg);
	for (int i = 0; res && i < PQntuples(res); i++) {
		const char *gid = PQgetvalue(res, i, 0);
		if (!gid_owner_alive(&pg, redis, gid))
			ok = cleanup_one(cfg, &pg, res, redis, &vs, gid) && ok;
	}
	PQclear(res);
	verdict_session_close(&vs);
	pg_disconnect(&pg);
	return ok;
}

bool verdict_finish_prepared(const config *cfg, char *const *gids, size_t n, bool commit)
{
	pgconn pg;
	bool ok = true;

	if (n == 0)
		return true;
	if (!connect_target(&pg, cfg))
		return false;
	for (size_t i = 0; i < n; i++) {
		char *sql = verdict_finish_sql(pg.conn, gids[i], commit);
		if (!sql || !pg_exec_ok(&pg, commit ? "commit prepared" : "rollback prepared", sql,
		                        0, NULL)) {
			log_error("%s of %s failed",
			          commit ? "COMMIT PREPARED" : "ROLLBACK PREPARED", gids[i]);
			ok = false;
		}
		free(sql);
	}
	pg_disconnect(&pg);
	return ok;
}

/* rollback_existing rolls back the prepared transactions named by the query's rows. */
static bool rollback_existing(const config *cfg, pgconn *pg, const char *sql, const char *param)
{
	const char *params[] = {param};
	PGresult *res = pg_exec(pg, "prepared transactions", sql, 1, params);
	bool ok = res != NULL;

	for (int i = 0; res && i < PQntuples(res); i++) {
		char *gid[] = {PQgetvalue(res, i, 0)};
		log_warn("rolling back prepared transaction %s of this launch", gid[0]);
		ok = verdict_finish_prepared(cfg, gid, 1, false) && ok;
	}
	PQclear(res);
	return ok;
}

bool verdict_sweep(const config *cfg, const char *launch_id)
{
	pgconn pg;
	char pattern[64];

	if (!connect_target(&pg, cfg))
		return false;
	snprintf(pattern, sizeof(pattern), GID_PREFIX "%s-%%", launch_id);
	bool ok = rollback_existing(cfg, &pg,
	                            "SELECT gid FROM pg_prepared_xacts\n"
	                            "WHERE database = current_database() AND gid LIKE $1",
	                            pattern);
	pg_disconnect(&pg);
	return ok;
}
