/*
 * coordinator/pg_async.c
 *     A PostgreSQL session on the coordinator's libev loop: connection
 *     tries, then statements, each step ending in the caller's callback.
 */
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pg_async.h"
#include "resolve.h"

/* The open sessions, for a forked child to drop (pg_async_forget_all). */
static pg_async *open_sessions;

static void list_add(pg_async *pa)
{
	pa->next_open = open_sessions;
	open_sessions = pa;
}

static void list_remove(pg_async *pa)
{
	for (pg_async **p = &open_sessions; *p; p = &(*p)->next_open) {
		if (*p == pa) {
			*p = pa->next_open;
			break;
		}
	}
	pa->next_open = NULL;
}

void pg_async_forget_all(void)
{
	for (pg_async *pa = open_sessions; pa; pa = pa->next_open) {
		if (pa->pg.conn && PQsocket(pa->pg.conn) >= 0)
			close(PQsocket(pa->pg.conn));
	}
	open_sessions = NULL;
}

/* watch points the io watcher at the session's socket (it may change between polls). */
static void watch(pg_async *pa, int events)
{
	ev_io_stop(pa->loop, &pa->io);
	ev_io_set(&pa->io, PQsocket(pa->pg.conn), events);
	ev_io_start(pa->loop, &pa->io);
}

/* finish ends the step and tells the caller, who may start the next one or close pa. */
static void finish(pg_async *pa, bool ok)
{
	ev_io_stop(pa->loop, &pa->io);
	ev_timer_stop(pa->loop, &pa->timer);
	pa->state = PGA_IDLE;
	pa->ok = ok;
	pa->done(pa);
}

/* fail_later ends a step that failed before reaching the loop: told from the loop all the same. */
static void fail_later(pg_async *pa)
{
	pa->state = PGA_FAILING;
	ev_timer_stop(pa->loop, &pa->timer);
	ev_timer_set(&pa->timer, 0, 0);
	ev_timer_start(pa->loop, &pa->timer);
}

static void try_connect(pg_async *pa);

/*
 * try_failed: the connection try failed (pa->pg.errmsg says why, the
 * connection is closed): the next one after pg_connect's wait, or the end.
 */
static void try_failed(pg_async *pa)
{
	int wait = pg_connect_wait_s(&pa->pg, pa->tries);

	list_remove(pa);
	ev_io_stop(pa->loop, &pa->io);
	ev_timer_stop(pa->loop, &pa->timer);
	if (wait < 0) {
		finish(pa, false);
		return;
	}
	pa->state = PGA_WAITING;
	ev_timer_set(&pa->timer, wait, 0);
	ev_timer_start(pa->loop, &pa->timer);
}

/* try_connect starts one connection try, timed. */
static void try_connect(pg_async *pa)
{
	pa->tries++;
	if (!pg_connect_start(&pa->pg, pa->conninfo, pa->pg.role, pa->app, &pa->pin)) {
		try_failed(pa);
		return;
	}
	list_add(pa);
	if (PQsocket(pa->pg.conn) < 0) {
		pg_connect_done(&pa->pg, false);
		try_failed(pa);
		return;
	}
	pa->state = PGA_CONNECTING;
	ev_timer_set(&pa->timer, PG_CONNECT_TIMEOUT_S, 0);
	ev_timer_start(pa->loop, &pa->timer);
	/* libpq: at first, behave as if PQconnectPoll had said PGRES_POLLING_WRITING */
	watch(pa, EV_WRITE);
}

