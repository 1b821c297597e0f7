/*
 * src/pgsql.c
 *     libpq helpers: connect with the import's session settings, run a
 *     statement with text parameters, stream rows in single-row mode, COPY.
 *     Every failure is logged here with the connection role, SQLSTATE and
 *     the server's message; callers add their own context.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connect_retry.h"
#include "log.h"
#include "pgsql.h"

static pg_stats stats; /* this process's queries and their time (pgsql.h) */

/* mono_us returns a monotonic clock in microseconds, for the query figures. */
static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* now_ms is the same clock in milliseconds, for --debug timings. */
static double now_ms(void)
{
	return (double)mono_us() / 1000.0;
}

/* db_of tells which database a connection talks to, from its role ("SOURCE", "TARGET…"). */
static pg_db db_of(const pgconn *pg)
{
	return pg->role && strncmp(pg->role, "SOURCE", 6) == 0 ? PG_DB_SOURCE : PG_DB_TARGET;
}

/* count_query counts one statement sent on pg. */
static void count_query(const pgconn *pg)
{
	stats.queries[db_of(pg)]++;
}

/* count_busy adds the time since t0 (mono_us) to pg's database. */
static void count_busy(const pgconn *pg, uint64_t t0)
{
	stats.busy_us[db_of(pg)] += mono_us() - t0;
}

/* pg_stats_get: see pgsql.h. */
void pg_stats_get(pg_stats *out)
{
	*out = stats;
}

/* pg_log_failure: see pgsql.h. */
void pg_log_failure(pgconn *pg, const char *what, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : NULL;

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(pg->conn);
	if (state == NULL)
		state = PQstatus(pg->conn) == CONNECTION_BAD ? "08006" : "";
	snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state);

	char line[1024];
	size_t n = strcspn(msg, "\n");
	snprintf(line, sizeof(line), "%.*s", (int)(n < 900 ? n : 900), msg);
	log_level level =
	        pg->expected && *state && strstr(pg->expected, state) ? LOG_DEBUG : LOG_ERROR;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;

	if (*state)
		log_msg(level, "[%s] %s failed: %s (SQLSTATE %s)", pg->role, what, line, state);
	else
		log_msg(level, "[%s] %s failed: %s", pg->role, what, line);
	if (detail)
		log_msg(level, "[%s] DETAIL: %s", pg->role, detail);
}

/* notice_level maps a server notice's severity to the log's levels. */
static log_level notice_level(const char *severity)
{
	if (severity == NULL)
		return LOG_INFO;
	if (strcmp(severity, "WARNING") == 0)
		return LOG_WARN;
	if (strcmp(severity, "DEBUG") == 0 || strcmp(severity, "LOG") == 0)
		return LOG_DEBUG;
	return LOG_INFO; /* NOTICE, INFO */
}

/*
 * on_notice logs a server NOTICE (or WARNING, INFO) as one line of the
 * log, led by the connection's role: libpq's default prints it raw on
 * stderr, which garbles the dashboard and the one-line log format.
 */
static void on_notice(void *arg, const PGresult *res)
{
	const char *role = arg;
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (msg == NULL)
		msg = "";
	size_t n = strcspn(msg, "\n");
	log_msg(notice_level(severity), "[%s] server %s: %.*s (SQLSTATE %s)", role,
	        severity ? severity : "NOTICE", (int)(n < 900 ? n : 900), msg, state ? state : "-");
}

/* encoding_is_utf8 tells whether the session's client_encoding is UTF8. */
static bool encoding_is_utf8(PGconn *conn)
{
	const char *enc = PQparameterStatus(conn, "client_encoding");

	return enc && strcmp(enc, "UTF8") == 0;
}

/*
 * pin_utf8 makes sure the session talks UTF8 whatever PGCLIENTENCODING,
 * the database or the role say: every text the import reads or writes is
 * UTF-8, and a server-side conversion to another encoding would mangle or
 * refuse non-Latin text. The connection option asks for it; this checks.
 */
