/*
 * worker/verify.c
 *     --verify (see verify.h). The writer hands over each batch as it would
 *     write it; here the batch's references are looked up, the foreign keys
 *     resolved through the references as the writer does, and the mapped
 *     columns compared with the APiLos rows in one query per batch: the
 *     expected values go as array parameters (a read-only transaction
 *     refuses even a temporary table), cast to each column's type so that
 *     12.50 and 12.5 are one value. Only reads: the target session is
 *     read-only (worker.c).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "row_check.h"
#include "strbuf.h"
#include "verify.h"
#include "verify_state.h"

/* A compared column: a mapped value (value >= 0) or a foreign key (fk >= 0). */
typedef struct cmp_col {
	const char *column;
	const char *type;
	int value;
	int fk;
	bool now_if_null; /* NULL there means "the insertion time": not compared */
} cmp_col;

void verify_begin(import_ctx *ctx, int max_print)
{
	verify_state *st = calloc(1, sizeof(verify_state));

	if (!st)
		abort();
	st->max_print = max_print;
	ctx->verify_state = st;
}

/* free_types releases the column types of every table. */
static void free_types(verify_state *st)
{
	for (int e = 0; e < ENT_COUNT; e++) {
		for (int i = 0; i < st->types[e].n; i++) {
			free(st->types[e].names[i]);
			free(st->types[e].types[i]);
		}
		free(st->types[e].names);
		free(st->types[e].types);
	}
}

void verify_end(import_ctx *ctx)
{
	verify_state *st = ctx->verify_state;

	if (!st)
		return;
	for (int e = 0; e < ENT_COUNT; e++)
		keymap_free(&st->seen[e]);
	free_types(st);
	free(st);
	ctx->verify_state = NULL;
}

void verify_reset(import_ctx *ctx)
{
	verify_state *st = ctx->verify_state;
	int max_print = st ? st->max_print : 0;

	verify_end(ctx);
	verify_begin(ctx, max_print);
}

/* add_total counts one difference of ent's column. */
static void add_total(verify_state *st, entity ent, const char *column)
{
	for (size_t i = 0; i < st->n_totals; i++) {
		if (st->totals[i].ent == ent && strcmp(st->totals[i].column, column) == 0) {
			st->totals[i].n++;
			return;
		}
	}
	if (st->n_totals == MAX_TOTALS)
		return; /* far more columns than the mapping has: the grand total still counts */
	col_total *t = &st->totals[st->n_totals++];
	t->ent = ent;
	snprintf(t->column, sizeof(t->column), "%s", column);
	t->n = 1;
}

/*
 * verify_report counts one difference of the row of key and logs it while fewer
 * than max_print were: model, Ecolo key, column, expected and found values.
 * what, when not NULL, replaces the values (a missing row).
 */
void verify_report(import_ctx *ctx, entity ent, const char *key, const char *column,
                   const char *expected, const char *found, const char *what)
{
	verify_state *st = ctx->verify_state;
	char qe[256], qf[256];

	st->differences++;
	ctx->counts[ent].errors++;
	add_total(st, ent, column);
	if (st->printed >= (unsigned long)st->max_print)
		return;
	st->printed++;
	if (what) {
		log_error("difference: %s %s: %s", entity_model(ent), key, what);
		return;
	}
	quote_value(expected, qe, sizeof(qe));
	quote_value(found, qf, sizeof(qf));
	log_error("difference: %s %s, column %s: expected %s, found %s", entity_model(ent), key,
	          column, qe, qf);
}

/* load_types reads the columns of e's table and their types, once. */
static bool load_types(import_ctx *ctx, entity e)
{
	table_types *tt = &((verify_state *)ctx->verify_state)->types[e];
	const char *params[] = {entity_def_of(e)->table};

	if (tt->loaded)
		return true;
	PGresult *res = pg_exec(ctx->dst, "column types",
	                        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)\n"
	                        "FROM pg_attribute a\n"
	                        "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT "
	                        "a.attisdropped",
	                        1, params);
	if (res == NULL)
		return false;
	tt->n = PQntuples(res);
	tt->names = calloc(tt->n + 1, sizeof(char *));
	tt->types = calloc(tt->n + 1, sizeof(char *));
	if (!tt->names || !tt->types)
		abort();
	for (int i = 0; i < tt->n; i++) {
		tt->names[i] = strdup(PQgetvalue(res, i, 0));
		tt->types[i] = strdup(PQgetvalue(res, i, 1));
	}
	PQclear(res);
	tt->loaded = true;
	return true;
}

