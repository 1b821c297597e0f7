/*
 * worker/verify_state.h
 *     Inside --verify only (verify.c, verify_finish.c): what a worker
 *     counts while it compares, and how a difference is reported.
 */
#ifndef ECOLO_VERIFY_STATE_H
#define ECOLO_VERIFY_STATE_H

#include <stdbool.h>

#include "import.h"

#define MAX_TOTALS 256 /* (entity, column) pairs counted */

/* The differences of one model's column, for the totals. */
typedef struct col_total {
	entity ent;
	char column[64];
	unsigned long n;
} col_total;

/* The APiLos columns of a table and their SQL types (format_type), read once. */
typedef struct table_types {
	bool loaded;
	int n;
	char **names;
	char **types;
} table_types;

typedef struct verify_state {
	keymap seen[ENT_COUNT];         /* Ecolo keys read: 1 when their APiLos row was found */
	unsigned long found[ENT_COUNT]; /* APiLos rows found through the references */
	table_types types[ENT_COUNT];
	col_total totals[MAX_TOTALS];
	size_t n_totals;
	unsigned long differences;
	unsigned long printed;
	int max_print;
} verify_state;

/*
 * verify_report counts one difference of the row of key and logs it while
 * fewer than --max-differences were: model, Ecolo key, column, expected
 * and found values. what, when not NULL, replaces the values (a missing
 * row).
 */
void verify_report(import_ctx *ctx, entity ent, const char *key, const char *column,
                   const char *expected, const char *found, const char *what);

#endif