static bool pin_utf8(pgconn *pg)
{
	if (encoding_is_utf8(pg->conn))
		return true;
	if (PQsetClientEncoding(pg->conn, "UTF8") == 0 && encoding_is_utf8(pg->conn))
		return true;
	const char *enc = PQparameterStatus(pg->conn, "client_encoding");
	snprintf(pg->errmsg, sizeof(pg->errmsg),
	         "cannot set client_encoding to UTF8 (the session uses %s)", enc ? enc : "?");
	return false;
}

/* connect_failed keeps libpq's reason (first line, no password) in pg->errmsg. */
static void connect_failed(pgconn *pg)
{
	const char *msg = pg->conn ? PQerrorMessage(pg->conn) : "out of memory";
	size_t n = strcspn(msg, "\n");

	snprintf(pg->errmsg, sizeof(pg->errmsg), "%.*s", (int)(n < 500 ? n : 500), msg);
}

/*
 * The session options of every connection. expand_dbname lets conninfo (the
 * first value) be a URL or key=value; the options after it override what
 * conninfo or the environment say (client_encoding above all).
 * connect_timeout binds PQconnectdbParams only: a non-blocking connection
 * times itself (pg_connect_start's caller).
 */
#define TEXT_OF(n) #n
#define NUMBER_TEXT(n) TEXT_OF(n)
static const char *const connect_keys[] = {
        "dbname",          "application_name",    "client_encoding", "keepalives",
        "keepalives_idle", "keepalives_interval", "connect_timeout", NULL};

/* connect_vals fills vals (as long as connect_keys) for conninfo and application_name. */
static void connect_vals(const char **vals, const char *conninfo, const char *application_name)
{
	const char *rest[] = {"UTF8", "1", "60", "10", NUMBER_TEXT(PG_CONNECT_TIMEOUT_S), NULL};

	vals[0] = conninfo;
	vals[1] = application_name;
	memcpy(vals + 2, rest, sizeof(rest));
}

/*
 * connect_end ends a connection attempt: ok once the server accepted it
 * (the session is then checked and its notices logged), else its reason
 * kept in pg->errmsg, the connection closed, false.
 */
static bool connect_end(pgconn *pg, bool ok, bool may_block)
{
	if (!ok || pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK)
		connect_failed(pg);
	else if (may_block ? pin_utf8(pg) : encoding_is_utf8(pg->conn)) {
		/* role is a string literal: it outlives the connection, pg may move */
		PQsetNoticeReceiver(pg->conn, on_notice, (void *)pg->role);
		return true;
	} else if (!may_block)
		snprintf(pg->errmsg, sizeof(pg->errmsg), "the session does not use UTF8");
	snprintf(pg->sqlstate, sizeof(pg->sqlstate), "08001");
	PQfinish(pg->conn);
	pg->conn = NULL;
	return false;
}

/* connect_once: one try of pg_connect. */
static bool connect_once(pgconn *pg, const char *conninfo, const char *role,
                         const char *application_name)
{
	const char *vals[sizeof(connect_keys) / sizeof(connect_keys[0])];

	connect_vals(vals, conninfo, application_name);
	memset(pg, 0, sizeof(*pg));
	pg->role = role;
	pg->conn = PQconnectdbParams(connect_keys, vals, 1);
	return connect_end(pg, true, true);
}

/* pg_connect_start: see pgsql.h. */
bool pg_connect_start(pgconn *pg, const char *conninfo, const char *role,
                      const char *application_name, const pg_pin *pin)
{
	enum { N_KEYS = sizeof(connect_keys) / sizeof(connect_keys[0]) - 1 };
	const char *keys[N_KEYS + 3], *vals[N_KEYS + 3];

	memcpy(keys, connect_keys, sizeof(connect_keys));
	connect_vals(vals, conninfo, application_name);
	if (pin && pin->hostaddr[0]) {
		/* after dbname: they override what the expanded conninfo says */
		keys[N_KEYS] = "host";
		vals[N_KEYS] = pin->host;
		keys[N_KEYS + 1] = "hostaddr";
		vals[N_KEYS + 1] = pin->hostaddr;
		keys[N_KEYS + 2] = vals[N_KEYS + 2] = NULL;
	}
	memset(pg, 0, sizeof(*pg));
	pg->role = role;
	pg->conn = PQconnectStartParams(keys, vals, 1);
	if (pg->conn && PQstatus(pg->conn) != CONNECTION_BAD)
		return true;
	return connect_end(pg, false, false);
}

