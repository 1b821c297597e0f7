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
#include <time.h>

#include "fault_point.h"
#include "log.h"
#include "pyfloat.h"
#include "redis_client.h"
#include "redis_locks.h"
#include "row_check.h"
#include "strbuf.h"
#include "uuid.h"
#include "verify.h"
#include "worker.h"
#include "writer.h"

typedef enum action { A_CREATE, A_MATCH, A_UPDATE, A_SKIP, A_NULL } action;

/* Where the columns of the query's rows are; fixed by its first row. */
typedef struct layout {
	int ncols;
	char **names;
	bool *target;             /* a column of the APiLos table (not a meta "_" column) */
	const column_rule **rule; /* what APiLos accepts there; NULL for the meta columns */
	int key, ecolo, error, warn, skip, q_cree, q_maj;
	int fk[MAX_FKS];
} layout;

typedef struct wrow {
	char **values;
	action act;
	int32_t id;
	int32_t fk_ids[MAX_FKS];
	bool repoint; /* rewrite the existing reference (B11) */
} wrow;

typedef struct writer {
	import_ctx *ctx;
	const entity_def *def;
	pgconn *conn; /* where rows are written: the département's transaction, or the side one */
	layout lay;
	bool have_layout;
	wrow rows[WRITER_BATCH];
	size_t n;
} writer;

/* An identity rule: the row's value of field is looked up in table.column. */
typedef struct identity_rule {
	const char *field;
	const char *column;
	int slot;            /* index in ctx->identity */
	const char *warning; /* logged when this rule matches, or NULL */
} identity_rule;

static const identity_rule bailleur_identity[] = {
        {"_identity_siren", "siren", 0, NULL},
        {"siret", "siret", 1, "no SIREN match, reusing the bailleur with the same siret (B9)"},
        {"siren", "siren", 0, "reusing the bailleur with the same derived siren"},
        {NULL, NULL, 0, NULL}};
static const identity_rule administration_identity[] = {{"code", "code", 2, NULL},
                                                        {NULL, NULL, 0, NULL}};

/* identity_rules returns the identity rules of the writer's entity (bailleur or administration). */
static const identity_rule *identity_rules(const writer *w)
{
	return w->def->ent == ENT_BAILLEUR ? bailleur_identity : administration_identity;
}

/* column_index returns the index of name in the layout, or -1. */
static int column_index(const layout *lay, const char *name)
{
	for (int i = 0; i < lay->ncols; i++) {
		if (strcmp(lay->names[i], name) == 0)
			return i;
	}
	return -1;
}

/* is_time_column: the query's creation and update times of an auto_now model */
static bool is_time_column(const char *name)
{
	return strcmp(name, "_q_cree_le") == 0 || strcmp(name, "_q_mis_a_jour_le") == 0;
}

/*
 * build_layout reads the column names of the query's first row. False when
 * a column of APiLos has no rule (src/column_rules.c): every mapped column
 * must say what APiLos accepts.
 */
static bool build_layout(writer *w, const PGresult *res)
{
	layout *lay = &w->lay;
	bool ok = true;

	lay->ncols = PQnfields(res);
	lay->names = calloc(lay->ncols, sizeof(char *));
	lay->target = calloc(lay->ncols, sizeof(bool));
	lay->rule = calloc(lay->ncols, sizeof(column_rule *));
	if (!lay->names || !lay->target || !lay->rule)
		abort();
	for (int i = 0; i < lay->ncols; i++) {
		lay->names[i] = strdup(PQfname(res, i));
		lay->target[i] = lay->names[i][0] != '_';
		if (!lay->target[i] && !is_time_column(lay->names[i]))
			continue;
		/* _q_cree_le is written into cree_le: the rule of cree_le */
		lay->rule[i] =
		        column_rule_find(w->def->table, lay->names[i] + (lay->target[i] ? 0 : 3));
		if (lay->rule[i] == NULL) {
			log_error("%s.%s has no rule of what APiLos accepts (src/column_rules.c)",
			          w->def->table, lay->names[i]);
			ok = false;
		}
	}
	lay->key = column_index(lay, "_key");
	lay->ecolo = column_index(lay, "_ecolo");
	lay->error = column_index(lay, "_error");
	lay->warn = column_index(lay, "_warn");
	lay->skip = column_index(lay, "_skip");
	lay->q_cree = column_index(lay, "_q_cree_le");
	lay->q_maj = column_index(lay, "_q_mis_a_jour_le");
	for (int f = 0; f < w->def->n_fks; f++)
		lay->fk[f] = column_index(lay, w->def->fks[f].key_field);
	w->have_layout = true;
	return ok;
}

