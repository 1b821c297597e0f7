/*
 * worker/verify.h
 *     --verify: the rows an import of one département would write, compared
 *     with the APiLos rows their references lead to, batch by batch, instead
 *     of being written; then the references that no source row names any
 *     more, the counts per entity class and the report. Reads only.
 */
#ifndef ECOLO_VERIFY_H
#define ECOLO_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entities.h"
#include "import.h"

/* A batch of rows as the writer mapped them (transformed and checked), to compare. */
typedef struct verify_rows {
	const entity_def *def;
	int ncols;
	char *const *names; /* query column names; "_" ones are not APiLos columns */
	const bool *target; /* names[c] is a column of def->table */
	int key;            /* index of _key, the Ecolo key */
	const int *fk;      /* index of each def->fks[f].key_field, or -1 */
	char **const *rows; /* n rows of ncols values (NULL = SQL NULL) */
	size_t n;
} verify_rows;

/* verify_begin gives ctx its comparison state; max_print bounds the lines of differences. */
void verify_begin(import_ctx *ctx, int max_print);

/* verify_reset forgets what was compared (the département starts again on a new snapshot). */
void verify_reset(import_ctx *ctx);

/* verify_end releases the state verify_begin gave. */
void verify_end(import_ctx *ctx);

/*
 * verify_batch compares the rows of b with APiLos: each row's reference,
 * then each mapped column and foreign key of the rows found, in one query
 * per batch. Differences are counted and the first ones logged. False on a
 * database error (logged).
 */
bool verify_batch(import_ctx *ctx, const verify_rows *b);

/*
 * verify_avenant_types checks that each of the n conventions ids (Ecolo
 * keys keys), avenants with a parent, has the avenant type 'commentaires'.
 * One query. False on a database error (logged).
 */
bool verify_avenant_types(import_ctx *ctx, char *const *keys, const int32_t *ids, size_t n);

/*
 * verify_finish looks for the APiLos rows of the département whose Ecolo
 * key no source row gave, logs the counts per entity class and the totals
 * per model and column. Returns false on a database error; *differences
 * receives every difference found (mapping errors included).
 */
bool verify_finish(import_ctx *ctx, unsigned long *differences);

#endif
