/*
 * coordinator/verdict.h
 *     The launch's verdict on the APiLos side: when workers end with
 *     PREPARE TRANSACTION (capacity.h decides whether they can), the
 *     coordinator runs COMMIT PREPARED or ROLLBACK PREPARED for all of
 *     them; and the clean-up of prepared transactions a dead launch left.
 */
#ifndef ECOLO_VERDICT_H
#define ECOLO_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "pgsql.h"
#include "redis_client.h"

#define GID_PREFIX "ecoloweb-"

/* verdict_gid writes the prepared transaction name of a département of a launch. */
void verdict_gid(char *buf, size_t len, const char *launch_id, const char *dep);

/*
 * verdict_cleanup rolls back the prepared transactions named GID_PREFIX...
 * that no live launch owns (their département lease, when Redis is given,
 * is not held by the launch in their name), and logs each one.
 */
bool verdict_cleanup(const config *cfg, redis_client *redis);

/*
 * verdict_presence_open opens the launch's presence session on APiLos
 * (application_name import_ecoloweb_data/launch/<launch_id>), kept until
 * the end: verdict_cleanup of another launch sees that this one is alive,
 * with or without Redis. Children never touch it.
 */
bool verdict_presence_open(pgconn *pg, const config *cfg, const char *launch_id);

/*
 * verdict_reap ends what a worker that died may have left on APiLos: its
 * session is terminated (a PREPARE TRANSACTION may still be running there),
 * then its prepared transaction gid, if any, is rolled back.
 */
bool verdict_reap(const config *cfg, const char *dep, const char *gid);

/* verdict_sweep rolls back every prepared transaction of the launch still there. */
bool verdict_sweep(const config *cfg, const char *launch_id);

/* verdict_finish_prepared runs COMMIT PREPARED (commit) or ROLLBACK PREPARED for each gid. */
bool verdict_finish_prepared(const config *cfg, char *const *gids, size_t n, bool commit);

#endif