/* type_of returns the SQL type of e's column, or NULL when APiLos has no such column. */
static const char *type_of(import_ctx *ctx, entity e, const char *column)
{
	const table_types *tt = &((verify_state *)ctx->verify_state)->types[e];

	for (int i = 0; i < tt->n; i++) {
		if (strcmp(tt->names[i], column) == 0)
			return tt->types[i];
	}
	return NULL;
}

/* row_key returns the Ecolo key of row i of b. */
static const char *row_key(const verify_rows *b, size_t i)
{
	const char *key = b->rows[i][b->key];

	return key ? key : "?";
}

/* lookup looks up the references of keys; one query. */
static bool lookup(import_ctx *ctx, entity e, char *const *keys, size_t n, ref_info *out)
{
	return refs_lookup(ctx->dst, entity_model(e), entity_def_of(e)->table, keys, n, out);
}

/* missing_why says why a row that an import writes has no APiLos row. */
static const char *missing_why(ref_state state)
{
	switch (state) {
	case REF_TOMBSTONE:
		return "missing in APiLos (its reference is marked deleted, est_supprime)";
	case REF_DANGLING:
		return "missing in APiLos (its reference is kept, the row was deleted)";
	default:
		return "missing in APiLos (never imported)";
	}
}

/*
 * check_refs reads the references of the batch: rows without an APiLos row
 * are differences, the ids of the others go to ids (REF_NULL otherwise)
 * and, for the parents, to ctx->ids as the writer keeps them.
 */
static bool check_refs(import_ctx *ctx, const verify_rows *b, int32_t *ids)
{
	verify_state *st = ctx->verify_state;
	entity e = b->def->ent;
	char **keys = calloc(b->n + 1, sizeof(char *));
	ref_info *refs = calloc(b->n + 1, sizeof(ref_info));

	if (!keys || !refs)
		abort();
	for (size_t i = 0; i < b->n; i++)
		keys[i] = b->rows[i][b->key];
	bool ok = lookup(ctx, e, keys, b->n, refs);
	for (size_t i = 0; ok && i < b->n; i++) {
		bool live = refs[i].state == REF_LIVE;
		int32_t was;

		ids[i] = live ? refs[i].apilos_id : REF_NULL;
		if (b->def->keep_map)
			keymap_put(&ctx->ids[e], keys[i], ids[i]);
		if (keymap_get(&st->seen[e], keys[i], &was))
			continue; /* a shared row named twice: counted once */
		keymap_put(&st->seen[e], keys[i], live);
		st->found[e] += live;
		if (!live)
			verify_report(ctx, e, keys[i], "(row)", NULL, NULL,
			              missing_why(refs[i].state));
	}
	free(keys);
	free(refs);
	return ok;
}

/* load_parents looks up, one query per parent class, the parent keys not yet known. */
static bool load_parents(import_ctx *ctx, const verify_rows *b)
{
	for (int f = 0; f < b->def->n_fks; f++) {
		entity target = b->def->fks[f].target;
		char **missing = calloc(b->n + 1, sizeof(char *));
		ref_info *refs = calloc(b->n + 1, sizeof(ref_info));
		size_t n = 0;
		int32_t id;

		if (!missing || !refs)
			abort();
		for (size_t i = 0; b->fk[f] >= 0 && i < b->n; i++) {
			char *k = b->rows[i][b->fk[f]];
			if (k && !keymap_get(&ctx->ids[target], k, &id)) {
				keymap_put(&ctx->ids[target], k, REF_NULL); /* asked once */
				missing[n++] = k;
			}
		}
		bool ok = lookup(ctx, target, missing, n, refs);
		for (size_t i = 0; ok && i < n; i++)
			keymap_put(&ctx->ids[target], missing[i],
			           refs[i].state == REF_LIVE ? refs[i].apilos_id : REF_NULL);
		free(missing);
		free(refs);
		if (!ok)
			return false;
	}
	return true;
}

