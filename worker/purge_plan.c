/*
 * worker/purge_plan.c
 *     Working out what a purge deletes (purge_plan.h): the imported rows of
 *     the départements, what depends on them through the foreign keys, the
 *     shared rows nobody uses any more, and the references.
 *
 * Table names come from the catalog and from worker/entities.c and go into
 * the SQL text as quoted identifiers; every value is a parameter.
 */
#include "purge_plan.h"

#include <stdlib.h>
#include <string.h>

#include "entities.h"
#include "entity.h"
#include "log.h"
#include "refs.h"

#define KIND_DELETED "kind IN ('imported', 'changed', 'link', 'added', 'shared')"

long purge_exec_count(pgconn *db, const char *what, const char *sql, int nparams,
                      const char *const *params)
{
	PGresult *res = pg_exec(db, what, sql, nparams, params);
	long n;

	if (!res)
		return -1;
	n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return n;
}

bool purge_append_ident(strbuf *sb, PGconn *conn, const char *name)
{
	char *q = PQescapeIdentifier(conn, name, strlen(name));

	if (!q)
		return false;
	sb_append(sb, q);
	PQfreemem(q);
	return true;
}

static const char *const work_tables_sql[] = {
        "CREATE TEMP TABLE _purge (tbl text NOT NULL, id integer NOT NULL, kind text NOT NULL,\n"
        "  origin xid, model text, ecolo_id text, dep text, via text,\n"
        "  PRIMARY KEY (tbl, id)) ON COMMIT DROP",
        "CREATE TEMP TABLE _purge_models (model text PRIMARY KEY, tbl text NOT NULL,\n"
        "  shared boolean NOT NULL) ON COMMIT DROP",
        "CREATE TEMP TABLE _purge_cand (tbl text, id integer, PRIMARY KEY (tbl, id))\n"
        "  ON COMMIT DROP",
        "CREATE TEMP TABLE _purge_used (tbl text, id integer, PRIMARY KEY (tbl, id))\n"
        "  ON COMMIT DROP",
        NULL};

/* create_work_tables creates the temporary tables of purge_plan.h. */
static bool create_work_tables(pgconn *db)
{
	for (size_t i = 0; work_tables_sql[i]; i++)
		if (!pg_exec_ok(db, "create the purge's work tables", work_tables_sql[i], 0, NULL))
			return false;
	return true;
}

/* fill_models writes the model -> table map of worker/entities.c into _purge_models. */
static bool fill_models(pgconn *db)
{
	char *models[ENT_COUNT], *tables[ENT_COUNT], *shared[ENT_COUNT];
	size_t n = 0;
	bool ok;

	for (int e = 0; e < ENT_COUNT; e++) {
		const entity_def *def = entity_def_of((entity)e);
		if (!def || !entity_model((entity)e))
			continue;
		models[n] = (char *)entity_model((entity)e);
		tables[n] = (char *)def->table;
		shared[n++] = def->has_identity ? "t" : "f";
	}
	char *arrays[3] = {sql_text_array(models, n), sql_text_array(tables, n),
	                   sql_text_array(shared, n)};
	const char *params[3] = {arrays[0], arrays[1], arrays[2]};
	ok = create_work_tables(db) &&
	     pg_exec_ok(db, "list the models",
	                "INSERT INTO _purge_models SELECT * FROM unnest($1::text[], $2::text[], "
	                "$3::boolean[])",
	                3, params);
	for (int i = 0; i < 3; i++)
		free(arrays[i]);
	return ok;
}

/*
 * seed_owned puts into _purge the rows of def's table that the references
 * of the départements name: imported, or changed since.
 */
static bool seed_owned(pgconn *db, const entity_def *def, const char *deps)
{
	strbuf sql;
	const char *params[3] = {def->table, entity_model(def->ent), deps};
	bool ok;

	sb_init(&sql);
	sb_append(&sql, "INSERT INTO _purge (tbl, id, kind, origin, model, ecolo_id, dep)\n"
	                "SELECT $1, t.id, CASE WHEN t.xmin = r.xmin THEN 'imported' ELSE "
	                "'changed' END,\n"
	                "  r.xmin, r.apilos_model, r.ecolo_id, r.departement\n"
	                "FROM ecoloweb_ecoloreference r JOIN ");
	ok = purge_append_ident(&sql, db->conn, def->table);
	sb_append(&sql, " t ON t.id = r.apilos_id\n"
	                "WHERE r.apilos_model = $2 AND r.departement = ANY ($3::text[])\n"
	                "  AND NOT r.est_supprime\n"
	                "ON CONFLICT DO NOTHING");
	ok = ok && purge_exec_count(db, "find the imported rows", sql.data, 3, params) >= 0;
	sb_free(&sql);
	return ok;
}

/*
 * add_dependents puts into _purge the rows of fk's child table that point
 * at a row of _purge and are not there yet; returns how many, -1 on failure.
 */
