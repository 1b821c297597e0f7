/*
 * worker/update_rows.c
 *     --update (mapping.md §3.6): the rows already imported are rewritten
 *     from the source through a staging table, all mapped columns but the
 *     pre_save signal ones, and their references dated to this run.
 */
#include <stdlib.h>
#include <string.h>

#include "writer_batch.h"

/* update_columns lists the columns --update rewrites: all mapped ones but the signals (§3.6). */
static void update_columns(writer *w, strbuf *cols)
{
	sb_append(cols, "id");
	for (int f = 0; f < w->def->n_fks; f++) {
		sb_append(cols, ", ");
		sb_append(cols, w->def->fks[f].column);
	}
	for (int c = 0; c < w->lay.ncols; c++) {
		if (w->lay.target[c] && !is_insert_only(w->def, w->lay.names[c])) {
			sb_append(cols, ", ");
			sb_append(cols, w->lay.names[c]);
		}
	}
	if (w->def->auto_times)
		sb_append(cols, ", cree_le, mis_a_jour_le");
}

/* update_row appends one row to rewrite, in the order of update_columns. */
static void update_row(writer *w, const wrow *r, strbuf *data)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", (int)r->id);
	sb_copy_field(data, num, true);
	for (int f = 0; f < w->def->n_fks; f++) {
		snprintf(num, sizeof(num), "%d", (int)r->fk_ids[f]);
		sb_copy_field(data, r->fk_ids[f] == REF_NULL ? NULL : num, false);
	}
	for (int c = 0; c < w->lay.ncols; c++) {
		if (w->lay.target[c] && !is_insert_only(w->def, w->lay.names[c]))
			sb_copy_field(data, r->values[c], false);
	}
	if (w->def->auto_times) {
		sb_copy_field(data, w->lay.q_cree >= 0 ? r->values[w->lay.q_cree] : w->ctx->now,
		              false);
		sb_copy_field(data, w->lay.q_maj >= 0 ? r->values[w->lay.q_maj] : w->ctx->now,
		              false);
	}
	sb_append_char(data, '\n');
}

/* update_sql builds the staging statements: create, copy, update (identifiers only). */
static void update_sql(writer *w, const char *cols, strbuf *create, strbuf *truncate, strbuf *copy,
                       strbuf *update)
{
	const char *t = w->def->table;

	sb_append(create, "CREATE TEMP TABLE IF NOT EXISTS _stage_");
	sb_append(create, t);
	sb_append(create, " AS SELECT ");
	sb_append(create, cols);
	sb_append(create, " FROM ");
	sb_append(create, t);
	sb_append(create, " WITH NO DATA");
	sb_append(truncate, "TRUNCATE _stage_");
	sb_append(truncate, t);
	sb_append(copy, "COPY _stage_");
	sb_append(copy, t);
	sb_append(copy, " (");
	sb_append(copy, cols);
	sb_append(copy, ") FROM STDIN");
	sb_append(update, "UPDATE ");
	sb_append(update, t);
	sb_append(update, " t SET ");
	const char *c = strchr(cols, ',');
	while (c) {
		c += 2;
		size_t len = strcspn(c, ",");
		sb_append_n(update, c, len);
		sb_append(update, " = s.");
		sb_append_n(update, c, len);
		c = strchr(c, ',');
		if (c)
			sb_append(update, ", ");
	}
	sb_append(update, " FROM _stage_");
	sb_append(update, t);
	sb_append(update, " s WHERE t.id = s.id");
}

/*
 * touch_refs dates the references of the rewritten rows to this run, in
 * the rows' own transaction: a purge tells a row changed in APiLos after
 * its import by its transaction differing from its reference's.
 */
static bool touch_refs(writer *w, pgconn *conn)
{
	strbuf sql;
	const char *params[2] = {w->ctx->run_date, entity_model(w->def->ent)};
	bool ok;

	sb_init(&sql);
	sb_append(&sql, "UPDATE ecoloweb_ecoloreference r SET importe_le = $1::date FROM _stage_");
	sb_append(&sql, w->def->table);
	sb_append(&sql, " s WHERE r.apilos_model = $2 AND r.apilos_id = s.id");
	ok = pg_exec_ok(conn, "date the references of the rewritten rows", sql.data, 2, params);
	sb_free(&sql);
	return ok;
}

/* update_rows_write rewrites the rows already imported (--update) through a staging table. */
bool update_rows_write(writer *w, pgconn *conn)
{
	strbuf cols, create, truncate, copy, update, data;
	bool ok = true;

	sb_init(&data);
	for (size_t i = 0; i < w->n; i++) {
		if (w->rows[i].act == A_UPDATE)
			update_row(w, &w->rows[i], &data);
	}
	if (data.len == 0) {
		sb_free(&data);
		return true;
	}
	sb_init(&cols);
	sb_init(&create);
	sb_init(&truncate);
	sb_init(&copy);
	sb_init(&update);
	update_columns(w, &cols);
	update_sql(w, cols.data, &create, &truncate, &copy, &update);
	ok = pg_exec_ok(conn, "create staging table", create.data, 0, NULL) &&
	     pg_exec_ok(conn, "empty staging table", truncate.data, 0, NULL) &&
	     writer_run_copy(conn, "staging rows", copy.data, &data) &&
	     pg_exec_ok(conn, "update rows", update.data, 0, NULL) && touch_refs(w, conn);
	sb_free(&cols);
	sb_free(&create);
	sb_free(&truncate);
	sb_free(&copy);
	sb_free(&update);
	sb_free(&data);
	return ok;
}