/* fk_value writes into buf the APiLos id the row's parent key leads to; NULL when none. */
static const char *fk_value(import_ctx *ctx, const verify_rows *b, size_t i, int f, char *buf,
                            size_t len)
{
	const char *k = b->fk[f] >= 0 ? b->rows[i][b->fk[f]] : NULL;
	int32_t id = REF_NULL;

	if (!k || !keymap_get(&ctx->ids[b->def->fks[f].target], k, &id) || id == REF_NULL)
		return NULL;
	snprintf(buf, len, "%d", (int)id);
	return buf;
}

/*
 * compared_columns lists what is compared: the foreign keys, then the
 * mapped columns (the "_" ones are the query's own). False when APiLos
 * lacks one of them (the schema check of the start should have said so).
 */
static bool compared_columns(import_ctx *ctx, const verify_rows *b, cmp_col *cols, int *n)
{
	entity e = b->def->ent;

	*n = 0;
	for (int f = 0; f < b->def->n_fks; f++)
		cols[(*n)++] = (cmp_col){.column = b->def->fks[f].column, .value = -1, .fk = f};
	for (int c = 0; c < b->ncols; c++) {
		if (b->target[c])
			cols[(*n)++] = (cmp_col){.column = b->names[c],
			                         .value = c,
			                         .fk = -1,
			                         .now_if_null = col_kind_of(b->def, b->names[c]) ==
			                                        COL_NOW_IF_NULL};
	}
	for (int k = 0; k < *n; k++) {
		cols[k].type = type_of(ctx, e, cols[k].column);
		if (cols[k].type == NULL) {
			log_error("APiLos table %s has no column %s: cannot compare it",
			          b->def->table, cols[k].column);
			return false;
		}
	}
	return true;
}

/*
 * compare_sql builds the comparison of one batch: the expected rows as
 * arrays ($1 index in the batch, $2 APiLos id, then one per column) joined
 * to the table, and one output row per column that differs. Identifiers
 * and types come from the code and the catalogue, values are parameters.
 */
static char *compare_sql(const entity_def *def, const cmp_col *cols, int n)
{
	strbuf sb;

	sb_init(&sb);
	sb_append(&sb, "SELECT e.ord, d.col, d.found\nFROM unnest($1::int[], $2::int[]");
	for (int k = 0; k < n; k++)
		sb_printf(&sb, ", $%d::text[]", k + 3);
	sb_append(&sb, ") AS e(ord, id");
	for (int k = 0; k < n; k++)
		sb_printf(&sb, ", c%d", k);
	sb_append(&sb, ")\nJOIN ");
	sb_append(&sb, def->table);
	sb_append(&sb, " t ON t.id = e.id\nCROSS JOIN LATERAL (VALUES ");
	for (int k = 0; k < n; k++) {
		sb_printf(&sb, "%s(%d, ", k ? ", " : "", k);
		if (cols[k].now_if_null)
			sb_printf(&sb, "e.c%d IS NOT NULL AND ", k);
		sb_printf(&sb, "t.%s IS DISTINCT FROM e.c%d::%s, t.%s::text)", cols[k].column, k,
		          cols[k].type, cols[k].column);
	}
	sb_append(&sb, ") AS d(col, differs, found)\nWHERE d.differs\nORDER BY e.ord, d.col");
	return sb.data;
}

/* expected_value writes what an import writes into column k of row i (NULL for SQL NULL). */
static const char *expected_value(import_ctx *ctx, const verify_rows *b, size_t i,
                                  const cmp_col *col, char *buf, size_t len)
{
	if (col->fk >= 0)
		return fk_value(ctx, b, i, col->fk, buf, len);
	const char *v = b->rows[i][col->value];
	/* the writer's NULL: the insertion time, which is not compared */
	if (col->now_if_null && v && strcmp(v, ctx->now) == 0)
		return NULL;
	return v;
}

/*
 * found_rows lists the rows of b found in APiLos: their index in the batch
 * into ord, and the first two parameters of a comparison ($1 the indexes,
 * $2 the APiLos ids). Returns their number.
 */
static size_t found_rows(const verify_rows *b, const int32_t *ids, int32_t *ord, char **params)
{
	int32_t *live = calloc(b->n + 1, sizeof(int32_t));
	size_t m = 0;

	if (!live)
		abort();
	for (size_t i = 0; i < b->n; i++) {
		if (ids[i] != REF_NULL) {
			ord[m] = (int32_t)i;
			live[m++] = ids[i];
		}
	}
	params[0] = sql_int_array(ord, m);
	params[1] = sql_int_array(live, m);
	free(live);
	return m;
}

