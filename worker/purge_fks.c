/*
 * worker/purge_fks.c
 *     The APiLos foreign keys, from pg_constraint, and the children-first
 *     order of the tables a purge deletes from.
 */
#include "purge_fks.h"

#include <stdlib.h>
#include <string.h>

static const char fks_sql[] =
        "SELECT cl.relname, a.attname, pl.relname\n"
        "FROM pg_constraint c\n"
        "JOIN pg_class cl ON cl.oid = c.conrelid\n"
        "JOIN pg_class pl ON pl.oid = c.confrelid\n"
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]\n"
        "JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]\n"
        "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND pa.attname = 'id'\n"
        "  AND pg_catalog.pg_table_is_visible(c.conrelid)\n"
        "  AND EXISTS (SELECT 1 FROM pg_attribute i WHERE i.attrelid = c.conrelid\n"
        "              AND i.attname = 'id' AND NOT i.attisdropped)\n"
        "ORDER BY 1, 2";

bool purge_fks_load(pgconn *db, purge_fks *fks)
{
	PGresult *res = pg_exec(db, "read the foreign keys", fks_sql, 0, NULL);
	int n;

	memset(fks, 0, sizeof(*fks));
	if (!res)
		return false;
	n = PQntuples(res);
	fks->fk = calloc((size_t)n + 1, sizeof(purge_fk));
	if (!fks->fk) {
		PQclear(res);
		return false;
	}
	for (int i = 0; i < n; i++) {
		purge_fk *f = &fks->fk[fks->n++];
		f->child = strdup(PQgetvalue(res, i, 0));
		f->column = strdup(PQgetvalue(res, i, 1));
		f->parent = strdup(PQgetvalue(res, i, 2));
		if (!f->child || !f->column || !f->parent) {
			PQclear(res);
			return false;
		}
	}
	PQclear(res);
	return true;
}

void purge_fks_free(purge_fks *fks)
{
	for (size_t i = 0; i < fks->n; i++) {
		free(fks->fk[i].child);
		free(fks->fk[i].column);
		free(fks->fk[i].parent);
	}
	free(fks->fk);
	memset(fks, 0, sizeof(*fks));
}

/* referenced_by_rest: does a table of rest[0..n), other than t, reference t? */
static bool referenced_by_rest(const purge_fks *fks, const char *t, char **rest, size_t n)
{
	for (size_t i = 0; i < fks->n; i++) {
		if (strcmp(fks->fk[i].parent, t) != 0 || strcmp(fks->fk[i].child, t) == 0)
			continue;
		for (size_t j = 0; j < n; j++)
			if (strcmp(rest[j], fks->fk[i].child) == 0)
				return true;
	}
	return false;
}

void purge_fks_order(const purge_fks *fks, char **tables, size_t n)
{
	/* selection: put first a table no other remaining table references */
	for (size_t done = 0; done < n; done++) {
		size_t pick = done;
		for (size_t i = done; i < n; i++) {
			if (!referenced_by_rest(fks, tables[i], tables + done, n - done)) {
				pick = i;
				break;
			}
		}
		char *t = tables[pick];
		memmove(tables + done + 1, tables + done, (pick - done) * sizeof(char *));
		tables[done] = t;
	}
}