static long add_dependents(pgconn *db, const purge_fk *fk)
{
	strbuf sql;
	const char *params[3] = {fk->child, fk->column, fk->parent};
	long n = -1;

	sb_init(&sql);
	sb_append(&sql,
	          "INSERT INTO _purge (tbl, id, kind, origin, dep, via)\n"
	          "SELECT $1, c.id,\n"
	          "  CASE WHEN o.departement IS NOT NULL THEN 'other'\n"
	          "       WHEN p.kind <> 'added' AND c.xmin = p.origin THEN 'link' ELSE 'added' "
	          "END,\n"
	          "  CASE WHEN p.kind <> 'added' AND c.xmin = p.origin THEN p.origin ELSE c.xmin "
	          "END,\n"
	          "  o.departement, $2 || ' -> ' || p.tbl || ' ' || p.id\n"
	          "FROM _purge p JOIN ");
	if (purge_append_ident(&sql, db->conn, fk->child)) {
		sb_append(&sql, " c ON c.");
		if (purge_append_ident(&sql, db->conn, fk->column)) {
			sb_append(
			        &sql,
			        " = p.id\n"
			        "LEFT JOIN LATERAL (SELECT r.departement FROM "
			        "ecoloweb_ecoloreference r\n"
			        "  JOIN _purge_models m ON m.model = r.apilos_model\n"
			        "  WHERE m.tbl = $1 AND r.apilos_id = c.id AND NOT r.est_supprime\n"
			        "  LIMIT 1) o ON true\n"
			        "WHERE p.tbl = $3 AND p.kind NOT IN ('other', 'shared')\n"
			        "ON CONFLICT DO NOTHING");
			n = purge_exec_count(db, "find the rows that depend on them", sql.data, 3,
			                     params);
		}
	}
	sb_free(&sql);
	return n;
}

/* close_dependents follows the foreign keys until no new dependent row turns up. */
static bool close_dependents(pgconn *db, const purge_fks *fks)
{
	long added;

	do {
		added = 0;
		for (size_t i = 0; i < fks->n; i++) {
			long n = add_dependents(db, &fks->fk[i]);
			if (n < 0)
				return false;
			added += n;
		}
	} while (added > 0);
	return true;
}

/* is_shared tells whether table holds shared reference data (bailleurs, administrations). */
static bool is_shared(const char *table)
{
	for (int e = 0; e < ENT_COUNT; e++) {
		const entity_def *def = entity_def_of((entity)e);
		if (def && def->has_identity && strcmp(def->table, table) == 0)
			return true;
	}
	return false;
}

/* seed_candidates: the shared rows the references of the départements name. */
static bool seed_candidates(pgconn *db, const char *deps)
{
	const char *params[1] = {deps};

	return purge_exec_count(db, "find the shared rows",
	                        "INSERT INTO _purge_cand\n"
	                        "SELECT m.tbl, r.apilos_id FROM ecoloweb_ecoloreference r\n"
	                        "JOIN _purge_models m ON m.model = r.apilos_model AND m.shared\n"
	                        "WHERE r.departement = ANY ($1::text[]) AND NOT r.est_supprime\n"
	                        "ON CONFLICT DO NOTHING",
	                        1, params) >= 0;
}

/* add_pointed: the shared rows that the rows being deleted point at through fk. */
static bool add_pointed(pgconn *db, const purge_fk *fk)
{
	strbuf sql;
	const char *params[2] = {fk->parent, fk->child};
	bool ok;

	sb_init(&sql);
	sb_append(&sql, "INSERT INTO _purge_cand SELECT $1, c.");
	ok = purge_append_ident(&sql, db->conn, fk->column);
	sb_append(&sql, " FROM _purge p JOIN ");
	ok = ok && purge_append_ident(&sql, db->conn, fk->child);
	sb_append(&sql, " c ON c.id = p.id WHERE p.tbl = $2 AND p." KIND_DELETED " AND c.");
	ok = ok && purge_append_ident(&sql, db->conn, fk->column);
	sb_append(&sql, " IS NOT NULL ON CONFLICT DO NOTHING");
	ok = ok && purge_exec_count(db, "find the shared rows", sql.data, 2, params) >= 0;
	sb_free(&sql);
	return ok;
}

/* add_used: the candidates that a row staying in APiLos points at through fk. */
static bool add_used(pgconn *db, const purge_fk *fk)
{
	strbuf sql;
	const char *params[2] = {fk->parent, fk->child};
	bool ok;

	sb_init(&sql);
	sb_append(&sql,
	          "INSERT INTO _purge_used SELECT DISTINCT s.tbl, s.id FROM _purge_cand s JOIN ");
	ok = purge_append_ident(&sql, db->conn, fk->child);
	sb_append(&sql, " c ON c.");
	ok = ok && purge_append_ident(&sql, db->conn, fk->column);
	sb_append(&sql, " = s.id WHERE s.tbl = $1 AND NOT EXISTS (SELECT 1 FROM _purge q\n"
	                "  WHERE q.tbl = $2 AND q.id = c.id AND q." KIND_DELETED ")\n"
	                "ON CONFLICT DO NOTHING");
	ok = ok &&
	     purge_exec_count(db, "find the shared rows still used", sql.data, 2, params) >= 0;
	sb_free(&sql);
	return ok;
}

