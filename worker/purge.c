/*
 * worker/purge.c
 *     --purge: works the plan out (purge_plan.h), reports it, refuses when
 *     rows changed or added in APiLos since the import would go without
 *     --force, deletes children before parents, and commits once.
 *
 * The transaction is the only guard a purge needs: killed at any point
 * before COMMIT (SIGTERM, SIGKILL, its coordinator gone), it deletes
 * nothing. SIGTERM and SIGINT are held while COMMIT is on its way, so that
 * its outcome is always logged.
 */
#include "purge.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "log.h"
#include "pgsql.h"
#include "purge_fks.h"
#include "purge_plan.h"
#include "refs.h"
#include "strbuf.h"
#include "target_session.h"

#define BLOCKERS_SHOWN 20 /* rows named one by one; then totals */
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static const char counts_sql[] =
        "SELECT p.tbl, coalesce(m.model, ''), count(*),\n"
        "  count(*) FILTER (WHERE p.kind = 'imported'), count(*) FILTER (WHERE p.kind = "
        "'link'),\n"
        "  count(*) FILTER (WHERE p.kind = 'shared'), count(*) FILTER (WHERE p.kind = "
        "'changed'),\n"
        "  count(*) FILTER (WHERE p.kind = 'added')\n"
        "FROM _purge p LEFT JOIN _purge_models m ON m.tbl = p.tbl\n"
        "WHERE p.kind <> 'other' GROUP BY 1, 2 ORDER BY 1";

/* report_rows logs, per table, the rows the purge deletes (or would). */
static bool report_rows(pgconn *db, const char *verb, long *total)
{
	PGresult *res = pg_exec(db, "count the rows", counts_sql, 0, NULL);

	if (!res)
		return false;
	*total = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *model = PQgetvalue(res, i, 1);
		*total += strtol(PQgetvalue(res, i, 2), NULL, 10);
		log_info("purge: %s%s%s%s: %s %s row(s) (imported %s, import links %s, shared "
		         "unused %s, changed in APiLos %s, added in APiLos %s)",
		         model, model[0] ? " (" : "", PQgetvalue(res, i, 0), model[0] ? ")" : "",
		         verb, PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
		         PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), PQgetvalue(res, i, 7));
	}
	PQclear(res);
	return true;
}

/* report_refs logs, per model, the references the purge deletes (or would). */
static bool report_refs(pgconn *db, const char *verb, long *total)
{
	PGresult *res =
	        pg_exec(db, "count the references",
	                "SELECT model, count(*) FROM _purge_refs GROUP BY 1 ORDER BY 1", 0, NULL);

	if (!res)
		return false;
	*total = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		*total += strtol(PQgetvalue(res, i, 1), NULL, 10);
		log_info("purge: ecoloweb_ecoloreference of %s: %s %s reference(s)",
		         PQgetvalue(res, i, 0), verb, PQgetvalue(res, i, 1));
	}
	PQclear(res);
	return true;
}

