/*
 * worker/writer.c
 *     The batched writer of an entity class (see writer.h). Decisions per
 *     row follow mapping.md §3.3-3.4: a live reference means "already
 *     imported" (or "rewrite" with --update), a tombstone or a deleted
 *     target means "no row" (bailleurs and administrations are matched or
 *     created again, B11), no reference means identity match or creation.
 */
#include <stdlib.h>
#include <string.h>

#include "fault_point.h"
#include "log.h"
#include "uuid.h"
#include "verify.h"
#include "writer_batch.h"

/* writer_decide sets each row's action from its reference (mapping.md §3.3). */
bool writer_decide(writer *w, pgconn *conn, char **keys, char **dead, size_t *n_dead)
{
	import_ctx *ctx = w->ctx;
	const entity_def *def = w->def;
	ref_info *refs = calloc(w->n, sizeof(ref_info));

	if (!refs)
		abort();
	if (!refs_lookup(conn, entity_model(def->ent), def->table, keys, w->n, refs)) {
		free(refs);
		return false;
	}
	for (size_t i = 0; i < w->n; i++) {
		wrow *r = &w->rows[i];
		switch (refs[i].state) {
		case REF_LIVE:
			r->id = refs[i].apilos_id;
			r->act = ctx->update && !def->has_identity ? A_UPDATE : A_SKIP;
			break;
		case REF_DANGLING:
			if (!def->has_identity)
				dead[(*n_dead)++] = keys[i];
			/* fall through */
		case REF_TOMBSTONE:
			r->act = def->has_identity ? A_CREATE : A_NULL;
			r->repoint = def->has_identity;
			r->id = REF_NULL;
			break;
		case REF_NONE:
			r->act = A_CREATE;
			break;
		}
	}
	free(refs);
	return true;
}

/* writer_allocate_ids takes one block of ids from the table's sequence for the rows to create. */
bool writer_allocate_ids(writer *w, pgconn *conn)
{
	size_t want = 0;
	char count[32];

	for (size_t i = 0; i < w->n; i++)
		want += w->rows[i].act == A_CREATE;
	if (want == 0)
		return true;
	snprintf(count, sizeof(count), "%zu", want);
	const char *params[] = {w->def->table, count};
	PGresult *res = pg_exec(conn, "allocate ids",
	                        "SELECT nextval(pg_get_serial_sequence($1, 'id'))\n"
	                        "FROM generate_series(1, $2::int)",
	                        2, params);
	if (res == NULL)
		return false;
	size_t next = 0;
	for (size_t i = 0; i < w->n; i++) {
		if (w->rows[i].act == A_CREATE)
			w->rows[i].id = (int32_t)atol(PQgetvalue(res, (int)next++, 0));
	}
	PQclear(res);
	return true;
}

/* preload_parents looks up, in one query per parent class, the keys not yet in memory. */
static bool preload_parents(writer *w)
{
	import_ctx *ctx = w->ctx;

	for (int f = 0; f < w->def->n_fks; f++) {
		const fk_def *fk = &w->def->fks[f];
		const entity_def *target = entity_def_of(fk->target);
		char **missing = calloc(w->n, sizeof(char *));
		size_t n = 0;
		int32_t id;

		for (size_t i = 0; i < w->n; i++) {
			const char *k = w->lay.fk[f] >= 0 ? w->rows[i].values[w->lay.fk[f]] : NULL;
			if (k && !keymap_get(&ctx->ids[fk->target], k, &id))
				missing[n++] = (char *)k;
		}
		ref_info *refs = calloc(n ? n : 1, sizeof(ref_info));
		bool ok = refs_lookup(ctx->dst, entity_model(fk->target), target->table, missing, n,
		                      refs);
		for (size_t i = 0; ok && i < n; i++)
			keymap_put(&ctx->ids[fk->target], missing[i],
			           refs[i].state == REF_LIVE ? refs[i].apilos_id : REF_NULL);
		free(refs);
		free(missing);
		if (!ok)
			return false;
	}
	return true;
}

/*
 * resolve_fks turns the rows' parent keys into APiLos ids, in row order, so
 * that a row whose required parent has no APiLos row is skipped, and so are
 * its own children later in the batch (B23, B24).
 */
static void resolve_fks(writer *w)
{
	import_ctx *ctx = w->ctx;

	for (size_t i = 0; i < w->n; i++) {
		wrow *r = &w->rows[i];
		if (r->act != A_CREATE && r->act != A_UPDATE)
			continue;
		for (int f = 0; f < w->def->n_fks; f++) {
			const fk_def *fk = &w->def->fks[f];
			const char *k = w->lay.fk[f] >= 0 ? r->values[w->lay.fk[f]] : NULL;
			int32_t id = REF_NULL;

			if (k && !keymap_get(&ctx->ids[fk->target], k, &id))
				id = REF_NULL;
			r->fk_ids[f] = id;
			if (id == REF_NULL && fk->required) {
				log_error("%s %s skipped: its %s %s has no APiLos row (reference "
				          "deleted)",
				          entity_name(w->def->ent), r->values[w->lay.key],
				          entity_name(fk->target), k ? k : "(none)");
				r->act = A_NULL;
				r->id = REF_NULL;
				break;
			}
		}
		if (w->def->keep_map)
			keymap_put(&ctx->ids[w->def->ent], r->values[w->lay.key], r->id);
	}
}

