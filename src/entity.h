/*
 * src/entity.h
 *     The APiLos entity classes the import writes, and the per-entity
 *     counters that workers report and the coordinator sums up.
 */
#ifndef ECOLO_ENTITY_H
#define ECOLO_ENTITY_H

#include <stdint.h>

#include <jansson.h>

/* Order = write order of a worker (parents before children). */
typedef enum entity {
	ENT_ADMINISTRATION = 0,
	ENT_BAILLEUR,
	ENT_PROGRAMME,
	ENT_CADASTRE,
	ENT_CONVENTION,
	ENT_LOT,
	ENT_LOGEMENT,
	ENT_REPARTITION,
	ENT_PIECEJOINTE,
	ENT_EVENEMENT,
	ENT_AVENANT_TYPE,
	ENT_COUNT
} entity;

/* What happened to the source rows of one entity class. */
typedef struct entity_counts {
	uint32_t read;    /* source rows read */
	uint32_t created; /* APiLos rows inserted */
	uint32_t matched; /* linked to an existing APiLos row (identity match) */
	uint32_t skipped; /* already imported (reference present) */
	uint32_t updated; /* rewritten by --update */
	uint32_t errors;  /* rows that could not be mapped */
} entity_counts;

/*
 * The figures of one entity class (or of a whole département) for load
 * testers: the queries sent to each database and the time spent in them,
 * reading Ecoloweb and writing APiLos (pgsql.h's pg_stats, per class).
 */
typedef struct entity_perf {
	uint32_t source_queries; /* statements sent to Ecoloweb */
	uint32_t target_queries; /* statements sent to APiLos */
	uint64_t read_us;        /* microseconds in Ecoloweb queries */
	uint64_t write_us;       /* microseconds in APiLos queries */
} entity_perf;

/* What a worker measured, sent to the coordinator before DONE (MSG_STATS). */
typedef struct import_stats {
	entity_perf total;               /* every query of the worker, set-up included */
	entity_perf entities[ENT_COUNT]; /* the part spent on each entity class */
	uint32_t peak_rss_kb;            /* getrusage(RUSAGE_SELF) ru_maxrss of the worker */
} import_stats;

/* entity_name returns the short name used in logs and summaries. */
const char *entity_name(entity e);

/*
 * entity_counts_json returns the counters of every entity class as one
 * JSON object, {"bailleur": {"read": 3, "created": 1, ...}, ...} (new
 * reference; NULL when out of memory).
 */
json_t *entity_counts_json(const entity_counts *counts);

/* entity_model returns the EcoloReference apilos_model, or NULL (links). */
const char *entity_model(entity e);

#endif