static void free_layout(layout *lay)
{
	for (int i = 0; i < lay->ncols; i++)
		free(lay->names[i]);
	free(lay->names);
	free(lay->target);
	free(lay->rule);
}

/* row_label names a row in messages: "lot 421328:PLUS:0 (ecolo_programmelogement 557612)". */
static void row_label(const writer *w, char *const *v, char *buf, size_t len)
{
	const char *key = w->lay.key >= 0 && v[w->lay.key] ? v[w->lay.key] : "?";
	const char *ecolo = w->lay.ecolo >= 0 && v[w->lay.ecolo] ? v[w->lay.ecolo] : "";

	snprintf(buf, len, "%s %s%s%s%s", entity_name(w->def->ent), key, *ecolo ? " (" : "", ecolo,
	         *ecolo ? ")" : "");
}

/*
 * mapping_error reports a row that cannot be mapped. Outside a dry run the
 * département stops here; a dry run (and a verify) lists them all.
 */
static bool mapping_error(writer *w, char *const *v, const char *why)
{
	char label[256];
	import_ctx *ctx = w->ctx;

	row_label(w, v, label, sizeof(label));
	log_error("cannot map %s, table %s: %s", label, w->def->table, why);
	ctx->counts[w->def->ent].errors++;
	ctx->mapping_errors++;
	if (w->def->keep_map && v[w->lay.key])
		keymap_put(&ctx->ids[w->def->ent], v[w->lay.key], REF_NULL);
	return ctx->dry_run || ctx->verify;
}

/* transform_value applies the column's C-side rule; false with why on a bad value. */
static bool transform_value(writer *w, const char *column, const char *in, char **out, char *why,
                            size_t whylen)
{
	char buf[256];

	switch (col_kind_of(w->def, column)) {
	case COL_R2P:
		if (in == NULL)
			break;
		if (!py_round2_text(in, buf, sizeof(buf)) || strlen(buf) > 13) {
			snprintf(why, whylen, "%s: value %s does not fit numeric(12,2)", column,
			         in);
			return false;
		}
		*out = strdup(buf);
		return true;
	case COL_SURFACE:
		if (!surface_text(in, buf, sizeof(buf))) {
			snprintf(why, whylen, "%s: superficie %s is not a number", column, in);
			return false;
		}
		*out = strdup(buf);
		return true;
	case COL_NOW_IF_NULL:
		*out = strdup(in ? in : w->ctx->now);
		return true;
	case COL_PLAIN:
		break;
	}
	*out = in ? strdup(in) : NULL;
	return true;
}

static void free_values(char **values, int n)
{
	for (int i = 0; i < n; i++)
		free(values[i]);
	free(values);
}

static bool flush(writer *w);

