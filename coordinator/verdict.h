/*
 * coordinator/verdict.h
 *     The launch's verdict on the APiLos side: when workers end with
 *     PREPARE TRANSACTION (capacity.h decides whether they can), the
 *     coordinator runs COMMIT PREPARED or ROLLBACK PREPARED for all of
 *     them (inside its loop: verdict_queue.h); here, with blocking calls
 *     before and after the loop, the clean-up of prepared transactions a
 *     dead launch left, and what a failed COMMIT PREPARED means.
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
 * Without Redis, a launch that decides COMMIT for several prepared
 * transactions records it on APiLos itself, before the first COMMIT
 * PREPARED: an empty transaction prepared as GID_PREFIX<launch>-commit
 * (verdict_gid with MARKER_DEP). Prepared transactions survive a crash of
 * the coordinator or of the server; verdict_cleanup commits those of a
 * dead launch that left its marker, then removes the marker.
 */
#define MARKER_DEP "commit"
#define MARKER_SUFFIX "-" MARKER_DEP

/* verdict_is_marker tells whether gid is a COMMIT decision marker. */
bool verdict_is_marker(const char *gid);

/*
 * verdict_cleanup ends the prepared transactions named GID_PREFIX... that
 * no live launch owns (their département lease, when Redis is given, is
 * not held by the launch in their name), and logs each one: committed when
 * their launch recorded the COMMIT decision (in Redis, or as its marker),
 * else rolled back; a dead launch's marker goes once nothing of it is left.
 */
bool verdict_cleanup(const config *cfg, redis_client *redis);

/*
 * verdict_presence_open opens the launch's presence session on APiLos
 * (application_name import_ecoloweb_data/launch/<launch_id>), kept until
 * the end: verdict_cleanup of another launch sees that this one is alive,
 * with or without Redis. Children never touch it.
 */
bool verdict_presence_open(pgconn *pg, const config *cfg, const char *launch_id);

/* verdict_sweep rolls back every prepared transaction of the launch still there. */
bool verdict_sweep(const config *cfg, const char *launch_id);

/* The session that runs a decided launch's COMMIT PREPAREDs, reopened when lost. */
typedef struct verdict_session {
	const config *cfg;
	pgconn pg;
} verdict_session;

typedef enum commit_outcome { COMMIT_DONE, COMMIT_RETRY, COMMIT_FAILED } commit_outcome;

void verdict_session_init(verdict_session *s, const config *cfg);
void verdict_session_close(verdict_session *s);

/* verdict_forget_decision deletes the recorded decision once every commit is done. */
void verdict_forget_decision(redis_client *redis, const char *launch_id);

/*
 * verdict_commit runs COMMIT PREPARED gid on s, retried on a new session
 * (growing pauses, logged) for up to 5 minutes while the connection or the
 * server fails. "Does not exist" (42704) is resolved with pg_xact_status:
 * COMMIT_DONE when the transaction is committed. Never COMMIT_RETRY.
 */
commit_outcome verdict_commit(verdict_session *s, const char *gid);

/* verdict_finish_prepared runs COMMIT PREPARED (commit) or ROLLBACK PREPARED for each gid. */
bool verdict_finish_prepared(const config *cfg, char *const *gids, size_t n, bool commit);

/*
 * What verdict_commit decides, shared with the coordinator's loop
 * (verdict_queue.c), which runs the same statements without blocking.
 */

/* The transaction id of a prepared transaction ($1: its gid): no row when it is not prepared. */
extern const char VERDICT_XID_SQL[];
/* What became of a transaction id ($1): pg_xact_status, "committed" or else. */
extern const char VERDICT_XACT_STATUS_SQL[];

/*
 * verdict_finish_sql returns "COMMIT PREPARED '<gid>'" (or ROLLBACK), to
 * free: a utility statement takes no parameter, so the name goes through
 * PQescapeLiteral (conn: any open connection, for its encoding). NULL when
 * it cannot be escaped.
 */
char *verdict_finish_sql(PGconn *conn, const char *gid, bool commit);

/* verdict_prepare_sql returns "PREPARE TRANSACTION '<gid>'", as verdict_finish_sql. */
char *verdict_prepare_sql(PGconn *conn, const char *gid);

/* verdict_retryable: a failure that a new session may not meet (connection, shutdown, no slot). */
bool verdict_retryable(const pgconn *pg);

/*
 * verdict_commit_gone: COMMIT PREPARED said gid does not exist (42704).
 * status is pg_xact_status of its transaction id xid ("" when it was not
 * read: not prepared when the commit began; status NULL when unknown); lost
 * tells whether an earlier COMMIT PREPARED may have reached the server
 * before its connection was lost. Logs which it is; COMMIT_DONE when the
 * transaction is committed, else COMMIT_FAILED.
 */
commit_outcome verdict_commit_gone(const char *gid, const char *xid, const char *status, bool lost);

/* The retries of one COMMIT PREPARED: growing pauses within COMMIT_RETRY_S. */
typedef struct commit_retry {
	double deadline; /* CLOCK_MONOTONIC seconds */
	double pause;    /* before the next attempt */
	int attempt;     /* attempts made */
} commit_retry;

void verdict_retry_init(commit_retry *r);

/*
 * verdict_retry_next: attempt r->attempt of COMMIT PREPARED gid failed
 * and may succeed on a new session. Logs it and returns the pause before
 * the next attempt, or logs that it gives up (gid stays prepared, for the
 * next launch's clean-up) and returns -1.
 */
double verdict_retry_next(commit_retry *r, const char *gid);

#endif
