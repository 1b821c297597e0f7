/*
 * worker/writer.h
 *     The generic writer of one entity class: streams the source query in
 *     single-row mode, buffers a batch, then per batch: one reference
 *     lookup, identity matches, one block of ids from the sequence, one COPY
 *     of the rows and one COPY of their references (and, with --update, one
 *     staged UPDATE). Never a round trip per row.
 */
#ifndef ECOLO_WRITER_H
#define ECOLO_WRITER_H

#include <stdbool.h>

#include "entities.h"
#include "import.h"

#define WRITER_BATCH 1000

/*
 * writer_run streams def->sql with the given parameters and writes what it
 * returns. False on a database error, or on a mapping error outside a dry
 * run (logged with table, Ecolo id, column, value and reason).
 */
bool writer_run(import_ctx *ctx, const entity_def *def, int nparams, const char *const *params);

#endif