/* on_row is the pg_stream callback: check, transform and buffer one row. */
static bool on_row(void *arg, const PGresult *res)
{
	writer *w = arg;
	import_ctx *ctx = w->ctx;
	char why[512];

	if (worker_stop_requested)
		return false;
	if (!w->have_layout && !build_layout(w, res))
		return false;
	ctx->counts[w->def->ent].read++;
	fault_point("read");

	char **v = calloc(w->lay.ncols, sizeof(char *));
	if (!v)
		abort();
	for (int i = 0; i < w->lay.ncols; i++) {
		const char *in = pg_value(res, 0, i);
		if (!transform_value(w, w->lay.names[i], in, &v[i], why, sizeof(why))) {
			bool go_on = mapping_error(w, v, why);
			free_values(v, w->lay.ncols);
			return go_on;
		}
	}
	if (w->lay.error >= 0 && v[w->lay.error]) {
		bool go_on = mapping_error(w, v, v[w->lay.error]);
		free_values(v, w->lay.ncols);
		return go_on;
	}
	if (w->lay.warn >= 0 && v[w->lay.warn]) {
		char label[256];
		row_label(w, v, label, sizeof(label));
		log_warn("%s: %s", label, v[w->lay.warn]);
	}
	if (w->lay.skip >= 0 && v[w->lay.skip] && strcmp(v[w->lay.skip], "t") == 0) {
		free_values(v, w->lay.ncols);
		return true;
	}
	/* what APiLos could not read back is reported, never written (§7 C5) */
	if (!row_check(w->lay.rule, v, w->lay.ncols, why, sizeof(why))) {
		bool go_on = mapping_error(w, v, why);
		free_values(v, w->lay.ncols);
		return go_on;
	}
	w->rows[w->n++] = (wrow){.values = v};
	return w->n < WRITER_BATCH || flush(w);
}