/* pg_connect_done: see pgsql.h. */
bool pg_connect_done(pgconn *pg, bool ok)
{
	if (!connect_end(pg, ok, false))
		return false;
	if (PQsetnonblocking(pg->conn, 1) == 0)
		return true;
	return connect_end(pg, false, false);
}

/*
 * connect_is_transient tells whether a failed connection may succeed a
 * little later. libpq keeps the server's SQLSTATE of a failed connection
 * to itself; PQping reads it for us: no answer at all (refused, timeout,
 * name not resolved) or 57P03 (starting up, shutting down, in recovery)
 * say "later". Any other answer of the server is definite (28P01 bad
 * password, 3D000 unknown database, 28000 unknown role), except 53300 (too
 * many connections), which PQping reports as an answer like the others:
 * it is told by its message (the English one: a server in another language
 * fails at once, as before). A conninfo libpq cannot parse: no attempt.
 */
static bool connect_is_transient(const pgconn *pg, const char *conninfo)
{
	const char *keys[] = {"dbname", "connect_timeout", NULL};
	const char *vals[] = {conninfo, "10", NULL};

	switch (PQpingParams(keys, vals, 1)) {
	case PQPING_NO_RESPONSE:
	case PQPING_REJECT:
		return true;
	case PQPING_OK:
		return strstr(pg->errmsg, "too many clients") ||
		       strstr(pg->errmsg, "too many connections") ||
		       strstr(pg->errmsg, "connection slots are reserved");
	default: /* PQPING_NO_ATTEMPT: conninfo is invalid */
		return false;
	}
}

/* pg_connect_wait_s: see pgsql.h. */
int pg_connect_wait_s(const pgconn *pg, int try)
{
	return connect_retry_delay(pg->role, try, pg->errmsg);
}

/* pg_connect: see pgsql.h. */
bool pg_connect(pgconn *pg, const char *conninfo, const char *role, const char *application_name)
{
	for (int try = 1;; try++) {
		if (connect_once(pg, conninfo, role, application_name))
			return true;
		if (try == CONNECT_TRIES || !connect_is_transient(pg, conninfo) ||
		    !connect_retry_wait(role, try, pg->errmsg))
			return false;
	}
}

void pg_disconnect(pgconn *pg)
{
	if (pg->conn)
		PQfinish(pg->conn);
	pg->conn = NULL;
}

/* pg_exec: see pgsql.h. */
PGresult *pg_exec(pgconn *pg, const char *what, const char *sql, int nparams,
                  const char *const *params)
{
	double t0 = pg->debug ? now_ms() : 0;

	if (pg->debug)
		log_debug("[%s] %s: %s", pg->role, what, sql);
	uint64_t busy0 = mono_us();
	count_query(pg);
	PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	count_busy(pg, busy0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_log_failure(pg, what, res);
		PQclear(res);
		return NULL;
	}
	pg->sqlstate[0] = '\0';
	if (pg->debug)
		log_debug("[%s] %s: %.1f ms", pg->role, what, now_ms() - t0);
	return res;
}

bool pg_exec_ok(pgconn *pg, const char *what, const char *sql, int nparams,
                const char *const *params)
{
	PGresult *res = pg_exec(pg, what, sql, nparams, params);

	PQclear(res);
	return res != NULL;
}

/* drain_results reads what is left of a query, so the connection is usable again. */
static void drain_results(pgconn *pg)
{
	PGresult *res;

	while ((res = PQgetResult(pg->conn)) != NULL)
		PQclear(res);
}

/* cancel_query asks the server to stop the running query (callback said stop). */
static void cancel_query(pgconn *pg)
{
	PGcancel *cancel = PQgetCancel(pg->conn);
	char err[256];

	if (cancel) {
		PQcancel(cancel, err, sizeof(err));
		PQfreeCancel(cancel);
	}
}