/*
 * add_unused puts into _purge the candidates of table that nothing left
 * uses and that an import created (a reference of the row's own
 * transaction); returns how many, -1 on failure. A bailleur an import
 * only matched was there before: it stays.
 */
static long add_unused(pgconn *db, const char *table)
{
	strbuf sql;
	const char *params[1] = {table};
	long n = -1;

	sb_init(&sql);
	sb_append(&sql, "INSERT INTO _purge (tbl, id, kind, origin, model, ecolo_id, dep)\n"
	                "SELECT s.tbl, t.id, 'shared', t.xmin, r.apilos_model, r.ecolo_id, "
	                "r.departement\n"
	                "FROM _purge_cand s JOIN ");
	if (purge_append_ident(&sql, db->conn, table)) {
		sb_append(&sql,
		          " t ON t.id = s.id\n"
		          "JOIN LATERAL (SELECT r.apilos_model, r.ecolo_id, r.departement\n"
		          "  FROM ecoloweb_ecoloreference r JOIN _purge_models m ON m.model = "
		          "r.apilos_model\n"
		          "  WHERE m.tbl = $1 AND r.apilos_id = t.id AND r.xmin = t.xmin\n"
		          "    AND NOT r.est_supprime ORDER BY r.id LIMIT 1) r ON true\n"
		          "WHERE s.tbl = $1\n"
		          "  AND NOT EXISTS (SELECT 1 FROM _purge_used u WHERE u.tbl = s.tbl AND "
		          "u.id = "
		          "s.id)\n"
		          "ON CONFLICT DO NOTHING");
		n = purge_exec_count(db, "find the unused shared rows", sql.data, 1, params);
	}
	sb_free(&sql);
	return n;
}

/* shared_round runs one round of the shared rows; returns the rows added, -1 on failure. */
static long shared_round(pgconn *db, const purge_fks *fks)
{
	long added = 0;

	for (size_t i = 0; i < fks->n; i++)
		if (is_shared(fks->fk[i].parent) && !add_pointed(db, &fks->fk[i]))
			return -1;
	if (!pg_exec_ok(db, "find the shared rows still used", "TRUNCATE _purge_used", 0, NULL))
		return -1;
	for (size_t i = 0; i < fks->n; i++)
		if (is_shared(fks->fk[i].parent) && !add_used(db, &fks->fk[i]))
			return -1;
	for (int e = 0; e < ENT_COUNT; e++) {
		const entity_def *def = entity_def_of((entity)e);
		if (!def || !def->has_identity)
			continue;
		long n = add_unused(db, def->table);
		if (n < 0)
			return -1;
		added += n;
	}
	return added;
}

/* close_shared repeats rounds: a bailleur deleted may free its parent. */
static bool close_shared(pgconn *db, const char *deps, const purge_fks *fks)
{
	long n;

	if (!seed_candidates(db, deps))
		return false;
	while ((n = shared_round(db, fks)) > 0)
		;
	return n == 0;
}

/*
 * mark_refs lists the references to delete: every one of the départements,
 * but a shared row's that something left still uses, and every one of a
 * shared row deleted (whichever import made it).
 */
static bool mark_refs(pgconn *db, const char *deps)
{
	const char *params[1] = {deps};

	return pg_exec_ok(
	        db, "find the references",
	        "CREATE TEMP TABLE _purge_refs ON COMMIT DROP AS\n"
	        "SELECT r.id, r.apilos_model AS model FROM ecoloweb_ecoloreference r\n"
	        "JOIN _purge_models m ON m.model = r.apilos_model\n"
	        "WHERE (r.departement = ANY ($1::text[]) AND (NOT m.shared OR NOT EXISTS (\n"
	        "         SELECT 1 FROM _purge_used u WHERE u.tbl = m.tbl AND u.id = "
	        "r.apilos_id)))\n"
	        "   OR EXISTS (SELECT 1 FROM _purge p WHERE p.tbl = m.tbl AND p.id = r.apilos_id\n"
	        "              AND p.kind = 'shared')",
	        1, params);
}

bool purge_plan_build(pgconn *db, const char *deps, const purge_fks *fks)
{
	if (!fill_models(db))
		return false;
	for (int e = 0; e < ENT_COUNT; e++) {
		const entity_def *def = entity_def_of((entity)e);
		if (def && entity_model((entity)e) && !def->has_identity &&
		    !seed_owned(db, def, deps))
			return false;
	}
	/* the planner knows nothing of a temporary table until it is analysed */
	return pg_exec_ok(db, "analyse the purge", "ANALYZE _purge", 0, NULL) &&
	       close_dependents(db, fks) && close_shared(db, deps, fks) && mark_refs(db, deps);
}
