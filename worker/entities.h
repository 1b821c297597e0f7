/*
 * worker/entities.h
 *     How each entity class is written: its APiLos table, its source query,
 *     the foreign keys the worker resolves from Ecolo keys, and the columns
 *     that need C-side treatment. Everything else is mapped by the query.
 */
#ifndef ECOLO_ENTITIES_H
#define ECOLO_ENTITIES_H

#include <stdbool.h>

#include "entity.h"

/* A foreign key: the query gives the Ecolo key, the worker the APiLos id. */
typedef struct fk_def {
	const char *column;    /* APiLos column, e.g. "programme_id" */
	const char *key_field; /* query column holding the Ecolo key, e.g. "_programme_key" */
	entity target;
	bool required; /* a NULL result skips the row with an error line (B24) */
} fk_def;

typedef enum col_kind {
	COL_PLAIN = 0,
	COL_R2P,        /* Python round(x, 2) of the query's float text (mapping.md 2.4) */
	COL_SURFACE,    /* "<ha> ha <a> a <ca> ca" from a superficie (2.5.9) */
	COL_NOW_IF_NULL /* NULL becomes the insertion time (B19) */
} col_kind;

typedef struct col_rule {
	const char *column;
	col_kind kind;
} col_rule;

#define MAX_FKS 3

typedef struct entity_def {
	entity ent;
	const char *table;
	const char *sql; /* source query (sql/NAME.sql) */
	fk_def fks[MAX_FKS];
	int n_fks;
	const col_rule *rules; /* NULL-terminated by column == NULL, or NULL */
	bool auto_times;       /* cree_le/mis_a_jour_le: auto_now on insert */
	const char *const
	        *insert_only; /* pre_save signal columns --update keeps, NULL-terminated */
	bool has_identity;    /* bailleur (siren, siret), administration (code) */
	bool keep_map;        /* remember key -> id: children need it */
} entity_def;

/* entity_def_of returns the definition of an entity class. */
const entity_def *entity_def_of(entity e);

/* col_kind_of returns the rule for column, COL_PLAIN when none. */
col_kind col_kind_of(const entity_def *def, const char *column);

/* is_insert_only tells whether --update must leave column as it is. */
bool is_insert_only(const entity_def *def, const char *column);

#endif
