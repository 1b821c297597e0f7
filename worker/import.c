/*
 * worker/import.c
 *     The import of one département, entity class by entity class, parents
 *     before children (mapping.md §2.2 for the HEAD schema): one source
 *     query per class, whatever the number of rows.
 */
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "import.h"
#include "log.h"
#include "verify.h"
#include "writer.h"

/*
 * charge adds to e's figures the queries sent and the time spent since
 * before (pgsql.h's counters of this process): the work done for e.
 */
static void charge(import_ctx *ctx, entity e, const pg_stats *before)
{
	pg_stats now;
	entity_perf *f = &ctx->perf[e];

	pg_stats_get(&now);
	f->source_queries += (uint32_t)(now.queries[PG_DB_SOURCE] - before->queries[PG_DB_SOURCE]);
	f->target_queries += (uint32_t)(now.queries[PG_DB_TARGET] - before->queries[PG_DB_TARGET]);
	f->read_us += now.busy_us[PG_DB_SOURCE] - before->busy_us[PG_DB_SOURCE];
	f->write_us += now.busy_us[PG_DB_TARGET] - before->busy_us[PG_DB_TARGET];
}

/* An input of an entity query: parallel arrays, one array literal per parameter. */
typedef struct input {
	char **cols[10];
	int ncols;
	size_t n;
} input;

static void input_init(input *in, int ncols, size_t cap)
{
	memset(in, 0, sizeof(*in));
	in->ncols = ncols;
	for (int c = 0; c < ncols; c++) {
		in->cols[c] = calloc(cap + 1, sizeof(char *));
		if (!in->cols[c])
			abort();
	}
}

/* input_add appends one row of ncols values (borrowed, not copied). */
static void input_add(input *in, char *const *values)
{
	for (int c = 0; c < in->ncols; c++)
		in->cols[c][in->n] = values[c];
	in->n++;
}

/*
 * input_run sends the input as array parameters to the writer of e, when
 * go is true (what ran before it succeeded), and frees the input anyway.
 */
static bool input_run(import_ctx *ctx, entity e, input *in, bool go)
{
	char *params[10];
	bool ok;

	if (!go || in->n == 0)
		ok = go;
	else {
		for (int c = 0; c < in->ncols; c++)
			params[c] = sql_text_array(in->cols[c], in->n);
		log_event_msg(LOG_INFO, LOGEV_PHASE, "%s: reading the rows of %zu parent(s)",
		              entity_name(e), in->n);
		pg_stats before;
		pg_stats_get(&before);
		ok = writer_run(ctx, entity_def_of(e), in->ncols, (const char *const *)params);
		charge(ctx, e, &before);
		for (int c = 0; c < in->ncols; c++)
			free(params[c]);
	}
	for (int c = 0; c < in->ncols; c++)
		free(in->cols[c]);
	return ok;
}

/*
 * is_done tells whether this run created or rewrote the row of key. A
 * verify compares every row, as a first import would write them all.
 */
static bool is_done(import_ctx *ctx, entity e, const char *key)
{
	int32_t id;

	return ctx->verify || keymap_get(&ctx->done[e], key, &id);
}

/* history_input adds the 9 columns of a history row, as the entity queries expect them. */
static void history_input(input *in, hrow *r)
{
	static char t[] = "t", f[] = "f";
	char *values[] = {r->id,
	                  r->capl,
	                  r->cdg,
	                  r->avenant_id,
	                  r->fin,
	                  r->numero,
	                  r->has_parent ? t : f,
	                  r->programme_ids,
	                  r->pl1};

	input_add(in, values);
}

/*
 * select_conventions marks the history rows to import (§1.9, §3.3): no
 * reference, or a live one with --update. References to deleted rows are
 * tombstoned. A verify takes every row and writes no tombstone.
 */
static bool select_conventions(import_ctx *ctx, history *h)
{
	if (ctx->verify) {
		for (size_t i = 0; i < h->n; i++)
			h->rows[i].todo = true;
		return true;
	}
	char **keys = calloc(h->n + 1, sizeof(char *));
	char **dead = calloc(h->n + 1, sizeof(char *));
	ref_info *refs = calloc(h->n + 1, sizeof(ref_info));
	size_t n_dead = 0;

	if (!keys || !dead || !refs)
		abort();
	for (size_t i = 0; i < h->n; i++)
		keys[i] = h->rows[i].id;
	bool ok = refs_lookup(ctx->dst, entity_model(ENT_CONVENTION), "conventions_convention",
	                      keys, h->n, refs);
	for (size_t i = 0; ok && i < h->n; i++) {
		h->rows[i].todo =
		        refs[i].state == REF_NONE || (ctx->update && refs[i].state == REF_LIVE);
		if (refs[i].state == REF_DANGLING)
			dead[n_dead++] = keys[i];
	}
	ok = ok && refs_mark_deleted(ctx->dst, entity_model(ENT_CONVENTION), dead, n_dead);
	free(keys);
	free(dead);
	free(refs);
	return ok;
}

