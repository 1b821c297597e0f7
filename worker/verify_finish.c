/*
 * worker/verify_finish.c
 *     The end of a département's --verify: the avenants' type links, the
 *     APiLos rows no source row maps to any more, the counts per entity
 *     class and the totals per model and column.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strbuf.h"
#include "verify.h"
#include "verify_state.h"

bool verify_avenant_types(import_ctx *ctx, char *const *keys, const int32_t *ids, size_t n)
{
	ctx->counts[ENT_AVENANT_TYPE].read = (uint32_t)n;
	if (n == 0)
		return true;
	char *array = sql_int_array(ids, n);
	const char *params[] = {array};
	PGresult *res =
	        pg_exec(ctx->dst, "avenant type links",
	                "SELECT c.ord FROM unnest($1::int[]) WITH ORDINALITY AS c(id, ord)\n"
	                "WHERE NOT EXISTS (SELECT FROM conventions_convention_avenant_types l\n"
	                "JOIN conventions_avenanttype t ON t.id = l.avenanttype_id\n"
	                "WHERE l.convention_id = c.id AND t.nom = 'commentaires')\n"
	                "ORDER BY c.ord",
	                1, params);

	free(array);
	if (res == NULL)
		return false;
	int missing = PQntuples(res);
	for (int r = 0; r < missing; r++) {
		size_t i = (size_t)atol(PQgetvalue(res, r, 0)) - 1;
		verify_report(ctx, ENT_CONVENTION, keys[i], "avenant_types", "commentaires", NULL,
		              NULL);
	}
	ctx->counts[ENT_AVENANT_TYPE].matched = (uint32_t)(n - (size_t)missing);
	PQclear(res);
	return true;
}

/* An entity class whose APiLos rows of the département are read back. */
typedef struct extra_scan {
	import_ctx *ctx;
	entity ent;
} extra_scan;

/* on_reference counts one APiLos row of the département; unknown keys are differences. */
static bool on_reference(void *arg, const PGresult *res)
{
	extra_scan *scan = arg;
	verify_state *st = scan->ctx->verify_state;
	const char *key = pg_value(res, 0, 0);
	int32_t was;

	if (key && keymap_get(&st->seen[scan->ent], key, &was))
		return true; /* found and counted with its source row */
	st->found[scan->ent]++;
	verify_report(
	        scan->ctx, scan->ent, key ? key : "?", "(row)", NULL, NULL,
	        "not in Ecoloweb any more (an APiLos row of the département that no source row "
	        "maps to)");
	return true;
}

/*
 * find_extras reads the keys of the département's live references of e
 * whose row exists: those no source row gave are differences. The shared
 * bailleurs and administrations belong to no département alone: skipped.
 */
static bool find_extras(import_ctx *ctx, entity e)
{
	const entity_def *def = entity_def_of(e);
	const char *params[] = {entity_model(e), ctx->departement};
	extra_scan scan = {.ctx = ctx, .ent = e};
	strbuf sql;

	if (!def || !entity_model(e) || def->has_identity)
		return true;
	sb_init(&sql);
	sb_append(&sql, "SELECT r.ecolo_id FROM ecoloweb_ecoloreference r\nJOIN ");
	sb_append(&sql, def->table);
	sb_append(&sql, " t ON t.id = r.apilos_id\nWHERE r.apilos_model = $1 AND r.departement = "
	                "$2 AND NOT r.est_supprime");
	bool ok = pg_stream(ctx->dst, "references of the département", sql.data, 2, params,
	                    on_reference, &scan);
	sb_free(&sql);
	return ok;
}

/*
 * log_counts logs Ecoloweb's and APiLos' rows per entity class. Counts that
 * differ are not counted again: each missing or extra row already was.
 */
static void log_counts(import_ctx *ctx)
{
	verify_state *st = ctx->verify_state;

	for (int e = 0; e < ENT_COUNT; e++) {
		if (!entity_def_of(e))
			continue;
		unsigned long expected = st->seen[e].len;
		ctx->counts[e].matched = (uint32_t)st->found[e];
		if (expected == st->found[e])
			log_info("verify: %-14s Ecoloweb %lu row(s) to map, APiLos %lu row(s)",
			         entity_name(e), expected, st->found[e]);
		else
			log_error(
			        "verify: %-14s Ecoloweb %lu row(s) to map, APiLos %lu row(s): the "
			        "counts differ",
			        entity_name(e), expected, st->found[e]);
	}
}

bool verify_finish(import_ctx *ctx, unsigned long *differences)
{
	verify_state *st = ctx->verify_state;

	for (int e = 0; e < ENT_COUNT; e++) {
		if (!find_extras(ctx, e))
			return false;
	}
	log_counts(ctx);
	for (size_t i = 0; i < st->n_totals; i++)
		log_error("verify: %s %s: %lu difference(s)", entity_model(st->totals[i].ent),
		          st->totals[i].column, st->totals[i].n);
	if (ctx->mapping_errors)
		log_error("verify: %u source row(s) cannot be mapped (see above): an import would "
		          "fail",
		          ctx->mapping_errors);
	*differences = st->differences + ctx->mapping_errors;
	if (*differences == 0)
		log_info("verify: Ecoloweb and APiLos agree");
	else
		log_error("verify: %lu difference(s)%s", *differences,
		          st->printed < st->differences ? " (not all listed: see --max-differences)"
		                                        : "");
	return true;
}
