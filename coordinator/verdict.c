/*
 * coordinator/verdict.c
 *     Prepared transactions: detection, the final COMMIT/ROLLBACK PREPARED,
 *     and the start-up clean-up of what a dead launch prepared.
 */
#include <stdlib.h>
#include <string.h>

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

bool verdict_prepared_possible(const config *cfg, size_t workers)
{
	pgconn pg;

	if (!connect_target(&pg, cfg))
		return false;
	PGresult *res =
	        pg_exec(&pg, "max_prepared_transactions",
	                "SELECT current_setting('max_prepared_transactions')::int", 0, NULL);
	bool ok = res && (size_t)atol(PQgetvalue(res, 0, 0)) >= workers;

	PQclear(res);
	pg_disconnect(&pg);
	return ok;
}

/*
 * gid_owner_alive tells whether the launch that prepared gid still holds
 * the lease of its département (gid = ecoloweb-<launch>-<dep>).
 */
static bool gid_owner_alive(redis_client *redis, const char *gid)
{
	char holder[256];
	const char *dash = strrchr(gid, '-');

	if (redis == NULL || redis->ctx == NULL || dash == NULL)
		return false;
	if (!redis_lease_holder(redis, dash + 1, holder, sizeof(holder)))
		return true; /* cannot tell: leave it, never roll back a live launch's work */
	size_t launch_len = (size_t)(dash - gid) - strlen(GID_PREFIX);
	const char *launch = strrchr(holder, ':');
	return launch && strlen(launch + 1) == launch_len &&
	       strncmp(launch + 1, gid + strlen(GID_PREFIX), launch_len) == 0;
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
		if (gid_owner_alive(redis, gid))
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
