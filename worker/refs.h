/*
 * worker/refs.h
 *     What a worker remembers between entity classes: maps from Ecolo keys
 *     to APiLos ids for the parents it still needs, and the lookups of
 *     ecoloweb_ecoloreference rows, one query per batch of keys.
 */
#ifndef ECOLO_REFS_H
#define ECOLO_REFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgsql.h"

#define REF_NULL (-1) /* the key resolves to no row (tombstoned, dangling, failed) */

/* An open-addressing hash map from key strings to APiLos ids. */
typedef struct keymap {
	char **keys;
	int32_t *ids;
	size_t cap; /* power of two, 0 when empty */
	size_t len;
} keymap;

void keymap_free(keymap *m);
/* keymap_get returns true and *id when key is present. */
bool keymap_get(const keymap *m, const char *key, int32_t *id);
void keymap_put(keymap *m, const char *key, int32_t id);

/* The state of one Ecolo key's reference in APiLos. */
typedef enum ref_state {
	REF_NONE = 0,  /* never imported */
	REF_LIVE,      /* imported, the APiLos row exists */
	REF_TOMBSTONE, /* est_supprime: do not import again */
	REF_DANGLING   /* imported, but the APiLos row was deleted */
} ref_state;

typedef struct ref_info {
	ref_state state;
	int32_t apilos_id;
} ref_info;

/*
 * refs_lookup reads the references of n keys of apilos_model, checking that
 * their target row still exists in table. out[i] receives the state of
 * keys[i]. One query. False on a database error (logged).
 */
bool refs_lookup(pgconn *pg, const char *apilos_model, const char *table, char *const *keys,
                 size_t n, ref_info *out);

/* refs_mark_deleted sets est_supprime on the references of keys (dangling rows). */
bool refs_mark_deleted(pgconn *pg, const char *apilos_model, char *const *keys, size_t n);

/* refs_repoint rewrites references (B11): apilos_id = ids[i], est_supprime = false. */
bool refs_repoint(pgconn *pg, const char *apilos_model, char *const *keys, const int32_t *ids,
                  size_t n);

/*
 * sql_text_array / sql_int_array build a PostgreSQL array literal of n
 * values (NULL pointers become NULL) into a malloc'd string: the text of an
 * "$n::text[]" parameter, so no value is ever spliced into SQL.
 */
char *sql_text_array(char *const *values, size_t n);
char *sql_int_array(const int32_t *values, size_t n);

#endif
