/*
 * worker/purge_fks.h
 *     The foreign keys of the APiLos schema, read from its catalog: a purge
 *     follows them to find the rows that depend on what it deletes, and
 *     deletes children before parents.
 */
#ifndef ECOLO_PURGE_FKS_H
#define ECOLO_PURGE_FKS_H

#include <stdbool.h>
#include <stddef.h>

#include "pgsql.h"

/* One single-column foreign key child.col -> parent.id. */
typedef struct purge_fk {
	char *child; /* table names, unquoted */
	char *column;
	char *parent;
} purge_fk;

typedef struct purge_fks {
	purge_fk *fk;
	size_t n;
} purge_fks;

/*
 * purge_fks_load reads every foreign key of the visible schema whose child
 * table has an id column and which points at its parent's id (every
 * Django ForeignKey). Keys of another shape cannot hold an imported row.
 */
bool purge_fks_load(pgconn *db, purge_fks *fks);
void purge_fks_free(purge_fks *fks);

/*
 * purge_fks_order sorts tables[0..n) children first: a table comes before
 * every table it references (self-references and cycles aside, which the
 * deferred constraints of APiLos let one transaction delete in any order).
 */
void purge_fks_order(const purge_fks *fks, char **tables, size_t n);

#endif