/* compare_params builds the array parameters of compare_sql for the rows found. */
static char **compare_params(import_ctx *ctx, const verify_rows *b, const int32_t *ids,
                             const cmp_col *cols, int n, size_t *n_live)
{
	char **params = calloc(n + 3, sizeof(char *));
	int32_t *ord = calloc(b->n + 1, sizeof(int32_t));
	char **values = calloc(b->n + 1, sizeof(char *));
	char(*bufs)[16] = calloc(b->n + 1, 16);

	if (!params || !values || !bufs || !ord)
		abort();
	size_t m = found_rows(b, ids, ord, params);
	for (int k = 0; k < n; k++) {
		for (size_t j = 0; j < m; j++)
			values[j] = (char *)expected_value(ctx, b, (size_t)ord[j], &cols[k],
			                                   bufs[j], sizeof(bufs[j]));
		params[k + 2] = sql_text_array(values, m);
	}
	free(ord);
	free(values);
	free(bufs);
	*n_live = m;
	return params;
}

/* report_columns reports each (row, column) the comparison returned. */
static void report_columns(import_ctx *ctx, const verify_rows *b, const cmp_col *cols,
                           const PGresult *res)
{
	char buf[160];

	for (int r = 0; r < PQntuples(res); r++) {
		size_t i = (size_t)atol(PQgetvalue(res, r, 0));
		const cmp_col *col = &cols[atoi(PQgetvalue(res, r, 1))];
		const char *expected = expected_value(ctx, b, i, col, buf, sizeof(buf));

		if (col->fk >= 0) {
			/* the parent named by its Ecolo key, which the operator can look for */
			const fk_def *fk = &b->def->fks[col->fk];
			const char *k = b->rows[i][b->fk[col->fk]];
			char id[16];
			snprintf(id, sizeof(id), "%s", expected ? expected : "NULL");
			snprintf(buf, sizeof(buf), "%s (%s %s)", id, entity_name(fk->target),
			         k ? k : "none");
			expected = buf;
		}
		verify_report(ctx, b->def->ent, row_key(b, i), col->column, expected,
		              pg_value(res, r, 2), NULL);
	}
}

/* compare_rows compares the columns of the rows found in APiLos, in one query. */
static bool compare_rows(import_ctx *ctx, const verify_rows *b, const int32_t *ids)
{
	cmp_col *cols = calloc(b->ncols + MAX_FKS + 1, sizeof(cmp_col));
	int n = 0;
	size_t n_live = 0;

	if (!cols)
		abort();
	if (!load_types(ctx, b->def->ent) || !compared_columns(ctx, b, cols, &n)) {
		free(cols);
		return false;
	}
	char **params = compare_params(ctx, b, ids, cols, n, &n_live);
	char *sql = compare_sql(b->def, cols, n);
	PGresult *res =
	        n_live ? pg_exec(ctx->dst, "compare rows", sql, n + 2, (const char *const *)params)
	               : NULL;
	bool ok = n_live == 0 || res != NULL;

	if (res)
		report_columns(ctx, b, cols, res);
	PQclear(res);
	for (int k = 0; k < n + 2; k++)
		free(params[k]);
	free(params);
	free(sql);
	free(cols);
	return ok;
}

/* An identity the writer matches a shared row on: the query's field, the APiLos column. */
typedef struct ident_pair {
	const char *field;
	const char *column;
} ident_pair;

/* The identities of worker/writer.c (bailleur_identity, administration_identity). */
static const ident_pair administration_ident[] = {{"code", "code"}, {NULL, NULL}};
static const ident_pair bailleur_ident[] = {
        {"_identity_siren", "siren"}, {"siret", "siret"}, {"siren", "siren"}, {NULL, NULL}};

/* field_index returns the index of the query column name in b, or -1. */
static int field_index(const verify_rows *b, const char *name)
{
	for (int c = 0; c < b->ncols; c++) {
		if (strcmp(b->names[c], name) == 0)
			return c;
	}
	return -1;
}

/*
 * identity_sql builds the check of a batch of shared rows: the rows found
 * whose APiLos row has none of the identities the writer matches on.
 */
