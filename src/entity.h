/*
 * src/entity.h
 *     The APiLos entity classes the import writes, and the per-entity
 *     counters that workers report and the coordinator sums up.
 */
#ifndef ECOLO_ENTITY_H
#define ECOLO_ENTITY_H

#include <stdint.h>

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

/* entity_name returns the short name used in logs and summaries. */
const char *entity_name(entity e);

/* entity_model returns the EcoloReference apilos_model, or NULL (links). */
const char *entity_model(entity e);

#endif
