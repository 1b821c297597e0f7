/*
 * coordinator/capacity.h
 *     What the database servers can give a launch, read once before any
 *     work: free connection slots (max_connections, a database's or a
 *     role's CONNECTION LIMIT) on the Ecoloweb and the APiLos servers, and
 *     free prepared-transaction slots on APiLos; what a launch needs from
 *     them; and, when it does not fit, what would.
 */
#ifndef ECOLO_CAPACITY_H
#define ECOLO_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* conn_plan: the shape of a launch, all its connection needs depend on. */
typedef struct conn_plan {
	size_t n;             /* départements */
	size_t jobs;          /* workers at once (<= n) */
	bool dry_run;         /* no side session, no presence session, nothing kept open */
	bool per_departement; /* --commit-per-departement: nobody waits for a verdict */
	bool update;          /* --update: temporary tables, no PREPARE TRANSACTION */
	bool no_redis;        /* the COMMIT decision takes a prepared slot (verdict.h's marker) */
} conn_plan;

/* conn_need: the sessions a launch holds at its peak, per server. */
typedef struct conn_need {
	size_t source;  /* Ecoloweb: one per worker at once */
	size_t target;  /* APiLos: workers, waiting départements, coordinator */
	size_t waiting; /* of target: ready départements holding their session until the verdict */
	bool prepared;  /* the workers end with PREPARE TRANSACTION */
} conn_need;

typedef enum limit_kind { LIMIT_SERVER, LIMIT_DATABASE, LIMIT_ROLE } limit_kind;

/* conn_limit: one bound on the sessions of a server, a database or a role. */
typedef struct conn_limit {
	limit_kind kind;
	char key[192]; /* server identity (+ database or role): equal for two URLs on one server */
	char name[64]; /* the database or role (LIMIT_DATABASE, LIMIT_ROLE) */
	long limit;    /* max_connections, datconnlimit or rolconnlimit */
	long reserved; /* LIMIT_SERVER: slots this role may not take
	                  (superuser_reserved_connections) */
	long in_use;   /* sessions counted against the limit, the check's own excluded */
	bool source;   /* the Ecoloweb sessions count against it */
	bool target;   /* the APiLos sessions count against it */
} conn_limit;

#define CAPACITY_MAX_LIMITS 6

typedef struct capacity {
	const config *cfg;
	conn_limit limits[CAPACITY_MAX_LIMITS];
	size_t n_limits;
	long prepared_max;    /* max_prepared_transactions of the APiLos server */
	long prepared_in_use; /* rows of pg_prepared_xacts there, every database */
	long prepared_ours;   /* of which named ecoloweb-...: maybe a dead launch's */
} capacity;

/*
 * capacity_read asks both servers, through one short check session each,
 * what they can give. False (after logging why) when a server cannot say.
 */
bool capacity_read(capacity *cap, const config *cfg);

/* capacity_prepared tells whether plan p ends its workers with PREPARE TRANSACTION. */
bool capacity_prepared(const capacity *cap, const conn_plan *p);

/* capacity_need returns the sessions plan p holds at its peak. */
conn_need capacity_need(const capacity *cap, const conn_plan *p);

/* capacity_log_prepared logs why plan p cannot use prepared transactions. */
void capacity_log_prepared(const capacity *cap, const conn_plan *p);

/*
 * capacity_check logs what plan p needs from each limit and returns true
 * when it fits; otherwise it logs one error naming the server, what is
 * needed, what is free and what would fit, and returns false.
 */
bool capacity_check(const capacity *cap, const conn_plan *p);

#endif