/* decide sets each row's action from its reference (mapping.md §3.3). */
static bool decide(writer *w, char **keys, char **dead, size_t *n_dead)
{
	import_ctx *ctx = w->ctx;
	const entity_def *def = w->def;
	ref_info *refs = calloc(w->n, sizeof(ref_info));

	if (!refs)
		abort();
	if (!refs_lookup(w->conn, entity_model(def->ent), def->table, keys, w->n, refs)) {
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

/* allocate_ids takes one block of ids from the table's sequence for the rows to create. */
static bool allocate_ids(writer *w)
{
	size_t want = 0;
	char count[32];

	for (size_t i = 0; i < w->n; i++)
		want += w->rows[i].act == A_CREATE;
	if (want == 0)
		return true;
	snprintf(count, sizeof(count), "%zu", want);
	const char *params[] = {w->def->table, count};
	PGresult *res = pg_exec(w->conn, "allocate ids",
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

/*
 * identity_fetch reads the APiLos rows whose column holds one of the
 * batch's values. '' is a value like the others: a NULL siret is written ''
 * (mapping.md C8) and, siret being unique, two of them are one bailleur.
 */
static bool identity_fetch(writer *w, const identity_rule *rule, int field, keymap *found)
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
	PGresult *res = n ? pg_exec(w->conn, "identity lookup", sql.data, 1, params) : NULL;
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
static bool identity_match(writer *w)
{
	const identity_rule *rules = identity_rules(w);
	import_ctx *ctx = w->ctx;

	for (const identity_rule *rule = rules; rule->field; rule++) {
		int field = column_index(&w->lay, rule->field);
		keymap found = {0};

		if (field < 0 || !identity_fetch(w, rule, field, &found)) {
			keymap_free(&found);
			return field < 0;
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
 * dedupe_identity: two rows of one batch with the same identity (two Ecolo
 * bailleurs, one SIREN) become one APiLos row: the later ones match the first.
 */
static void dedupe_identity(writer *w)
{
	const identity_rule *rules = identity_rules(w);

	for (size_t i = 0; i < w->n; i++) {
		wrow *r = &w->rows[i];
		for (const identity_rule *rule = rules; r->act == A_CREATE && rule->field; rule++) {
			int field = column_index(&w->lay, rule->field);
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
			int field = column_index(&w->lay, rule->field);
			const char *v = field >= 0 ? r->values[field] : NULL;
			if (v)
				keymap_put(&w->ctx->identity[rule->slot], v, r->id);
		}
	}
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

/* run_copy sends one COPY with all of data. */
static bool run_copy(pgconn *conn, const char *what, const char *sql, const strbuf *data)
{
	return pg_copy_begin(conn, what, sql) && pg_copy_put(conn, what, data->data, data->len) &&
	       pg_copy_end(conn, what);
}

/* write_created COPYs the new rows into their table. */
static bool write_created(writer *w)
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
		ok = run_copy(w->conn, w->def->table, sql.data, &data);
	sb_free(&sql);
	sb_free(&data);
	return ok;
}

/* write_references COPYs the references of the rows created or matched (§3.4 step 5). */
static bool write_references(writer *w)
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
		ok = run_copy(w->conn, "ecoloweb_ecoloreference",
		              "COPY ecoloweb_ecoloreference (apilos_model, ecolo_id, apilos_id, "
		              "departement, importe_le, est_supprime) FROM STDIN",
		              &data);
	sb_free(&data);
	return ok;
}

/* repoint_references rewrites the tombstoned or dangling references rows now point to (B11). */
static bool repoint_references(writer *w)
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
	bool ok = refs_repoint(w->conn, entity_model(w->def->ent), keys, ids, n);
	free(keys);
	free(ids);
	return ok;
}

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
static bool touch_refs(writer *w)
{
	strbuf sql;
	const char *params[2] = {w->ctx->run_date, entity_model(w->def->ent)};
	bool ok;

	sb_init(&sql);
	sb_append(&sql, "UPDATE ecoloweb_ecoloreference r SET importe_le = $1::date FROM _stage_");
	sb_append(&sql, w->def->table);
	sb_append(&sql, " s WHERE r.apilos_model = $2 AND r.apilos_id = s.id");
	ok = pg_exec_ok(w->conn, "date the references of the rewritten rows", sql.data, 2, params);
	sb_free(&sql);
	return ok;
}

/* write_updates rewrites the rows already imported (--update) through a staging table. */
static bool write_updates(writer *w)
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
	ok = pg_exec_ok(w->conn, "create staging table", create.data, 0, NULL) &&
	     pg_exec_ok(w->conn, "empty staging table", truncate.data, 0, NULL) &&
	     run_copy(w->conn, "staging rows", copy.data, &data) &&
	     pg_exec_ok(w->conn, "update rows", update.data, 0, NULL) && touch_refs(w);
	sb_free(&cols);
	sb_free(&create);
	sb_free(&truncate);
	sb_free(&copy);
	sb_free(&update);
	sb_free(&data);
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

#define LOCK_TTL_MS 30000L
#define LOCK_WAIT_SECONDS 30
#define SHARED_ATTEMPTS 5

/* lock_key writes "ecoloweb:lock:<apilos_model>:<ecolo_id>" into a malloc'd string. */
static char *lock_key(const writer *w, const char *key)
{
	strbuf sb;

	sb_init(&sb);
	sb_append(&sb, REDIS_LOCK_PREFIX);
	sb_append(&sb, entity_model(w->def->ent));
	sb_append_char(&sb, ':');
	sb_append(&sb, key);
	return sb.data;
}

/*
 * create_locked creates, in one short transaction on the side connection
 * that commits at once, the rows of this round whose lock is held: they
 * outlive the département's transaction on purpose (design.md).
 */
static bool create_locked(writer *w)
{
	bool ok = pg_exec_ok(w->conn, "begin shared", "BEGIN", 0, NULL) && allocate_ids(w) &&
	          identity_match(w);

	if (ok) {
		dedupe_identity(w);
		ok = write_created(w) && write_references(w) && repoint_references(w) &&
		     pg_exec_ok(w->conn, "commit shared", "COMMIT", 0, NULL);
	}
	if (!ok) {
		char state[6];
		memcpy(state, w->conn->sqlstate, sizeof(state));
		pg_exec_ok(w->conn, "rollback shared", "ROLLBACK", 0, NULL);
		memcpy(w->conn->sqlstate, state,
		       sizeof(state)); /* the caller retries a lost race */
		/* the identities remembered this round point to rows that do not exist */
		for (int i = 0; i < 3; i++)
			keymap_free(&w->ctx->identity[i]);
	}
	return ok;
}

/*
 * take_over_dead takes the locks a dead worker of this machine still holds
 * (killed while it held them): otherwise they block every launch until
 * they expire.
 */
static bool take_over_dead(writer *w, char **locks, size_t n_locks, bool *held)
{
	redis_client *rc = w->ctx->redis;
	size_t before = 0, after = 0;

	for (size_t l = 0; l < n_locks; l++)
		before += held[l];
	if (before == n_locks)
		return true;
	if (!redis_lock_take_over_dead(rc, locks, n_locks, LOCK_TTL_MS, held)) {
		log_error("Redis: cannot read who holds the %s locks (%s)",
		          entity_name(w->def->ent), rc->err);
		return false;
	}
	for (size_t l = 0; l < n_locks; l++)
		after += held[l];
	if (after > before)
		log_warn("%s: %zu lock(s) held by a process that died taken over",
		         entity_name(w->def->ent), after - before);
	return true;
}

/*
 * shared_round: one attempt over the unresolved rows. decide() reads the
 * committed references; the rows to create are locked in Redis, created
 * and committed, then unlocked. Rows whose lock another worker holds stay
 * unresolved for the next round.
 */
static bool shared_round(writer *w, char **keys, action *final, bool *resolved, size_t *waiting)
{
	redis_client *rc = w->ctx->redis;
	char **locks = calloc(w->n + 1, sizeof(char *));
	bool *held = calloc(w->n + 1, sizeof(bool));
	int *lock_of = calloc(w->n + 1, sizeof(int));
	char *dead[1];
	size_t n_dead = 0, n_locks = 0;
	bool ok;

	if (!locks || !held || !lock_of)
		abort();
	ok = decide(w, keys, dead, &n_dead);
	for (size_t i = 0; ok && i < w->n; i++) {
		lock_of[i] = -1;
		if (resolved[i])
			w->rows[i].act = A_SKIP; /* done in an earlier round: left alone */
		else if (w->rows[i].act == A_CREATE) {
			lock_of[i] = (int)n_locks;
			locks[n_locks++] = lock_key(w, keys[i]);
		}
	}
	if (ok && rc == NULL) {
		for (size_t l = 0; l < n_locks; l++)
			held[l] = true; /* one worker at a time: nobody to wait for */
	} else if (ok && n_locks > 0 && !redis_lock_many(rc, locks, n_locks, LOCK_TTL_MS, held)) {
		log_error("Redis: cannot lock the %s references (%s): the département cannot share "
		          "them "
		          "safely",
		          entity_name(w->def->ent), rc->err);
		ok = false;
	} else if (ok && n_locks > 0) {
		ok = take_over_dead(w, locks, n_locks, held);
	}
	if (ok && rc && n_locks > 0)
		fault_point("lock");
	/* the winner looks again: another worker may have committed the row meanwhile */
	ok = ok && decide(w, keys, dead, &n_dead);
	*waiting = 0;
	for (size_t i = 0; ok && i < w->n; i++) {
		if (resolved[i])
			w->rows[i].act = A_SKIP;
		else if (w->rows[i].act == A_CREATE && (lock_of[i] < 0 || !held[lock_of[i]])) {
			w->rows[i].act =
			        A_NULL; /* another worker holds it: look again next round */
			(*waiting)++;
		}
	}
	free(lock_of);
	ok = ok && create_locked(w);
	for (size_t i = 0; ok && i < w->n; i++) {
		if (!resolved[i] && w->rows[i].act != A_NULL) {
			resolved[i] = true;
			final[i] = w->rows[i].act;
		}
	}
	size_t n_held = 0;
	for (size_t l = 0; l < n_locks; l++) {
		if (held[l])
			locks[n_held++] = locks[l];
		else
			free(locks[l]);
	}
	if (n_held && rc && rc->ctx && !redis_unlock_many(rc, locks, n_held))
		log_warn("Redis: cannot release %zu lock(s): they expire in %ld s", n_held,
		         LOCK_TTL_MS / 1000);
	for (size_t l = 0; l < n_held; l++)
		free(locks[l]);
	free(locks);
	free(held);
	return ok;
}

/* lost_race tells whether the side transaction failed because another worker won a race. */
static bool lost_race(const pgconn *conn)
{
	return strcmp(conn->sqlstate, "23505") == 0 || strcmp(conn->sqlstate, "40P01") == 0;
}

/*
 * flush_shared writes a batch of bailleurs or administrations when several
 * workers may need them at once (design.md, "Shared entities and Redis
 * locks"). The unique constraint of the references stays the last guard:
 * a round that loses a race on it is rolled back and tried again.
 */
static bool flush_shared(writer *w, char **keys)
{
	action *final = calloc(w->n + 1, sizeof(action));
	bool *resolved = calloc(w->n + 1, sizeof(bool));
	time_t deadline = time(NULL) + LOCK_WAIT_SECONDS;
	bool ok = true;
	int attempts = 0;

	if (!final || !resolved)
		abort();
	w->conn = w->ctx->side;
	/* a lost race on a unique constraint, or two workers inserting the same SIRENs in another
	 * order */
	w->conn->expected = "23505 40P01";
	for (;;) {
		size_t waiting = 0;
		ok = shared_round(w, keys, final, resolved, &waiting);
		if (!ok && lost_race(w->conn) && ++attempts < SHARED_ATTEMPTS) {
			log_warn("%s: another worker created the same row first (SQLSTATE %s): "
			         "trying again",
			         entity_name(w->def->ent), w->conn->sqlstate);
			continue;
		}
		if (!ok || waiting == 0)
			break;
		if (time(NULL) > deadline || worker_stop_requested) {
			log_error("waited more than %d s for %zu %s lock(s) held by another worker",
			          LOCK_WAIT_SECONDS, waiting, entity_name(w->def->ent));
			ok = false;
			break;
		}
		struct timespec pause = {0, 100 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	for (size_t i = 0; ok && i < w->n; i++)
		w->rows[i].act = final[i];
	if (!ok && lost_race(w->conn))
		log_error("%s: still losing the race to another worker after %d attempts",
		          entity_name(w->def->ent), SHARED_ATTEMPTS);
	w->conn->expected = NULL;
	w->conn = w->ctx->dst;
	free(final);
	free(resolved);
	return ok;
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
		free_values(w->rows[i].values, w->lay.ncols);
	w->n = 0;
	if (ok && w->ctx->progress)
		w->ctx->progress(w->ctx, w->def->ent);
	return ok;
}

/* flush writes the buffered batch: see writer.h for the round trips it costs. */
static bool flush(writer *w)
{
	import_ctx *ctx = w->ctx;

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
		ok = flush_shared(w, keys);
	} else {
		ok = decide(w, keys, dead, &n_dead) && allocate_ids(w);
		if (ok && w->def->has_identity) {
			ok = identity_match(w);
			dedupe_identity(w);
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
		ok = ok && write_created(w) && write_references(w) && repoint_references(w) &&
		     refs_mark_deleted(w->conn, entity_model(w->def->ent), dead, n_dead) &&
		     write_updates(w);
	if (ok)
		count_batch(w);
	else
		log_error("writing a batch of %s rows into %s failed", entity_name(w->def->ent),
		          w->def->table);
	for (size_t i = 0; i < w->n; i++)
		free_values(w->rows[i].values, w->lay.ncols);
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
	w->conn = ctx->dst;
	bool ok = pg_stream(ctx->src, entity_name(def->ent), def->sql, nparams, params, on_row, w);
	if (ok && w->n > 0)
		ok = flush(w);
	for (size_t i = 0; i < w->n; i++)
		free_values(w->rows[i].values, w->lay.ncols);
	if (w->have_layout)
		free_layout(&w->lay);
	free(w);
	return ok;
}