/* report_kept logs the shared rows kept, and why. */
static bool report_kept(pgconn *db)
{
	PGresult *res = pg_exec(
	        db, "count the shared rows kept",
	        "SELECT c.tbl, count(*) FILTER (WHERE u.id IS NOT NULL),\n"
	        "  count(*) FILTER (WHERE u.id IS NULL)\n"
	        "FROM _purge_cand c LEFT JOIN _purge_used u ON u.tbl = c.tbl AND u.id = c.id\n"
	        "WHERE NOT EXISTS (SELECT 1 FROM _purge p WHERE p.tbl = c.tbl AND p.id = c.id)\n"
	        "GROUP BY 1 ORDER BY 1",
	        0, NULL);

	if (!res)
		return false;
	for (int i = 0; i < PQntuples(res); i++)
		log_info("purge: %s: %s row(s) kept, still used outside the purged départements; "
		         "%s kept, there before the import or changed since",
		         PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
	PQclear(res);
	return true;
}

/* blocker_line logs one row that stops the purge (row of the blockers query). */
static void blocker_line(const PGresult *res, int i)
{
	const char *kind = PQgetvalue(res, i, 0), *tbl = PQgetvalue(res, i, 1);
	const char *id = PQgetvalue(res, i, 2), *model = PQgetvalue(res, i, 3);
	const char *key = PQgetvalue(res, i, 4), *dep = PQgetvalue(res, i, 5);
	const char *via = PQgetvalue(res, i, 6);

	if (strcmp(kind, "changed") == 0)
		log_warn("purge: %s id %s (%s %s, département %s): changed in APiLos after its "
		         "import",
		         tbl, id, model, key, dep);
	else if (strcmp(kind, "added") == 0)
		log_warn("purge: %s id %s (%s): added in APiLos after the import", tbl, id, via);
	else
		log_error("purge: %s id %s (%s): imported for département %s, which this purge "
		          "does not name",
		          tbl, id, via, dep);
}

static const char blockers_sql[] =
        "SELECT kind, tbl, id, coalesce(model, ''), coalesce(ecolo_id, ''), coalesce(dep, ''),\n"
        "  coalesce(via, '') FROM _purge WHERE kind IN ('changed', 'added', 'other')\n"
        "ORDER BY kind DESC, tbl, id LIMIT " STRINGIFY(BLOCKERS_SHOWN);

/*
 * report_blockers logs the rows changed or added in APiLos since the
 * import (the first ones, then the totals) and counts them: other are
 * imported rows of départements not purged, which depend on purged ones.
 */
static bool report_blockers(pgconn *db, long *changed, long *other)
{
	PGresult *res = pg_exec(db, "list what blocks the purge", blockers_sql, 0, NULL);

	if (!res)
		return false;
	for (int i = 0; i < PQntuples(res); i++)
		blocker_line(res, i);
	PQclear(res);
	res = pg_exec(db, "count what blocks the purge",
	              "SELECT kind, tbl, count(*) FROM _purge\n"
	              "WHERE kind IN ('changed', 'added', 'other') GROUP BY 1, 2 ORDER BY 1, 2",
	              0, NULL);
	if (!res)
		return false;
	*changed = *other = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		long n = strtol(PQgetvalue(res, i, 2), NULL, 10);
		bool is_other = strcmp(PQgetvalue(res, i, 0), "other") == 0;
		*(is_other ? other : changed) += n;
		log_info("purge: %s row(s) of %s %s", PQgetvalue(res, i, 2), PQgetvalue(res, i, 1),
		         is_other ? "imported for another département depend on purged rows"
		         : strcmp(PQgetvalue(res, i, 0), "changed") == 0
		                 ? "changed in APiLos after their import"
		                 : "added in APiLos after the import");
	}
	PQclear(res);
	return true;
}

/* delete_table deletes the rows of table that the plan lists. */
static bool delete_table(pgconn *db, const char *table)
{
	strbuf sql;
	const char *params[1] = {table};
	bool ok;

	sb_init(&sql);
	sb_append(&sql, "DELETE FROM ");
	ok = purge_append_ident(&sql, db->conn, table);
	sb_append(&sql, " t USING _purge p WHERE p.tbl = $1 AND p.id = t.id AND p.kind <> 'other'");
	ok = ok && purge_exec_count(db, "delete the rows", sql.data, 1, params) >= 0;
	sb_free(&sql);
	return ok;
}