/* copy_header appends "COPY table (cols) FROM STDIN" for the rows to create. */
static void copy_header(writer *w, strbuf *sql)
{
	sb_append(sql, "COPY ");
	sb_append(sql, w->def->table);
	sb_append(sql, " (id, uuid");
	for (int f = 0; f < w->def->n_fks; f++) {
		sb_append(sql, ", ");
		sb_append(sql, w->def->fks[f].column);
	}
	for (int c = 0; c < w->lay.ncols; c++) {
		if (w->lay.target[c]) {
			sb_append(sql, ", ");
			sb_append(sql, w->lay.names[c]);
		}
	}
	if (w->def->auto_times)
		sb_append(sql, ", cree_le, mis_a_jour_le");
	sb_append(sql, ") FROM STDIN");
}

/* copy_row appends one row to create in COPY text format. */
static void copy_row(writer *w, const wrow *r, strbuf *data)
{
	char num[16], uuid[37];

	snprintf(num, sizeof(num), "%d", (int)r->id);
	uuid_v4(uuid);
	sb_copy_field(data, num, true);
	sb_copy_field(data, uuid, false);
	for (int f = 0; f < w->def->n_fks; f++) {
		snprintf(num, sizeof(num), "%d", (int)r->fk_ids[f]);
		sb_copy_field(data, r->fk_ids[f] == REF_NULL ? NULL : num, false);
	}
	for (int c = 0; c < w->lay.ncols; c++) {
		if (w->lay.target[c])
			sb_copy_field(data, r->values[c], false);
	}
	if (w->def->auto_times) {
		sb_copy_field(data, w->ctx->now, false);
		sb_copy_field(data, w->ctx->now, false);
	}
	sb_append_char(data, '\n');
}

/* writer_run_copy sends one COPY with all of data. */
bool writer_run_copy(pgconn *conn, const char *what, const char *sql, const strbuf *data)
{
	return pg_copy_begin(conn, what, sql) && pg_copy_put(conn, what, data->data, data->len) &&
	       pg_copy_end(conn, what);
}

/* writer_write_created COPYs the new rows into their table. */
bool writer_write_created(writer *w, pgconn *conn)
{
	strbuf sql, data;
	bool any = false, ok = true;

	sb_init(&sql);
	sb_init(&data);
	copy_header(w, &sql);
	for (size_t i = 0; i < w->n; i++) {
		if (w->rows[i].act == A_CREATE) {
			copy_row(w, &w->rows[i], &data);
			any = true;
		}
	}
	if (any)
		ok = writer_run_copy(conn, w->def->table, sql.data, &data);
	sb_free(&sql);
	sb_free(&data);
	return ok;
}

/* writer_write_references COPYs the references of the rows created or matched (§3.4 step 5). */
bool writer_write_references(writer *w, pgconn *conn)
{
	import_ctx *ctx = w->ctx;
	strbuf data;
	char num[16];
	bool ok = true;

	sb_init(&data);
	for (size_t i = 0; i < w->n; i++) {
		const wrow *r = &w->rows[i];
		if ((r->act != A_CREATE && r->act != A_MATCH) || r->repoint)
			continue;
		snprintf(num, sizeof(num), "%d", (int)r->id);
		sb_copy_field(&data, entity_model(w->def->ent), true);
		sb_copy_field(&data, r->values[w->lay.key], false);
		sb_copy_field(&data, num, false);
		sb_copy_field(&data, ctx->departement, false);
		sb_copy_field(&data, ctx->run_date, false);
		sb_copy_field(&data, "f", false);
		sb_append_char(&data, '\n');
	}
	if (data.len)
		ok = writer_run_copy(
		        conn, "ecoloweb_ecoloreference",
		        "COPY ecoloweb_ecoloreference (apilos_model, ecolo_id, apilos_id, "
		        "departement, importe_le, est_supprime) FROM STDIN",
		        &data);
	sb_free(&data);
	return ok;
}

/* writer_repoint_references rewrites the tombstoned or dangling references rows now point to (B11).
 */
