/*
 * worker/refs.c
 *     Key maps, reference lookups and reference repairs (mapping.md §3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "refs.h"
#include "strbuf.h"

/* hash_key is FNV-1a: keys are short decimal ids and "capl:FIN:n" strings. */
static size_t hash_key(const char *s)
{
	size_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

void keymap_free(keymap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->ids);
	memset(m, 0, sizeof(*m));
}

/* keymap_slot returns the slot of key, or the empty slot where it belongs. */
static size_t keymap_slot(const keymap *m, const char *key)
{
	size_t i = hash_key(key) & (m->cap - 1);

	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* keymap_grow doubles the table (load factor stays under 1/2). */
static void keymap_grow(keymap *m)
{
	keymap bigger = {.cap = m->cap ? m->cap * 2 : 64};

	bigger.keys = calloc(bigger.cap, sizeof(char *));
	bigger.ids = calloc(bigger.cap, sizeof(int32_t));
	if (!bigger.keys || !bigger.ids)
		abort();
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i]) {
			size_t j = keymap_slot(&bigger, m->keys[i]);
			bigger.keys[j] = m->keys[i];
			bigger.ids[j] = m->ids[i];
		}
	}
	bigger.len = m->len;
	free(m->keys);
	free(m->ids);
	*m = bigger;
}

bool keymap_get(const keymap *m, const char *key, int32_t *id)
{
	if (m->cap == 0)
		return false;
	size_t i = keymap_slot(m, key);

	if (!m->keys[i])
		return false;
	*id = m->ids[i];
	return true;
}

void keymap_put(keymap *m, const char *key, int32_t id)
{
	if ((m->len + 1) * 2 > m->cap)
		keymap_grow(m);
	size_t i = keymap_slot(m, key);

	if (!m->keys[i]) {
		m->keys[i] = strdup(key);
		if (!m->keys[i])
			abort();
		m->len++;
	}
	m->ids[i] = id;
}

/* append_array_item writes one element of an array literal, quoted. */
static void append_array_item(strbuf *sb, const char *v)
{
	if (v == NULL) {
		sb_append(sb, "NULL");
		return;
	}
	sb_append_char(sb, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			sb_append_char(sb, '\\');
		sb_append_char(sb, *v);
	}
	sb_append_char(sb, '"');
}

char *sql_text_array(char *const *values, size_t n)
{
	strbuf sb;

	sb_init(&sb);
	sb_append_char(&sb, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_append_char(&sb, ',');
		append_array_item(&sb, values[i]);
	}
	sb_append_char(&sb, '}');
	return sb.data;
}

char *sql_int_array(const int32_t *values, size_t n)
{
	strbuf sb;

	sb_init(&sb);
	sb_append_char(&sb, '{');
	for (size_t i = 0; i < n; i++)
		sb_printf(&sb, i ? ",%d" : "%d", (int)values[i]);
	sb_append_char(&sb, '}');
	return sb.data;
}

/*
 * live_sql returns the query that tells which of a list of ids still exist in
 * table (an identifier from the code). Asked apart from the references, and
 * only for the ids they hold: a join of the references with table lets the
 * planner hash the whole table on each batch once it grows, an import that
 * slows down with every row it writes.
 */
static char *live_sql(const char *table)
{
	strbuf sb;

	sb_init(&sb);
	sb_append(&sb, "SELECT id FROM ");
	sb_append(&sb, table);
	sb_append(&sb, " WHERE id = ANY ($1::int[])");
	return sb.data;
}

/* mark_dangling sets REF_DANGLING on the live references of out whose row is gone. */
static bool mark_dangling(pgconn *pg, const char *table, ref_info *out, size_t n)
{
	int32_t *ids = malloc((n + 1) * sizeof(*ids));
	size_t n_live = 0;

	if (!ids)
		abort();
	for (size_t i = 0; i < n; i++)
		if (out[i].state == REF_LIVE)
			ids[n_live++] = out[i].apilos_id;
	if (n_live == 0) {
		free(ids);
		return true;
	}
	char *sql = live_sql(table);
	char *array = sql_int_array(ids, n_live);
	const char *params[] = {array};
	PGresult *res = pg_exec(pg, "rows of the references", sql, 1, params);
	keymap present = {0};

	free(ids);
	free(sql);
	free(array);
	if (res == NULL)
		return false;
	for (int r = 0; r < PQntuples(res); r++)
		keymap_put(&present, PQgetvalue(res, r, 0), 1);
	for (size_t i = 0; i < n; i++) {
		char id[16];
		int32_t unused;

		snprintf(id, sizeof(id), "%d", (int)out[i].apilos_id);
		if (out[i].state == REF_LIVE && !keymap_get(&present, id, &unused))
			out[i].state = REF_DANGLING;
	}
	keymap_free(&present);
	PQclear(res);
	return true;
}