static char *identity_sql(const entity_def *def, const ident_pair *pairs, int n)
{
	strbuf sb;

	sb_init(&sb);
	sb_append(&sb, "SELECT e.ord");
	for (int k = 0; k < n; k++)
		sb_printf(&sb, ", t.%s::text", pairs[k].column);
	sb_append(&sb, "\nFROM unnest($1::int[], $2::int[]");
	for (int k = 0; k < n; k++)
		sb_printf(&sb, ", $%d::text[]", k + 3);
	sb_append(&sb, ") AS e(ord, id");
	for (int k = 0; k < n; k++)
		sb_printf(&sb, ", v%d", k);
	sb_append(&sb, ")\nJOIN ");
	sb_append(&sb, def->table);
	sb_append(&sb, " t ON t.id = e.id\nWHERE NOT (false");
	for (int k = 0; k < n; k++)
		sb_printf(&sb, " OR coalesce(t.%s = e.v%d, false)", pairs[k].column, k);
	sb_append(&sb, ")\nORDER BY e.ord");
	return sb.data;
}

/* report_identity reports a shared row whose APiLos row has another identity. */
static void report_identity(import_ctx *ctx, const verify_rows *b, const ident_pair *pairs,
                            const int *fields, int n, const PGresult *res, int r)
{
	size_t i = (size_t)atol(PQgetvalue(res, r, 0));
	strbuf text;
	char q[256];

	sb_init(&text);
	sb_append(&text, "identity: expected ");
	for (int k = 0; k < n; k++) {
		quote_value(fields[k] >= 0 ? b->rows[i][fields[k]] : NULL, q, sizeof(q));
		sb_printf(&text, "%s%s %s", k ? " or " : "", pairs[k].column, q);
	}
	sb_append(&text, ", found");
	for (int k = 0; k < n; k++) {
		if (k > 0 && strcmp(pairs[k].column, pairs[0].column) == 0)
			continue; /* siren: said once */
		quote_value(pg_value(res, r, k + 1), q, sizeof(q));
		sb_printf(&text, "%s %s %s", k ? "," : "", pairs[k].column, q);
	}
	verify_report(ctx, b->def->ent, row_key(b, i), "(identity)", NULL, NULL, text.data);
	sb_free(&text);
}

/*
 * compare_identity checks that the reference of each shared row (bailleur,
 * administration) leads to a row with one of the identities the writer
 * matches on (SIREN, siret, code): the other columns may be APiLos' own.
 */
static bool compare_identity(import_ctx *ctx, const verify_rows *b, const int32_t *ids)
{
	const ident_pair *pairs =
	        b->def->ent == ENT_BAILLEUR ? bailleur_ident : administration_ident;
	int n = 0, fields[4];
	char *params[6] = {0};

	for (; pairs[n].field; n++)
		fields[n] = field_index(b, pairs[n].field);
	int32_t *ord = calloc(b->n + 1, sizeof(int32_t));
	char **values = calloc(b->n + 1, sizeof(char *));
	if (!ord || !values)
		abort();
	size_t m = found_rows(b, ids, ord, params);
	for (int k = 0; k < n; k++) {
		for (size_t j = 0; j < m; j++)
			values[j] = fields[k] >= 0 ? b->rows[ord[j]][fields[k]] : NULL;
		params[k + 2] = sql_text_array(values, m);
	}
	char *sql = identity_sql(b->def, pairs, n);
	PGresult *res =
	        m ? pg_exec(ctx->dst, "compare identities", sql, n + 2, (const char *const *)params)
	          : NULL;
	bool ok = m == 0 || res != NULL;

	for (int r = 0; res && r < PQntuples(res); r++)
		report_identity(ctx, b, pairs, fields, n, res, r);
	PQclear(res);
	for (int k = 0; k < n + 2; k++)
		free(params[k]);
	free(sql);
	free(ord);
	free(values);
	return ok;
}

bool verify_batch(import_ctx *ctx, const verify_rows *b)
{
	int32_t *ids = calloc(b->n + 1, sizeof(int32_t));

	if (!ids)
		abort();
	bool ok = check_refs(ctx, b, ids) && load_parents(ctx, b);
	/*
	 * Bailleurs and administrations may be APiLos rows that an import
	 * matched by SIREN, siret or code: their columns are APiLos' own, only
	 * their identity is checked.
	 */
	if (ok)
		ok = b->def->has_identity ? compare_identity(ctx, b, ids)
		                          : compare_rows(ctx, b, ids);
	if (!ok)
		log_error("comparing a batch of %s rows with %s failed", entity_name(b->def->ent),
		          b->def->table);
	free(ids);
	return ok;
}
