/*
 * coordinator/target_schema.c
 *     See target_schema.h. The expected columns are those of the column
 *     rules (src/column_rules.c), those the writer fills itself (id, uuid,
 *     the foreign keys: worker/entities.c) and those of the reference and
 *     link tables.
 */
#include "target_schema.h"

#include <string.h>

#include "column_rules.h"
#include "entities.h"
#include "log.h"
#include "strbuf.h"

/* Tables and columns outside the entity classes, "table.column". */
static const char *const other_columns[] = {"ecoloweb_ecoloreference.id",
                                            "ecoloweb_ecoloreference.apilos_model",
                                            "ecoloweb_ecoloreference.ecolo_id",
                                            "ecoloweb_ecoloreference.apilos_id",
                                            "ecoloweb_ecoloreference.departement",
                                            "ecoloweb_ecoloreference.importe_le",
                                            "ecoloweb_ecoloreference.est_supprime",
                                            "conventions_avenanttype.id",
                                            "conventions_avenanttype.nom",
                                            "conventions_convention_avenant_types.convention_id",
                                            "conventions_convention_avenant_types.avenanttype_id",
                                            NULL};

/*
 * Missing columns of the expected list: the table, the column, and
 * whether the table itself is missing. The search_path decides, as for
 * the import's unqualified names.
 */
static const char missing_sql[] =
        "SELECT e.t, e.c, to_regclass(quote_ident(e.t)) IS NULL\n"
        "FROM unnest($1::text[], $2::text[]) AS e(t, c)\n"
        "WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a\n"
        "                  WHERE a.attrelid = to_regclass(quote_ident(e.t))\n"
        "                    AND a.attname = e.c AND a.attnum > 0 AND NOT a.attisdropped)\n"
        "ORDER BY 3 DESC, 1, 2";

/* add appends table and column to the two array literals (names: no quoting needed). */
static void add(strbuf *tables, strbuf *columns, const char *table, const char *column)
{
	sb_append_char(tables, tables->len > 1 ? ',' : '{');
	sb_append(tables, table);
	sb_append_char(columns, columns->len > 1 ? ',' : '{');
	sb_append(columns, column);
}

/* expected fills the arrays with every (table, column) the importer needs. */
static void expected(strbuf *tables, strbuf *columns)
{
	size_t n;
	const column_rule *rules = column_rules_all(&n);

	for (size_t i = 0; i < n; i++)
		add(tables, columns, rules[i].table, rules[i].column);
	for (int e = 0; e < ENT_COUNT; e++) {
		const entity_def *def = entity_def_of((entity)e);
		if (def == NULL)
			continue;
		add(tables, columns, def->table, "id");
		add(tables, columns, def->table, "uuid");
		for (int f = 0; f < def->n_fks; f++)
			add(tables, columns, def->table, def->fks[f].column);
	}
	for (const char *const *o = other_columns; *o; o++) {
		char table[96];
		const char *dot = strchr(*o, '.');
		snprintf(table, sizeof(table), "%.*s", (int)(dot - *o), *o);
		add(tables, columns, table, dot + 1);
	}
	sb_append_char(tables, '}');
	sb_append_char(columns, '}');
}

/* report writes one line naming the missing tables, then the missing columns. */
static void report(const PGresult *res, const char *safe)
{
	strbuf what;
	const char *last_table = "";

	sb_init(&what);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *t = PQgetvalue(res, i, 0), *c = PQgetvalue(res, i, 1);
		bool no_table = strcmp(PQgetvalue(res, i, 2), "t") == 0;
		if (no_table && strcmp(t, last_table) != 0)
			sb_printf(&what, "%stable %s", what.len ? "; " : "", t);
		else if (!no_table)
			sb_printf(&what, "%scolumn %s.%s", what.len ? "; " : "", t, c);
		last_table = t;
	}
	log_error("DATABASE_URL (%s): not the APiLos schema this importer writes (an APiLos "
	          "database, migrated?): missing %s",
	          safe, what.data);
	sb_free(&what);
}

bool target_schema_check(pgconn *dst, const char *safe)
{
	strbuf tables, columns;

	sb_init(&tables);
	sb_init(&columns);
	expected(&tables, &columns);
	const char *params[] = {tables.data, columns.data};
	PGresult *res = pg_exec(dst, "APiLos schema check", missing_sql, 2, params);
	bool ok = res && PQntuples(res) == 0;
	if (res && !ok)
		report(res, safe);
	PQclear(res);
	sb_free(&tables);
	sb_free(&columns);
	return ok;
}