/* A programme <capl>:<numero> and its source row hs (smallest financement, §2.5.3). */
typedef struct prog {
	char *key;
	hrow *hs;
	bool todo;
} prog;

/* programme_key writes "<capl>:<numero>" into a malloc'd string. */
static char *programme_key(const hrow *r)
{
	size_t len = strlen(r->capl) + strlen(r->numero) + 2;
	char *key = malloc(len);

	if (!key)
		abort();
	snprintf(key, len, "%s:%s", r->capl, r->numero);
	return key;
}

/*
 * collect_programmes lists the programmes the rows to import need, in order
 * of first use, each with hs = its first row in H (H is sorted by
 * financement within an iteration, so that is the smallest one).
 */
static prog *collect_programmes(history *h, size_t *n_out)
{
	prog *progs = calloc(h->n + 1, sizeof(prog));
	keymap first = {0}, seen = {0};
	size_t n = 0;
	int32_t idx;

	if (!progs)
		abort();
	for (size_t i = 0; i < h->n; i++) {
		char *key = programme_key(&h->rows[i]);
		if (!keymap_get(&first, key, &idx))
			keymap_put(&first, key, (int32_t)i);
		free(key);
	}
	for (size_t i = 0; i < h->n; i++) {
		if (!h->rows[i].todo)
			continue;
		char *key = programme_key(&h->rows[i]);
		if (keymap_get(&seen, key, &idx)) {
			free(key);
			continue;
		}
		keymap_put(&seen, key, (int32_t)n);
		keymap_get(&first, key, &idx);
		progs[n++] = (prog){.key = key, .hs = &h->rows[idx]};
	}
	keymap_free(&first);
	keymap_free(&seen);
	*n_out = n;
	return progs;
}

/* select_programmes marks the programmes to create (or rewrite): import-one, §3.3; all in a verify.
 */
static bool select_programmes(import_ctx *ctx, prog *progs, size_t n)
{
	if (ctx->verify) {
		for (size_t i = 0; i < n; i++)
			progs[i].todo = true;
		return true;
	}
	char **keys = calloc(n + 1, sizeof(char *));
	ref_info *refs = calloc(n + 1, sizeof(ref_info));

	if (!keys || !refs)
		abort();
	for (size_t i = 0; i < n; i++)
		keys[i] = progs[i].key;
	bool ok = refs_lookup(ctx->dst, entity_model(ENT_PROGRAMME), "programmes_programme", keys,
	                      n, refs);
	for (size_t i = 0; ok && i < n; i++)
		progs[i].todo = refs[i].state == REF_NONE || refs[i].state == REF_DANGLING ||
		                (ctx->update && refs[i].state == REF_LIVE);
	free(keys);
	free(refs);
	return ok;
}

/* import_shared imports the administrations and bailleurs the new programmes need. */
static bool import_shared(import_ctx *ctx, prog *progs, size_t n)
{
	input admins, bailleurs;

	input_init(&admins, 1, n);
	input_init(&bailleurs, 1, n);
	for (size_t i = 0; i < n; i++) {
		if (progs[i].todo) {
			input_add(&admins, &progs[i].hs->capl);
			input_add(&bailleurs, &progs[i].hs->pl1);
		}
	}
	bool ok = input_run(ctx, ENT_ADMINISTRATION, &admins, true);

	return input_run(ctx, ENT_BAILLEUR, &bailleurs, ok);
}

/* import_programmes writes the programmes, then the cadastre of those it created. */
static bool import_programmes(import_ctx *ctx, prog *progs, size_t n)
{
	static char t[] = "t", f[] = "f";
	input in, cadastre;

	input_init(&in, 7, n);
	for (size_t i = 0; i < n; i++) {
		hrow *hs = progs[i].hs;
		char *values[] = {
		        progs[i].key,          hs->capl, hs->numero, hs->fin, hs->cdg, hs->pl1,
		        hs->has_parent ? t : f};
		if (progs[i].todo)
			input_add(&in, values);
	}
	if (!input_run(ctx, ENT_PROGRAMME, &in, true))
		return false;
	input_init(&cadastre, 3, n);
	for (size_t i = 0; i < n; i++) {
		char *values[] = {progs[i].key, progs[i].hs->pl1, progs[i].hs->cdg};
		if (is_done(ctx, ENT_PROGRAMME, progs[i].key))
			input_add(&cadastre, values);
	}
	return input_run(ctx, ENT_CADASTRE, &cadastre, true);
}

