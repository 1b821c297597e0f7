/*
 * worker/history.h
 *     The convention history H of one département (mapping.md §1), read
 *     once per worker with sql/history.sql and kept in memory: one row per
 *     APiLos convention, far fewer than the logements that flow through.
 */
#ifndef ECOLO_HISTORY_H
#define ECOLO_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "pgsql.h"

typedef struct hrow {
	char *id;   /* <capl>:<financement>:<numero> */
	char *capl; /* decimal ids, as text: they only go back into SQL */
	char *cdg;
	char *avenant_id; /* NULL for the root */
	char *fin;
	char *numero;
	bool has_parent;     /* the row <capl>:<fin>:0 exists (Step E) */
	char *programme_ids; /* "id,id,..." of the (CDG, financement) pair */
	char *pl1;
	int n_cdg; /* CDG rows of the avenant (> 1: decision B33) */
	bool todo; /* to import (or rewrite with --update) */
} hrow;

typedef struct history {
	hrow *rows; /* in import order: conventionapl, financement, numero */
	size_t n;
	size_t cap;
	size_t n_excluded; /* (CDG, financement) pairs left out (mapping.md 1.8), each warned */
} history;

/* history_load reads H for departement from the source. False on error (logged). */
bool history_load(pgconn *src, const char *departement, history *h);
void history_free(history *h);

#endif
