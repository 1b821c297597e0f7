/*
 * worker/import.h
 *     One département's import: the state shared by the entity writers and
 *     the sequence of entity classes (parents before children).
 */
#ifndef ECOLO_IMPORT_H
#define ECOLO_IMPORT_H

#include <stdbool.h>

#include "entity.h"
#include "pgsql.h"
#include "refs.h"

typedef struct import_ctx import_ctx;
typedef void (*progress_fn)(import_ctx *ctx, entity current);

struct import_ctx {
	pgconn *src;  /* Ecoloweb, REPEATABLE READ READ ONLY */
	pgconn *dst;  /* APiLos, inside the département's transaction */
	pgconn *side; /* APiLos, short committed transactions for shared entities, or NULL */
	void *redis;  /* redis_client for the reference locks, or NULL (one worker, dry run) */
	const char *departement;
	const char *run_date; /* importe_le */
	bool update;
	bool dry_run;
	bool verify;            /* --verify: every row compared with APiLos, nothing written */
	void *verify_state;     /* verify_state of worker/verify.c when verify */
	char now[64];           /* insertion time: the transaction's now(), as text */
	keymap ids[ENT_COUNT];  /* Ecolo key -> APiLos id (REF_NULL: no row) */
	keymap done[ENT_COUNT]; /* keys created or rewritten by this run */
	keymap identity[3];     /* values of identity columns created by this run */
	entity_counts counts[ENT_COUNT];
	entity_perf perf[ENT_COUNT]; /* queries and their time, per entity class */
	unsigned mapping_errors;     /* rows that could not be mapped */
	progress_fn progress;
	void (*plan)(import_ctx *ctx, size_t conventions); /* the totals, once known */
	void *progress_ctx;
};

/*
 * import_departement runs every entity class for ctx->departement inside
 * the current target transaction. False on a database error or, outside a
 * dry run, at the first row that cannot be mapped (logged). In a dry run,
 * mapping errors are all listed and counted in ctx->mapping_errors.
 */
bool import_departement(import_ctx *ctx);

void import_ctx_free(import_ctx *ctx);

#endif