/*
 * The reference lookup, one index probe per key whatever the statistics say.
 * During a launch the references of the rows being imported are not
 * committed yet: ANALYZE cannot see them, the statistics say a model has
 * almost no reference, and "apilos_model = $1 AND ecolo_id = ANY ($2)" is
 * then planned as a walk through every reference of the model (the index on
 * (apilos_model, apilos_id)) or a scan of the table: a lookup that grew with
 * the import, minutes for all of France. A LATERAL with LIMIT cannot be
 * flattened into a join, and the model as an InitPlan hides its value from
 * the estimate: each key is one probe of the unique (apilos_model, ecolo_id)
 * index.
 */
static const char lookup_sql[] =
        "SELECT k.key, r.apilos_id, r.est_supprime\n"
        "FROM unnest($2::text[]) AS k(key)\n"
        "CROSS JOIN LATERAL (\n"
        "\tSELECT r.apilos_id, r.est_supprime FROM ecoloweb_ecoloreference r\n"
        "\tWHERE r.apilos_model = (SELECT $1::text) AND r.ecolo_id = k.key LIMIT 1) r";

/* ref_from_row turns one result row (ecolo_id, apilos_id, est_supprime) into a ref_info. */
static ref_info ref_from_row(const PGresult *res, int row)
{
	ref_info info = {REF_LIVE, (int32_t)atol(PQgetvalue(res, row, 1))};

	if (strcmp(PQgetvalue(res, row, 2), "t") == 0)
		info.state = REF_TOMBSTONE;
	return info;
}

bool refs_lookup(pgconn *pg, const char *apilos_model, const char *table, char *const *keys,
                 size_t n, ref_info *out)
{
	memset(out, 0, n * sizeof(*out));
	if (n == 0)
		return true;

	char *array = sql_text_array(keys, n);
	const char *params[] = {apilos_model, array};
	PGresult *res = pg_exec(pg, "reference lookup", lookup_sql, 2, params);
	keymap found = {0};

	free(array);
	if (res == NULL) {
		log_error("cannot read the references of %s", apilos_model);
		return false;
	}
	for (int r = 0; r < PQntuples(res); r++)
		keymap_put(&found, PQgetvalue(res, r, 0), r);
	for (size_t i = 0; i < n; i++) {
		int32_t row;

		if (keys[i] && keymap_get(&found, keys[i], &row))
			out[i] = ref_from_row(res, row);
	}
	keymap_free(&found);
	PQclear(res);
	if (!mark_dangling(pg, table, out, n)) {
		log_error("cannot read the %s rows the references of %s point to", table,
		          apilos_model);
		return false;
	}
	return true;
}

bool refs_mark_deleted(pgconn *pg, const char *apilos_model, char *const *keys, size_t n)
{
	if (n == 0)
		return true;
	char *array = sql_text_array(keys, n);
	const char *params[] = {apilos_model, array};
	bool ok = pg_exec_ok(pg, "mark references deleted",
	                     "UPDATE ecoloweb_ecoloreference r SET est_supprime = true\n"
	                     "FROM unnest($2::text[]) AS k(key)\n"
	                     "WHERE r.apilos_model = (SELECT $1::text) AND r.ecolo_id = k.key",
	                     2, params);

	free(array);
	return ok;
}

bool refs_repoint(pgconn *pg, const char *apilos_model, char *const *keys, const int32_t *ids,
                  size_t n)
{
	if (n == 0)
		return true;
	char *karray = sql_text_array(keys, n);
	char *iarray = sql_int_array(ids, n);
	const char *params[] = {apilos_model, karray, iarray};
	bool ok = pg_exec_ok(
	        pg, "repoint references",
	        "UPDATE ecoloweb_ecoloreference r SET apilos_id = x.id, est_supprime = false\n"
	        "FROM unnest($2::text[], $3::int[]) AS x(key, id)\n"
	        "WHERE r.apilos_model = (SELECT $1::text) AND r.ecolo_id = x.key",
	        3, params);

	free(karray);
	free(iarray);
	return ok;
}
