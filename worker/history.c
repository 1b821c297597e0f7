/*
 * worker/history.c
 *     Reads the convention history of a département into memory.
 */
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "log.h"
#include "sql_queries.h"

/* dup_value copies column col of the row, NULL staying NULL. */
static char *dup_value(const PGresult *res, int col)
{
	const char *v = pg_value(res, 0, col);
	char *copy = v ? strdup(v) : NULL;

	if (v && !copy)
		abort();
	return copy;
}

/* add_row is the pg_stream callback: one history row per call. */
static bool add_row(void *ctx, const PGresult *res)
{
	history *h = ctx;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 256;
		h->rows = realloc(h->rows, h->cap * sizeof(hrow));
		if (!h->rows)
			abort();
	}
	const char *excluded = pg_value(res, 0, 10);
	if (excluded) {
		/* mapping.md 1.8 leaves the pair out: said, not imported */
		log_warn("convention %s (CDG %s), financement %s: %s: not imported (mapping.md "
		         "1.8)",
		         PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 4),
		         excluded);
		h->n_excluded++;
		return true;
	}
	hrow *r = &h->rows[h->n++];
	r->id = dup_value(res, 0);
	r->cdg = dup_value(res, 1);
	r->capl = dup_value(res, 2);
	r->avenant_id = dup_value(res, 3);
	r->fin = dup_value(res, 4);
	r->numero = dup_value(res, 5);
	r->has_parent = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
	r->programme_ids = dup_value(res, 7);
	r->pl1 = dup_value(res, 8);
	r->n_cdg = atoi(PQgetvalue(res, 0, 9));
	r->todo = false;
	return true;
}

bool history_load(pgconn *src, const char *departement, history *h)
{
	const char *params[] = {departement};

	memset(h, 0, sizeof(*h));
	if (!pg_stream(src, "convention history", sql_history, 1, params, add_row, h)) {
		log_error("cannot compute the convention history of département %s", departement);
		return false;
	}
	for (size_t i = 0; i < h->n; i++) {
		if (h->rows[i].n_cdg > 1)
			log_warn("convention %s: avenant %s has %d CDG rows, the latest is used "
			         "(B33)",
			         h->rows[i].id, h->rows[i].avenant_id, h->rows[i].n_cdg);
	}
	return true;
}

void history_free(history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		hrow *r = &h->rows[i];
		free(r->id);
		free(r->capl);
		free(r->cdg);
		free(r->avenant_id);
		free(r->fin);
		free(r->numero);
		free(r->programme_ids);
		free(r->pl1);
	}
	free(h->rows);
	memset(h, 0, sizeof(*h));
}
