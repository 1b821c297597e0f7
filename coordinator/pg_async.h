/*
 * coordinator/pg_async.h
 *     One PostgreSQL session driven by the coordinator's libev loop, which
 *     it never blocks: the connection is opened with libpq's non-blocking
 *     calls (PQconnectStartParams, PQconnectPoll) under pg_connect's
 *     schedule of tries, each try timed by an ev_timer; then one statement
 *     at a time, parameters apart (PQsendQueryParams, PQflush,
 *     PQconsumeInput, PQisBusy, PQgetResult), on an ev_io watcher of
 *     PQsocket. Each step ends with the caller's callback, always called
 *     from the loop, never from the call that started the step.
 *
 *     A statement has no time limit, as with pg_exec: the server answers
 *     or the connection breaks (TCP keepalives).
 */
#ifndef ECOLO_PG_ASYNC_H
#define ECOLO_PG_ASYNC_H

#include <stdbool.h>

#include <ev.h>

#include "pgsql.h"

typedef struct pg_async pg_async;

/* pg_async_cb is told that the step ended: pa->ok, pa->res, pa->pg.sqlstate say how. */
typedef void (*pg_async_cb)(pg_async *pa);

typedef enum pg_async_state {
	PGA_IDLE = 0,   /* no step running */
	PGA_CONNECTING, /* a connection try in progress, timed */
	PGA_WAITING,    /* between two connection tries */
	PGA_RUNNING,    /* a statement sent, its results not all read */
	PGA_FAILING     /* a step that failed at once, told from the loop */
} pg_async_state;

struct pg_async {
	pgconn pg; /* the session (conn NULL when closed), its role, last SQLSTATE,
	              the SQLSTATEs expected by the caller (pgsql.h) */
	struct ev_loop *loop;
	ev_io io;       /* PQsocket: a connection try, or a statement */
	ev_timer timer; /* a try's time limit, the wait before the next, a failure */
	pg_async_state state;
	const char *conninfo;       /* of the connection being opened: must outlive it */
	const char *app;            /* its application_name, same */
	pg_pin pin;                 /* pg_async_pin: the server's addresses, "" to look them up */
	int tries;                  /* connection tries so far */
	const char *what;           /* the step, for messages */
	PGresult *res;              /* the statement's result; NULL after a failure; cleared by the
	                               next step or pg_async_close */
	bool ok;                    /* the step succeeded */
	pg_async_cb done;           /* told when the step ends */
	void *ctx;                  /* the caller's */
	struct pg_async *next_open; /* the list of open sessions (pg_async_forget_all) */
};

/* pg_async_init prepares a closed session on loop; role leads its log lines ("TARGET"). */
void pg_async_init(pg_async *pa, struct ev_loop *loop, const char *role, void *ctx);

/*
 * pg_async_pin makes every later connection of pa go to the address of
 * conninfo's host resolved now (resolve.h), before the loop runs: a
 * lookup during the loop would block it. Nothing pinned (a name looked up
 * at each connection) when it cannot be resolved now. Returns the address,
 * or "".
 */
const char *pg_async_pin(pg_async *pa, const char *conninfo);

/*
 * pg_async_connect opens the session (pg_connect's settings and schedule:
 * CONNECT_TRIES (connect_retry.h) tries of PG_CONNECT_TIMEOUT_S each, every failed try but
 * the last logged as a warning). Every failure is tried again: the
 * coordinator connected with the same settings at start-up, a failure now
 * is the server's state, and pg_connect's test of it (PQping) would block.
 * done: pa->ok, or pa->pg.errmsg says why (the caller logs it).
 */
void pg_async_connect(pg_async *pa, const char *conninfo, const char *app, pg_async_cb done);

/*
 * pg_async_exec sends sql with text parameters (copied at once) on the
 * open session. done: pa->ok with pa->res (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK), or the failure logged as pg_exec logs it, its SQLSTATE
 * in pa->pg.sqlstate. what names the statement in messages (a literal).
 */
void pg_async_exec(pg_async *pa, const char *what, const char *sql, int nparams,
                   const char *const *params, pg_async_cb done);

/* pg_async_is_open tells whether the session is connected, as far as libpq knows. */
bool pg_async_is_open(const pg_async *pa);

/* pg_async_close stops any step (its callback is not called) and closes the session. */
void pg_async_close(pg_async *pa);

/*
 * pg_async_forget_all, in a forked child only: closes the sockets of every
 * open session without a word to the server (the sessions stay the
 * coordinator's: a PQfinish here would end them).
 */
void pg_async_forget_all(void);

#endif