/* import_rows runs an entity whose input is the history rows whose parent was written. */
static bool import_rows(import_ctx *ctx, history *h, entity e, entity parent)
{
	input in;

	input_init(&in, 9, h->n);
	for (size_t i = 0; i < h->n; i++) {
		hrow *r = &h->rows[i];
		if (parent == ENT_COUNT ? r->todo : is_done(ctx, parent, r->id))
			history_input(&in, r);
	}
	return input_run(ctx, e, &in, true);
}

/* import_lot_children writes the logements and répartitions of the lots written. */
static bool import_lot_children(import_ctx *ctx, history *h)
{
	input logements, repartitions;

	input_init(&logements, 2, h->n);
	input_init(&repartitions, 2, h->n);
	for (size_t i = 0; i < h->n; i++) {
		hrow *r = &h->rows[i];
		char *lv[] = {r->id, r->programme_ids};
		char *rv[] = {r->id, r->pl1};
		if (is_done(ctx, ENT_LOT, r->id)) {
			input_add(&logements, lv);
			input_add(&repartitions, rv);
		}
	}
	bool ok = input_run(ctx, ENT_LOGEMENT, &logements, true);

	return input_run(ctx, ENT_REPARTITION, &repartitions, ok);
}

/* import_convention_children writes pièces jointes (every row) and évènements (roots). */
static bool import_convention_children(import_ctx *ctx, history *h)
{
	input pjs, events;

	input_init(&pjs, 2, h->n);
	input_init(&events, 2, h->n);
	for (size_t i = 0; i < h->n; i++) {
		hrow *r = &h->rows[i];
		char *values[] = {r->id, r->capl};
		if (!is_done(ctx, ENT_CONVENTION, r->id))
			continue;
		input_add(&pjs, values);
		if (strcmp(r->numero, "0") == 0)
			input_add(&events, values);
	}
	bool ok = input_run(ctx, ENT_PIECEJOINTE, &pjs, true);

	return input_run(ctx, ENT_EVENEMENT, &events, ok);
}

/* parent_id returns the APiLos id of the root of a history row, or REF_NULL. */
static int32_t parent_id(import_ctx *ctx, const hrow *r)
{
	char key[128];
	int32_t id = REF_NULL;

	if (!r->has_parent)
		return REF_NULL;
	snprintf(key, sizeof(key), "%s:%s:0", r->capl, r->fin);
	if (!keymap_get(&ctx->ids[ENT_CONVENTION], key, &id))
		return REF_NULL;
	return id;
}

/*
 * touch_links rewrites, with --update, the links the import made to the
 * conventions it rewrote (array), unchanged: like the references, they
 * then share the conventions' transaction, which tells a purge they are
 * the import's, not added in APiLos since.
 */
static bool touch_links(import_ctx *ctx, const char *array)
{
	const char *params[] = {array};

	return pg_exec_ok(ctx->dst, "avenant type links of the rewritten conventions",
	                  "UPDATE conventions_convention_avenant_types l\n"
	                  "SET avenanttype_id = l.avenanttype_id FROM conventions_avenanttype t\n"
	                  "WHERE t.nom = 'commentaires' AND l.avenanttype_id = t.id\n"
	                  "  AND l.convention_id = ANY ($1::int[])",
	                  1, params);
}

/*
 * verify_links checks, in a verify, that every convention of APiLos with a
 * parent has the avenant type 'commentaires', as link_avenants makes it.
 */
static bool verify_links(import_ctx *ctx, history *h)
{
	char **keys = calloc(h->n + 1, sizeof(char *));
	int32_t *ids = calloc(h->n + 1, sizeof(int32_t));
	size_t n = 0;
	int32_t id;

	if (!keys || !ids)
		abort();
	for (size_t i = 0; i < h->n; i++) {
		if (keymap_get(&ctx->ids[ENT_CONVENTION], h->rows[i].id, &id) && id != REF_NULL &&
		    parent_id(ctx, &h->rows[i]) != REF_NULL) {
			keys[n] = h->rows[i].id;
			ids[n++] = id;
		}
	}
	bool ok = verify_avenant_types(ctx, keys, ids, n);
	free(keys);
	free(ids);
	return ok;
}

/* link_avenants adds the avenant type 'commentaires' to every convention written with a parent
 * (§2.5.12). */