/* pg_stream: see pgsql.h. */
bool pg_stream(pgconn *pg, const char *what, const char *sql, int nparams,
               const char *const *params, pg_row_cb row_cb, void *ctx)
{
	double t0 = now_ms();
	bool ok = true, stopped = false, waiting;
	long rows = 0;
	PGresult *res;

	if (pg->debug)
		log_debug("[%s] %s: %s", pg->role, what, sql);
	uint64_t busy0 = mono_us();
	count_query(pg);
	if (!PQsendQueryParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(pg->conn)) {
		pg_log_failure(pg, what, NULL);
		drain_results(pg);
		count_busy(pg, busy0);
		return false;
	}
	count_busy(pg, busy0);
	waiting = pg->on_wait != NULL;
	if (waiting)
		pg->on_wait(pg->wait_ctx, what, true);
	/* only the waits for results are counted: the callbacks write, that is not reading */
	for (;;) {
		busy0 = mono_us();
		res = PQgetResult(pg->conn);
		count_busy(pg, busy0);
		if (res == NULL)
			break;
		ExecStatusType st = PQresultStatus(res);

		/* the first result ends the wait, be it a row, no row at all or an error */
		if (waiting) {
			waiting = false;
			pg->on_wait(pg->wait_ctx, what, false);
		}

		if (st == PGRES_SINGLE_TUPLE) {
			rows++;
			if (!stopped && !row_cb(ctx, res)) {
				stopped = true;
				ok = false;
				cancel_query(pg);
			}
		} else if (st != PGRES_TUPLES_OK && !stopped) {
			pg_log_failure(pg, what, res);
			ok = false;
		}
		PQclear(res);
	}
	if (waiting) /* no result at all: the connection is gone */
		pg->on_wait(pg->wait_ctx, what, false);
	if (ok)
		pg->sqlstate[0] = '\0';
	if (pg->debug)
		log_debug("[%s] %s: %ld rows in %.1f ms", pg->role, what, rows, now_ms() - t0);
	return ok;
}

/* pg_copy_begin: see pgsql.h. */
bool pg_copy_begin(pgconn *pg, const char *what, const char *copy_sql)
{
	if (pg->debug)
		log_debug("[%s] %s: %s", pg->role, what, copy_sql);
	uint64_t busy0 = mono_us();
	count_query(pg);
	PGresult *res = PQexecParams(pg->conn, copy_sql, 0, NULL, NULL, NULL, NULL, 0);

	count_busy(pg, busy0);

	if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
		pg_log_failure(pg, what, res);
		PQclear(res);
		drain_results(pg);
		return false;
	}
	PQclear(res);
	return true;
}

bool pg_copy_put(pgconn *pg, const char *what, const char *data, size_t len)
{
	if (len == 0)
		return true;
	uint64_t busy0 = mono_us();
	int sent = PQputCopyData(pg->conn, data, (int)len);

	count_busy(pg, busy0);
	if (sent != 1) {
		pg_log_failure(pg, what, NULL);
		return false;
	}
	return true;
}

/* pg_copy_end finishes the COPY and checks its final status. */
bool pg_copy_end(pgconn *pg, const char *what)
{
	bool ok = true;
	PGresult *res;
	uint64_t busy0 = mono_us();

	if (PQputCopyEnd(pg->conn, NULL) != 1) {
		pg_log_failure(pg, what, NULL);
		ok = false;
	}
	/* COPY's end waits for the server to check and store every row: writing time */
	while ((res = PQgetResult(pg->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && ok) {
			pg_log_failure(pg, what, res);
			ok = false;
		}
		PQclear(res);
	}
	count_busy(pg, busy0);
	return ok;
}

const char *pg_value(const PGresult *res, int row, int col)
{
	if (col < 0 || PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

bool pg_sqlstate_is_connection(const pgconn *pg)
{
	return strncmp(pg->sqlstate, "08", 2) == 0 || PQstatus(pg->conn) == CONNECTION_BAD;
}

char *pg_gid_sql(PGconn *conn, const char *verb, const char *gid)
{
	char *literal = PQescapeLiteral(conn, gid, strlen(gid));
	size_t len;
	char *sql;

	if (!literal)
		return NULL;
	len = strlen(verb) + strlen(literal) + 1;
	sql = malloc(len);
	if (sql)
		snprintf(sql, len, "%s%s", verb, literal);
	PQfreemem(literal);
	return sql;
}