/* connect_step polls the connection try once its socket is ready. */
static void connect_step(pg_async *pa)
{
	switch (PQconnectPoll(pa->pg.conn)) {
	case PGRES_POLLING_READING:
		watch(pa, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		watch(pa, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		if (pg_connect_done(&pa->pg, true)) {
			finish(pa, true);
			return;
		}
		break;
	default: /* PGRES_POLLING_FAILED */
		pg_connect_done(&pa->pg, false);
		break;
	}
	try_failed(pa);
}

/*
 * collect reads the results of the statement while libpq has them whole:
 * the first failed result is kept, else the last one. At the end (NULL
 * from PQgetResult) the step ends.
 */
static void collect(pg_async *pa)
{
	while (!PQisBusy(pa->pg.conn)) {
		PGresult *r = PQgetResult(pa->pg.conn);
		if (r == NULL)
			break;
		ExecStatusType kept = pa->res ? PQresultStatus(pa->res) : PGRES_COMMAND_OK;
		if (kept == PGRES_COMMAND_OK || kept == PGRES_TUPLES_OK) {
			PQclear(pa->res);
			pa->res = r;
		} else {
			PQclear(r);
		}
	}
	if (PQisBusy(pa->pg.conn))
		return;
	ExecStatusType st = pa->res ? PQresultStatus(pa->res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_log_failure(&pa->pg, pa->what, pa->res);
		PQclear(pa->res);
		pa->res = NULL;
		finish(pa, false);
		return;
	}
	pa->pg.sqlstate[0] = '\0';
	finish(pa, true);
}

/* query_step sends what is left of the statement and reads what came back. */
static void query_step(pg_async *pa, int revents)
{
	int flushed = PQflush(pa->pg.conn);

	if (flushed < 0) {
		pg_log_failure(&pa->pg, pa->what, NULL);
		finish(pa, false);
		return;
	}
	/* a failed read leaves the connection bad: collect then gets its error */
	if (revents & EV_READ)
		PQconsumeInput(pa->pg.conn);
	/* watched before collect, whose callback may start the next statement */
	if (PQsocket(pa->pg.conn) >= 0)
		watch(pa, flushed ? EV_READ | EV_WRITE : EV_READ);
	else
		ev_io_stop(pa->loop, &pa->io);
	collect(pa);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	pg_async *pa = (pg_async *)((char *)w - offsetof(pg_async, io));

	(void)loop;
	if (pa->state == PGA_CONNECTING)
		connect_step(pa);
	else if (pa->state == PGA_RUNNING)
		query_step(pa, revents);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	pg_async *pa = (pg_async *)((char *)w - offsetof(pg_async, timer));

	(void)loop;
	(void)revents;
	switch (pa->state) {
	case PGA_CONNECTING: /* libpq leaves the time limit of PQconnectPoll to its caller */
		ev_io_stop(pa->loop, &pa->io);
		pg_connect_done(&pa->pg, false);
		snprintf(pa->pg.errmsg, sizeof(pa->pg.errmsg),
		         "timeout expired (no answer within %d s)", PG_CONNECT_TIMEOUT_S);
		try_failed(pa);
		break;
	case PGA_WAITING:
		try_connect(pa);
		break;
	case PGA_FAILING:
		finish(pa, false);
		break;
	default:
		break;
	}
}

void pg_async_init(pg_async *pa, struct ev_loop *loop, const char *role, void *ctx)
{
	memset(pa, 0, sizeof(*pa));
	pa->pg.role = role;
	pa->loop = loop;
	pa->ctx = ctx;
	ev_io_init(&pa->io, on_io, -1, EV_READ);
	ev_timer_init(&pa->timer, on_timer, 0, 0);
}

const char *pg_async_pin(pg_async *pa, const char *conninfo)
{
	resolve_pg_pin(conninfo, &pa->pin);
	return pa->pin.hostaddr;
}

void pg_async_connect(pg_async *pa, const char *conninfo, const char *app, pg_async_cb done)
{
	pg_async_close(pa);
	pa->conninfo = conninfo;
	pa->app = app;
	pa->done = done;
	pa->what = "connect";
	pa->tries = 0;
	try_connect(pa);
}

void pg_async_exec(pg_async *pa, const char *what, const char *sql, int nparams,
                   const char *const *params, pg_async_cb done)
{
	PQclear(pa->res);
	pa->res = NULL;
	pa->what = what;
	pa->done = done;
	if (pa->pg.debug)
		log_debug("[%s] %s: %s", pa->pg.role, what, sql);
	if (pa->pg.conn == NULL ||
	    !PQsendQueryParams(pa->pg.conn, sql, nparams, NULL, params, NULL, NULL, 0)) {
		if (pa->pg.conn)
			pg_log_failure(&pa->pg, what, NULL);
		else
			snprintf(pa->pg.sqlstate, sizeof(pa->pg.sqlstate), "08003");
		fail_later(pa);
		return;
	}
	pa->state = PGA_RUNNING;
	watch(pa, EV_READ | EV_WRITE);
}

bool pg_async_is_open(const pg_async *pa)
{
	return pa->pg.conn && PQstatus(pa->pg.conn) == CONNECTION_OK;
}

void pg_async_close(pg_async *pa)
{
	ev_io_stop(pa->loop, &pa->io);
	ev_timer_stop(pa->loop, &pa->timer);
	pa->state = PGA_IDLE;
	PQclear(pa->res);
	pa->res = NULL;
	if (pa->pg.conn)
		list_remove(pa);
	pg_disconnect(&pa->pg);
}
