/*
 * worker/row_layout.c
 *     The writer's rows as the query gives them: where each column is
 *     (fixed by the first row, every APiLos column with its rule), the
 *     C-side transforms, the checks of what APiLos can read back, and the
 *     rows that cannot be mapped, reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_point.h"
#include "identity_rules.h"
#include "log.h"
#include "pyfloat.h"
#include "row_check.h"
#include "stop_flag.h"
#include "writer_batch.h"

/* writer_column_index returns the index of name in the layout, or -1. */
int writer_column_index(const layout *lay, const char *name)
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
	lay->key = writer_column_index(lay, "_key");
	lay->ecolo = writer_column_index(lay, "_ecolo");
	lay->error = writer_column_index(lay, "_error");
	lay->warn = writer_column_index(lay, "_warn");
	lay->skip = writer_column_index(lay, "_skip");
	lay->q_cree = writer_column_index(lay, "_q_cree_le");
	lay->q_maj = writer_column_index(lay, "_q_mis_a_jour_le");
	for (int f = 0; f < w->def->n_fks; f++)
		lay->fk[f] = writer_column_index(lay, w->def->fks[f].key_field);
	const char *missing = identity_missing_field(w->def->ent, lay->names, lay->ncols);
	if (missing) {
		log_error("the %s query has no column %s, which its identity rules read "
		          "(worker/identity_rules.c)",
		          entity_name(w->def->ent), missing);
		ok = false;
	}
	w->have_layout = true;
	return ok;
}

void writer_free_layout(layout *lay)
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

void writer_free_values(char **values, int n)
{
	for (int i = 0; i < n; i++)
		free(values[i]);
	free(values);
}

/* writer_on_row is the pg_stream callback: check, transform and buffer one row. */
bool writer_on_row(void *arg, const PGresult *res)
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
			writer_free_values(v, w->lay.ncols);
			return go_on;
		}
	}
	if (w->lay.error >= 0 && v[w->lay.error]) {
		bool go_on = mapping_error(w, v, v[w->lay.error]);
		writer_free_values(v, w->lay.ncols);
		return go_on;
	}
	if (w->lay.warn >= 0 && v[w->lay.warn]) {
		char label[256];
		row_label(w, v, label, sizeof(label));
		log_warn("%s: %s", label, v[w->lay.warn]);
	}
	if (w->lay.skip >= 0 && v[w->lay.skip] && strcmp(v[w->lay.skip], "t") == 0) {
		writer_free_values(v, w->lay.ncols);
		return true;
	}
	/* what APiLos could not read back is reported, never written (§7 C5) */
	if (!row_check(w->lay.rule, v, w->lay.ncols, why, sizeof(why))) {
		bool go_on = mapping_error(w, v, why);
		writer_free_values(v, w->lay.ncols);
		return go_on;
	}
	w->rows[w->n++] = (wrow){.values = v};
	return w->n < WRITER_BATCH || writer_flush(w);
}