static bool link_avenants(import_ctx *ctx, history *h)
{
	if (ctx->verify)
		return verify_links(ctx, h);
	int32_t *ids = calloc(h->n + 1, sizeof(int32_t));
	size_t n = 0;
	int32_t id;

	if (!ids)
		abort();
	for (size_t i = 0; i < h->n; i++) {
		if (keymap_get(&ctx->done[ENT_CONVENTION], h->rows[i].id, &id) &&
		    parent_id(ctx, &h->rows[i]) != REF_NULL)
			ids[n++] = id;
	}
	ctx->counts[ENT_AVENANT_TYPE].read = (uint32_t)n;
	if (n == 0) {
		free(ids);
		return true;
	}
	char *array = sql_int_array(ids, n);
	const char *params[] = {array};
	pg_stats before;
	pg_stats_get(&before);
	PGresult *res = pg_exec(ctx->dst, "avenant type links",
	                        "INSERT INTO conventions_convention_avenant_types "
	                        "(convention_id, avenanttype_id)\n"
	                        "SELECT c.id, t.id FROM unnest($1::int[]) AS c(id)\n"
	                        "JOIN conventions_avenanttype t ON t.nom = 'commentaires'\n"
	                        "ON CONFLICT (convention_id, avenanttype_id) DO NOTHING",
	                        1, params);
	if (res != NULL && ctx->update && !touch_links(ctx, array)) {
		PQclear(res);
		res = NULL;
	}
	charge(ctx, ENT_AVENANT_TYPE, &before);
	free(array);
	free(ids);
	if (res == NULL)
		return false;
	ctx->counts[ENT_AVENANT_TYPE].created = (uint32_t)atol(PQcmdTuples(res));
	ctx->counts[ENT_AVENANT_TYPE].skipped = (uint32_t)n - ctx->counts[ENT_AVENANT_TYPE].created;
	PQclear(res);
	return true;
}

/* check_avenant_type fails early when APiLos lacks the 'commentaires' avenant type. */
static bool check_avenant_type(import_ctx *ctx)
{
	PGresult *res = pg_exec(ctx->dst, "avenant type",
	                        "SELECT id FROM conventions_avenanttype WHERE nom = 'commentaires'",
	                        0, NULL);
	bool ok = res && PQntuples(res) == 1;

	if (res && !ok)
		log_error("APiLos has no avenant type 'commentaires' (conventions_avenanttype): "
		          "load the avenant_types fixture first");
	PQclear(res);
	return ok;
}

bool import_departement(import_ctx *ctx)
{
	history h;
	size_t n_progs = 0;
	pg_stats before;

	if (!check_avenant_type(ctx))
		return false;
	/* the history and its references are the conventions' reading and lookup */
	pg_stats_get(&before);
	if (!history_load(ctx->src, ctx->departement, &h)) {
		charge(ctx, ENT_CONVENTION, &before);
		return false;
	}
	bool ok = select_conventions(ctx, &h);
	charge(ctx, ENT_CONVENTION, &before);
	size_t todo = 0;
	for (size_t i = 0; i < h.n; i++)
		todo += h.rows[i].todo;
	log_event_msg(LOG_INFO, LOGEV_PLAN,
	              "convention history: %zu conventions and avenants, %zu to %s", h.n, todo,
	              ctx->verify   ? "compare"
	              : ctx->update ? "import or update"
	                            : "import");
	ctx->counts[ENT_CONVENTION].skipped += (uint32_t)(h.n - todo);
	if (ctx->plan)
		ctx->plan(ctx, todo);

	prog *progs = ok ? collect_programmes(&h, &n_progs) : NULL;
	pg_stats_get(&before);
	ok = ok && select_programmes(ctx, progs, n_progs);
	charge(ctx, ENT_PROGRAMME, &before);
	ok = ok && import_shared(ctx, progs, n_progs) && import_programmes(ctx, progs, n_progs) &&
	     import_rows(ctx, &h, ENT_CONVENTION, ENT_COUNT) &&
	     import_rows(ctx, &h, ENT_LOT, ENT_CONVENTION) && import_lot_children(ctx, &h) &&
	     import_convention_children(ctx, &h) && link_avenants(ctx, &h);
	for (size_t i = 0; i < n_progs; i++)
		free(progs[i].key);
	free(progs);
	history_free(&h);
	return ok;
}

void import_ctx_free(import_ctx *ctx)
{
	for (int e = 0; e < ENT_COUNT; e++) {
		keymap_free(&ctx->ids[e]);
		keymap_free(&ctx->done[e]);
	}
	for (int i = 0; i < 3; i++)
		keymap_free(&ctx->identity[i]);
}