/* delete_all deletes the rows children first, then the references, and checks the keys. */
static bool delete_all(pgconn *db, const purge_fks *fks)
{
	PGresult *res = pg_exec(db, "list the tables",
	                        "SELECT DISTINCT tbl FROM _purge WHERE kind <> 'other'", 0, NULL);
	char **tables;
	size_t n;
	bool ok = true;

	if (!res)
		return false;
	n = (size_t)PQntuples(res);
	tables = calloc(n + 1, sizeof(char *));
	if (!tables) {
		PQclear(res);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		tables[i] = PQgetvalue(res, (int)i, 0);
	purge_fks_order(fks, tables, n);
	for (size_t i = 0; ok && i < n; i++)
		ok = delete_table(db, tables[i]);
	free(tables);
	PQclear(res);
	return ok &&
	       pg_exec_ok(db, "delete the references",
	                  "DELETE FROM ecoloweb_ecoloreference r USING _purge_refs x WHERE r.id = "
	                  "x.id",
	                  0, NULL) &&
	       /* a key left dangling fails here, named, instead of at COMMIT */
	       pg_exec_ok(db, "check the foreign keys", "SET CONSTRAINTS ALL IMMEDIATE", 0, NULL);
}

/* test_pause lets a test stop a purge that has deleted but not committed yet. */
static void test_pause(void)
{
	const char *v = getenv("ECOLO_TEST_PURGE_PAUSE_SECONDS");

	if (v && *v) {
		log_info("purge: test pause of %s s before COMMIT", v);
		sleep((unsigned)strtoul(v, NULL, 10));
	}
}

/*
 * commit ends the purge: COMMIT with SIGTERM and SIGINT held, so that it is
 * never cut between COMMIT sent and its outcome logged (they stay held:
 * the child only exits after).
 */
static bool commit(pgconn *db)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	return pg_exec_ok(db, "commit the purge", "COMMIT", 0, NULL);
}

/* decide says whether the plan may be carried out, and why not. */
static bool decide(const options *opts, long changed, long other)
{
	if (other > 0) {
		log_error("purge refused: %ld row(s) imported for other départements depend on "
		          "rows of these ones (listed above): purge those départements too",
		          other);
		return false;
	}
	if (changed > 0 && !opts->force) {
		log_error("purge refused: %ld row(s) changed or added in APiLos since the import "
		          "(listed above); give --force to delete them too",
		          changed);
		return false;
	}
	return true;
}

/* run_purge works the plan out, reports it and carries it out, inside the transaction. */
static int run_purge(pgconn *db, const options *opts, const char *deps)
{
	purge_fks fks;
	long rows = 0, refs = 0, changed = 0, other = 0;
	const char *verb = opts->dry_run ? "would delete" : "deletes";
	bool ok;

	ok = purge_fks_load(db, &fks) && purge_plan_build(db, deps, &fks) &&
	     report_rows(db, verb, &rows) && report_refs(db, verb, &refs) && report_kept(db) &&
	     report_blockers(db, &changed, &other);
	if (!ok) {
		purge_fks_free(&fks);
		return EXIT_CODE_IMPORT_FAILED;
	}
	if (!decide(opts, changed, other)) {
		purge_fks_free(&fks);
		return EXIT_CODE_IMPORT_FAILED;
	}
	ok = delete_all(db, &fks);
	purge_fks_free(&fks);
	if (!ok)
		return EXIT_CODE_IMPORT_FAILED;
	if (opts->dry_run) {
		log_info("purge dry run: %ld row(s) and %ld reference(s) would be deleted; "
		         "everything rolled back",
		         rows, refs);
		return EXIT_CODE_OK;
	}
	test_pause();
	if (!commit(db))
		return EXIT_CODE_IMPORT_FAILED;
	log_info("purge committed: %ld row(s) and %ld reference(s) deleted", rows, refs);
	return EXIT_CODE_OK;
}

int purge_main(const options *opts, const config *cfg)
{
	pgconn db;
	char *deps;
	int status = EXIT_CODE_IMPORT_FAILED;

	if (!pg_connect(&db, cfg->target_conninfo, "TARGET", "import_ecoloweb_data/purge")) {
		log_error("DATABASE_URL (%s): cannot connect to the APiLos database: %s",
		          cfg->target_safe, db.errmsg);
		return EXIT_CODE_IMPORT_FAILED;
	}
	db.debug = opts->debug;
	deps = sql_text_array(opts->departements, opts->n_departements);
	if (target_session_settings(&db) && pg_exec_ok(&db, "begin", "BEGIN", 0, NULL))
		status = run_purge(&db, opts, deps);
	if (status != EXIT_CODE_OK)
		log_info("purge rolled back: nothing deleted");
	free(deps);
	/* closing the session ends a transaction not committed: nothing deleted */
	pg_disconnect(&db);
	return status;
}
