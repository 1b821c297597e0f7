/*
 * worker/writer_batch.h
 *     Inside the writer only: a batch of rows of one entity class and the
 *     jobs around it, one file each: the row layout and transforms
 *     (row_layout.c), identity matching of bailleurs and administrations
 *     (identity.c), the shared rows under Redis locks (shared_rows.c), the
 *     --update staging path (update_rows.c), and the batch itself
 *     (writer.c: decisions, ids, foreign keys, COPY). Every function that
 *     writes takes the session it writes on: the département's transaction
 *     (ctx->dst) or the side one that commits the shared rows at once.
 */
#ifndef ECOLO_WRITER_BATCH_H
#define ECOLO_WRITER_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "column_rules.h"
#include "entities.h"
#include "import.h"
#include "pgsql.h"
#include "strbuf.h"
#include "writer.h"

/* What a buffered row becomes. */
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
	layout lay;
	bool have_layout;
	wrow rows[WRITER_BATCH];
	size_t n;
} writer;

/* row_layout.c: the query's columns, and each row checked, transformed and buffered */

/* writer_on_row is the pg_stream callback: check, transform and buffer one row. */
bool writer_on_row(void *arg, const PGresult *res);

/* writer_column_index returns the index of name in the layout, or -1. */
int writer_column_index(const layout *lay, const char *name);

void writer_free_values(char **values, int n);
void writer_free_layout(layout *lay);

/* writer.c: the batch */

/* writer_flush writes the buffered batch (see writer.h for the round trips it costs). */
bool writer_flush(writer *w);

/* writer_decide sets each row's action from its reference, read on conn (mapping.md §3.3). */
bool writer_decide(writer *w, pgconn *conn, char **keys, char **dead, size_t *n_dead);

/* writer_allocate_ids takes one block of ids from the table's sequence for the rows to create. */
bool writer_allocate_ids(writer *w, pgconn *conn);

/* writer_write_created, _references, _repoint_references: the COPYs of a batch. */
bool writer_write_created(writer *w, pgconn *conn);
bool writer_write_references(writer *w, pgconn *conn);
bool writer_repoint_references(writer *w, pgconn *conn);

/* writer_run_copy sends one COPY with all of data. */
bool writer_run_copy(pgconn *conn, const char *what, const char *sql, const strbuf *data);

/* identity.c: bailleurs and administrations matched to existing APiLos rows (§3.4 step 3) */
bool identity_match(writer *w, pgconn *conn);

/* identity_dedupe: rows of one batch with one identity become one APiLos row. */
void identity_dedupe(writer *w);

/* shared_rows.c: bailleurs and administrations when several workers may need them at once */
bool shared_rows_flush(writer *w, char **keys);

/* update_rows.c: --update rewrites the rows already imported through a staging table */
bool update_rows_write(writer *w, pgconn *conn);

#endif
