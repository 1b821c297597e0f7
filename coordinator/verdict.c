/*
 * coordinator/verdict.c
 *     Prepared transactions: the final COMMIT/ROLLBACK PREPARED,
 *     and the start-up clean-up of what a dead launch prepared.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leases.h"
#include "log.h"
#include "pgsql.h"
#include "strbuf.h"
#include "verdict.h"

void verdict_gid(char *buf, size_t len, const char *launch_id, const char *dep)
{
	snprintf(buf, len, GID_PREFIX "%s-%s", launch_id, dep);
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
	return leases_holder_dead(holder) ? LEASE_DEAD : LEASE_ALIVE;
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
	lease_word lease = lease_says(redis, gid, launch_id);
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

bool verdict_cleanup(const config *cfg, redis_client *redis)
{
	pgconn pg;

	if (!connect_target(&pg, cfg))
		return false;
	PGresult *res = pg_exec(&pg, "prepared transactions",
	                        "SELECT gid FROM pg_prepared_xacts\n"
	                        "WHERE database = current_database() AND gid LIKE 'ecoloweb-%'",
	                        0, NULL);
	bool ok = res != NULL;

	for (int i = 0; res && i < PQntuples(res); i++) {
		const char *gid = PQgetvalue(res, i, 0);
		if (gid_owner_alive(&pg, redis, gid))
			continue;
		log_warn("rolling back prepared transaction %s left by a launch that died", gid);
		char *one[] = {(char *)gid};
		ok = verdict_finish_prepared(cfg, one, 1, false) && ok;
	}
	PQclear(res);
	pg_disconnect(&pg);
	return ok;
}

/*
 * finish_sql returns "COMMIT PREPARED '<gid>'" (or ROLLBACK): a utility
 * statement takes no parameter, so the name goes through PQescapeLiteral.
 */
static char *finish_sql(pgconn *pg, const char *gid, bool commit)
{
	char *literal = PQescapeLiteral(pg->conn, gid, strlen(gid));
	strbuf sb;

	if (!literal)
		return NULL;
	sb_init(&sb);
	sb_append(&sb, commit ? "COMMIT PREPARED " : "ROLLBACK PREPARED ");
	sb_append(&sb, literal);
	PQfreemem(literal);
	return sb.data;
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
		char *sql = finish_sql(&pg, gids[i], commit);
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

bool verdict_reap(const config *cfg, const char *dep, const char *gid)
{
	pgconn pg;
	char app[64];

	if (!connect_target(&pg, cfg))
		return false;
	snprintf(app, sizeof(app), "import_ecoloweb_data/%s", dep);
	const char *params[] = {app};
	bool ok = pg_exec_ok(&pg, "end the dead worker's session",
	                     "SELECT pg_terminate_backend(pid) FROM pg_stat_activity\n"
	                     "WHERE application_name = $1 AND datname = current_database()",
	                     1, params);
	for (int tries = 0; ok && tries < 100; tries++) {
		PGresult *res =
		        pg_exec(&pg, "dead worker's session",
		                "SELECT count(*) FROM pg_stat_activity\n"
		                "WHERE application_name = $1 AND datname = current_database()",
		                1, params);
		bool gone = res && strcmp(PQgetvalue(res, 0, 0), "0") == 0;
		PQclear(res);
		if (gone || !res)
			break;
		struct timespec pause = {0, 50 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	ok = rollback_existing(cfg, &pg, "SELECT gid FROM pg_prepared_xacts WHERE gid = $1", gid) &&
	     ok;
	pg_disconnect(&pg);
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
