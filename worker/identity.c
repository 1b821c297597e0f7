/*
 * worker/identity.c
 *     Identity matching (mapping.md §3.4 step 3): a bailleur or an
 *     administration already in APiLos with the same SIREN, siret or code
 *     is reused instead of created, and rows of one batch with one identity
 *     become one APiLos row.
 */
#include <stdlib.h>
#include <string.h>

#include "identity_rules.h"
#include "log.h"
#include "writer_batch.h"

/*
 * identity_fetch reads the APiLos rows whose column holds one of the
 * batch's values. '' is a value like the others: a NULL siret is written ''
 * (mapping.md C8) and, siret being unique, two of them are one bailleur.
 */
static bool identity_fetch(writer *w, pgconn *conn, const identity_rule *rule, int field,
                           keymap *found)
{
	char **values = calloc(w->n, sizeof(char *));
	size_t n = 0;

	if (!values)
		abort();
	for (size_t i = 0; i < w->n; i++) {
		const char *v = w->rows[i].values[field];
		if (w->rows[i].act == A_CREATE && v)
			values[n++] = (char *)v;
	}
	strbuf sql;
	sb_init(&sql);
	sb_append(&sql, "SELECT ");
	sb_append(&sql, rule->column);
	sb_append(&sql, ", id FROM ");
	sb_append(&sql, w->def->table);
	sb_append(&sql, " WHERE ");
	sb_append(&sql, rule->column);
	sb_append(&sql, " = ANY ($1::text[])");
	char *array = sql_text_array(values, n);
	const char *params[] = {array};
	PGresult *res = n ? pg_exec(conn, "identity lookup", sql.data, 1, params) : NULL;
	bool ok = n == 0 || res != NULL;

	for (int r = 0; res && r < PQntuples(res); r++)
		keymap_put(found, PQgetvalue(res, r, 0), (int32_t)atol(PQgetvalue(res, r, 1)));
	PQclear(res);
	sb_free(&sql);
	free(array);
	free(values);
	return ok;
}

/* identity_match links rows to existing APiLos rows with the same identity (§3.4 step 3). */
bool identity_match(writer *w, pgconn *conn)
{
	const identity_rule *rules = identity_rules_of(w->def->ent);
	import_ctx *ctx = w->ctx;

	for (const identity_rule *rule = rules; rule->field; rule++) {
		int field = writer_column_index(&w->lay, rule->field);
		keymap found = {0};

		/* build_layout refused a query without the field (identity_missing_field) */
		if (field < 0 || !identity_fetch(w, conn, rule, field, &found)) {
			keymap_free(&found);
			return false;
		}
		for (size_t i = 0; i < w->n; i++) {
			wrow *r = &w->rows[i];
			const char *v = r->values[field];
			int32_t id;

			if (r->act != A_CREATE || !v)
				continue;
			if (keymap_get(&found, v, &id) ||
			    keymap_get(&ctx->identity[rule->slot], v, &id)) {
				r->act = A_MATCH;
				r->id = id;
				if (rule->warning)
					log_warn("%s %s: %s %s", entity_name(w->def->ent),
					         r->values[w->lay.key], rule->warning, v);
			}
		}
		keymap_free(&found);
	}
	return true;
}

/*
 * identity_dedupe: two rows of one batch with the same identity (two Ecolo
 * bailleurs, one SIREN) become one APiLos row: the later ones match the first.
 */
void identity_dedupe(writer *w)
{
	const identity_rule *rules = identity_rules_of(w->def->ent);

	for (size_t i = 0; i < w->n; i++) {
		wrow *r = &w->rows[i];
		for (const identity_rule *rule = rules; r->act == A_CREATE && rule->field; rule++) {
			int field = writer_column_index(&w->lay, rule->field);
			const char *v = field >= 0 ? r->values[field] : NULL;
			int32_t id;

			if (v && keymap_get(&w->ctx->identity[rule->slot], v, &id)) {
				r->act = A_MATCH;
				r->id = id;
			}
		}
		if (r->act != A_CREATE)
			continue;
		for (const identity_rule *rule = rules; rule->field; rule++) {
			int field = writer_column_index(&w->lay, rule->field);
			const char *v = field >= 0 ? r->values[field] : NULL;
			if (v)
				keymap_put(&w->ctx->identity[rule->slot], v, r->id);
		}
	}
}
