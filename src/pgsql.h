/*
 * src/pgsql.h
 *     The one place that talks to libpq. Every statement goes through
 *     pg_exec / pg_stream / pg_copy_*, which check the result status and log
 *     the failure with the connection's role, SQLSTATE and message.
 */
#ifndef ECOLO_PGSQL_H
#define ECOLO_PGSQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "resolve.h"

/*
 * pg_wait_cb is told when pg_stream's query was sent (waiting true) and
 * when its first result came back (false): the time between is spent in
 * the server, before any row, the longest silence of a source read.
 */
typedef void (*pg_wait_cb)(void *ctx, const char *what, bool waiting);

typedef struct pgconn {
	PGconn *conn;
	const char *role;     /* "SOURCE", "TARGET", "TARGET-SIDE": prefix of its log lines */
	char sqlstate[6];     /* SQLSTATE of the last failure, "" if none */
	bool debug;           /* log SQL text and timings */
	char errmsg[512];     /* why pg_connect failed (libpq's first line, no password) */
	const char *expected; /* SQLSTATEs the caller handles itself ("23505 40P01"): logged at
	                         debug level */
	pg_wait_cb on_wait;   /* or NULL; set after pg_connect, which clears the struct */
	void *wait_ctx;
} pgconn;

/*
 * pg_connect opens conninfo (URL or key=value) with the import's session
 * settings appended (application_name, keepalives, client_encoding UTF8,
 * checked once connected), and logs the server's notices as log lines led
 * by role (which must outlive the connection: a string literal). A failure
 * that may pass (no answer, server starting up or shutting down, too many
 * connections) is tried again, 5 tries over about 13 s, each logged as a
 * warning; a definite one (bad password, unknown database or role, invalid
 * conninfo) is not. On failure it keeps libpq's last reason in pg->errmsg
 * (the final error is the caller's to log: it knows which setting named that
 * database) and returns false.
 */
bool pg_connect(pgconn *pg, const char *conninfo, const char *role, const char *application_name);
void pg_disconnect(pgconn *pg);

#define PG_CONNECT_TIMEOUT_S 10 /* each try's time limit (connect_timeout) */

/*
 * pg_connect_wait_s logs that try (1-based) of pg's connection failed and
 * returns the seconds to wait before the next one; -1 (nothing logged)
 * after the last try. pg_connect's schedule, for a caller that cannot sleep.
 */
int pg_connect_wait_s(const pgconn *pg, int try);

/*
 * pg_connect_start begins one non-blocking try of pg_connect
 * (PQconnectStartParams, same session settings): the caller drives it with
 * PQconnectPoll on PQsocket, times it (libpq leaves connect_timeout to the
 * caller there), then calls pg_connect_done. False (pg->errmsg) when libpq
 * cannot even start. pin, when not NULL nor empty, is the server looked up
 * beforehand (resolve.h): libpq then looks nothing up.
 */
bool pg_connect_start(pgconn *pg, const char *conninfo, const char *role,
                      const char *application_name, const pg_pin *pin);

/*
 * pg_connect_done ends what pg_connect_start began, ok when PQconnectPoll
 * said PGRES_POLLING_OK: checks the session without a blocking call, logs
 * its notices, puts it in non-blocking mode (PQsetnonblocking). On failure
 * (ok false, or the check) it keeps libpq's reason in pg->errmsg, closes
 * the connection and returns false.
 */
bool pg_connect_done(pgconn *pg, bool ok);

/*
 * pg_log_failure logs that what failed on pg (res: the failed result, or
 * NULL for the connection's own error): a line led by pg->role with the
 * server's message and SQLSTATE, at debug level when pg->expected names
 * it, and keeps the SQLSTATE in pg->sqlstate (08006 when the connection is
 * gone and the server said nothing).
 */
void pg_log_failure(pgconn *pg, const char *what, const PGresult *res);

/*
 * pg_exec runs sql with text parameters (NULL = SQL NULL) and returns the
 * result (PGRES_COMMAND_OK or PGRES_TUPLES_OK) for the caller to PQclear,
 * or NULL after logging the error. what names the statement in messages.
 */
PGresult *pg_exec(pgconn *pg, const char *what, const char *sql, int nparams,
                  const char *const *params);

/* pg_exec_ok runs a statement whose result is not needed. */
bool pg_exec_ok(pgconn *pg, const char *what, const char *sql, int nparams,
                const char *const *params);

/*
 * pg_stream runs sql in single-row mode and calls row_cb(ctx, res) for each
 * row (res holds that one row; do not PQclear it). A callback returning
 * false stops the stream (the query is cancelled); pg_stream then returns
 * false. Also false on a server error, which may come after some rows.
 * pg->on_wait, when set, is told when the wait for the first result starts
 * and ends.
 */
typedef bool (*pg_row_cb)(void *ctx, const PGresult *row);
bool pg_stream(pgconn *pg, const char *what, const char *sql, int nparams,
               const char *const *params, pg_row_cb row_cb, void *ctx);

/* pg_copy_begin starts "COPY ... FROM STDIN"; pg_copy_put sends data; pg_copy_end finishes. */
bool pg_copy_begin(pgconn *pg, const char *what, const char *copy_sql);
bool pg_copy_put(pgconn *pg, const char *what, const char *data, size_t len);
bool pg_copy_end(pgconn *pg, const char *what);

/*
 * The queries this process sent, and the time spent in them, per database:
 * the figures a load tester reads in the summary. Counted by pg_exec,
 * pg_stream and pg_copy_* (a COPY is one query) on every connection of the
 * process, reconnections included, so a worker's totals survive the
 * new session of a retried département. The time is wall time inside libpq
 * (sending, waiting, receiving): pg_stream's row callbacks are not in it,
 * so the writes a source row triggers are not counted as reading.
 */
typedef enum pg_db { PG_DB_SOURCE = 0, PG_DB_TARGET, PG_DB_COUNT } pg_db;

typedef struct pg_stats {
	uint64_t queries[PG_DB_COUNT]; /* statements sent */
	uint64_t busy_us[PG_DB_COUNT]; /* microseconds spent in them */
} pg_stats;

/* pg_stats_get copies this process's counters so far into out. */
void pg_stats_get(pg_stats *out);

/* pg_value returns the value of column col of row 0, or NULL when SQL NULL. */
const char *pg_value(const PGresult *res, int row, int col);

/* pg_sqlstate_is_connection tells whether the last failure was class 08 (connection lost). */
bool pg_sqlstate_is_connection(const pgconn *pg);

/*
 * pg_gid_sql returns verb followed by gid as an escaped literal (malloc'd,
 * NULL on failure): PREPARE TRANSACTION, COMMIT PREPARED and ROLLBACK
 * PREPARED take their name as a literal, never as a parameter.
 */
char *pg_gid_sql(PGconn *conn, const char *verb, const char *gid);

#endif