bool writer_repoint_references(writer *w, pgconn *conn)
{
	char **keys = calloc(w->n, sizeof(char *));
	int32_t *ids = calloc(w->n, sizeof(int32_t));
	size_t n = 0;

	if (!keys || !ids)
		abort();
	for (size_t i = 0; i < w->n; i++) {
		const wrow *r = &w->rows[i];
		if (r->repoint && (r->act == A_CREATE || r->act == A_MATCH)) {
			keys[n] = r->values[w->lay.key];
			ids[n++] = r->id;
		}
	}
	bool ok = refs_repoint(conn, entity_model(w->def->ent), keys, ids, n);
	free(keys);
	free(ids);
	return ok;
}

/* count_batch adds the batch's outcomes to the counters and remembers what was written. */
static void count_batch(writer *w)
{
	import_ctx *ctx = w->ctx;
	entity_counts *c = &ctx->counts[w->def->ent];

	for (size_t i = 0; i < w->n; i++) {
		const wrow *r = &w->rows[i];
		const char *key = r->values[w->lay.key];

		c->created += r->act == A_CREATE;
		c->matched += r->act == A_MATCH;
		c->updated += r->act == A_UPDATE;
		c->skipped += r->act == A_SKIP || r->act == A_NULL;
		/* ids were remembered by flush and resolve_fks: only what was written is new */
		if (w->def->keep_map && (r->act == A_CREATE || r->act == A_UPDATE))
			keymap_put(&ctx->done[w->def->ent], key, r->id);
	}
}

/* flush_verify hands the buffered batch, mapped as flush would write it, to verify_batch. */
static bool flush_verify(writer *w)
{
	char **rows[WRITER_BATCH];

	for (size_t i = 0; i < w->n; i++)
		rows[i] = w->rows[i].values;
	verify_rows b = {.def = w->def,
	                 .ncols = w->lay.ncols,
	                 .names = w->lay.names,
	                 .target = w->lay.target,
	                 .key = w->lay.key,
	                 .fk = w->lay.fk,
	                 .rows = rows,
	                 .n = w->n};
	bool ok = verify_batch(w->ctx, &b);

	for (size_t i = 0; i < w->n; i++)
		writer_free_values(w->rows[i].values, w->lay.ncols);
	w->n = 0;
	if (ok && w->ctx->progress)
		w->ctx->progress(w->ctx, w->def->ent);
	return ok;
}

/* writer_flush writes the buffered batch: see writer.h for the round trips it costs. */
bool writer_flush(writer *w)
{
	import_ctx *ctx = w->ctx;
	pgconn *conn = ctx->dst;

	if (ctx->verify)
		return flush_verify(w);
	char **keys = calloc(w->n + 1, sizeof(char *));
	char **dead = calloc(w->n + 1, sizeof(char *));
	size_t n_dead = 0;
	bool ok;

	if (!keys || !dead)
		abort();
	fault_point("write");
	for (size_t i = 0; i < w->n; i++)
		keys[i] = w->rows[i].values[w->lay.key];
	if (w->def->has_identity && ctx->side) {
		ok = shared_rows_flush(w, keys);
	} else {
		ok = writer_decide(w, conn, keys, dead, &n_dead) && writer_allocate_ids(w, conn);
		if (ok && w->def->has_identity) {
			ok = identity_match(w, conn);
			identity_dedupe(w);
		}
	}
	if (ok && w->def->keep_map) {
		for (size_t i = 0; i < w->n; i++)
			keymap_put(&ctx->ids[w->def->ent], keys[i], w->rows[i].id);
	}
	ok = ok && preload_parents(w);
	if (ok)
		resolve_fks(w);
	if (!(w->def->has_identity && ctx->side))
		ok = ok && writer_write_created(w, conn) && writer_write_references(w, conn) &&
		     writer_repoint_references(w, conn) &&
		     refs_mark_deleted(conn, entity_model(w->def->ent), dead, n_dead) &&
		     update_rows_write(w, conn);
	if (ok)
		count_batch(w);
	else
		log_error("writing a batch of %s rows into %s failed", entity_name(w->def->ent),
		          w->def->table);
	for (size_t i = 0; i < w->n; i++)
		writer_free_values(w->rows[i].values, w->lay.ncols);
	w->n = 0;
	free(keys);
	free(dead);
	if (ok && ctx->progress)
		ctx->progress(ctx, w->def->ent);
	return ok;
}

bool writer_run(import_ctx *ctx, const entity_def *def, int nparams, const char *const *params)
{
	writer *w = calloc(1, sizeof(writer));

	if (!w)
		abort();
	w->ctx = ctx;
	w->def = def;
	bool ok = pg_stream(ctx->src, entity_name(def->ent), def->sql, nparams, params,
	                    writer_on_row, w);
	if (ok && w->n > 0)
		ok = writer_flush(w);
	for (size_t i = 0; i < w->n; i++)
		writer_free_values(w->rows[i].values, w->lay.ncols);
	if (w->have_layout)
		writer_free_layout(&w->lay);
	free(w);
	return ok;
}
