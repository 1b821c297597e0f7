/*
 * worker/read_only_probe.c
 *     TEST ONLY: see read_only_probe.h.
 */
#include "read_only_probe.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strbuf.h"

/*
 * One try: what, then sql after an optional setup statement. The table is
 * one every Ecoloweb database has, the rows none (WHERE false): a try that
 * wrongly succeeds changes nothing, and is rolled back anyway.
 */
typedef struct probe_try {
	const char *what;
	const char *setup; /* or NULL */
	const char *sql;
	bool snapshot_only; /* an escape from the snapshot's READ ONLY */
} probe_try;

static const probe_try tries[] = {
        {"CREATE TABLE", NULL, "CREATE TABLE ecolo_read_only_probe (id int)", false},
        {"INSERT", NULL,
         "INSERT INTO ecolo.ecolo_conventionapl SELECT * FROM ecolo.ecolo_conventionapl "
         "WHERE false",
         false},
        {"UPDATE", NULL, "UPDATE ecolo.ecolo_conventionapl SET id = id WHERE false", false},
        {"DELETE", NULL, "DELETE FROM ecolo.ecolo_conventionapl WHERE false", false},
        {"SET TRANSACTION READ WRITE", NULL, "SET TRANSACTION READ WRITE", true},
        {"INSERT after SET default_transaction_read_only = off",
         "SET default_transaction_read_only = off",
         "INSERT INTO ecolo.ecolo_conventionapl SELECT * FROM ecolo.ecolo_conventionapl "
         "WHERE false",
         true},
};

/*
 * probe_one runs one try between begin and end (a savepoint, or a
 * transaction of its own) and appends "WHAT SQLSTATE" (or "WHAT accepted")
 * to out. False when the try was accepted or the session failed otherwise.
 */
static bool probe_one(pgconn *src, const probe_try *t, bool in_snapshot, strbuf *out)
{
	const char *begin = in_snapshot ? "SAVEPOINT read_only_probe" : "BEGIN";
	const char *end = in_snapshot ? "ROLLBACK TO SAVEPOINT read_only_probe" : "ROLLBACK";
	bool refused = false;

	if (!pg_exec_ok(src, "read-only probe", begin, 0, NULL)) {
		sb_printf(out, "%s not tried", t->what);
		return false;
	}
	if (t->setup && !pg_exec_ok(src, "read-only probe setup", t->setup, 0, NULL))
		sb_printf(out, "%s: setup failed %s", t->what, src->sqlstate);
	else if (pg_exec_ok(src, "read-only probe", t->sql, 0, NULL))
		sb_printf(out, "%s accepted", t->what);
	else {
		refused = true;
		sb_printf(out, "%s %s", t->what, src->sqlstate);
	}
	bool ended = pg_exec_ok(src, "read-only probe", end, 0, NULL);
	if (ended && in_snapshot)
		ended = pg_exec_ok(src, "read-only probe", "RELEASE SAVEPOINT read_only_probe", 0,
		                   NULL);
	return refused && ended;
}

void read_only_probe(pgconn *src, bool in_snapshot)
{
	const char *armed = getenv("ECOLO_TEST_READ_ONLY_PROBE");
	const char *expected = src->expected;
	bool all_refused = true;
	strbuf out;

	if (!armed || strcmp(armed, "1") != 0)
		return;
	/* the refusals are what the probe wants: debug lines, not errors */
	src->expected = "25006 25001";
	sb_init(&out);
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (tries[i].snapshot_only && !in_snapshot)
			continue;
		if (out.len > 0)
			sb_append(&out, ", ");
		if (!probe_one(src, &tries[i], in_snapshot, &out))
			all_refused = false;
	}
	src->expected = expected;
	log_msg(all_refused ? LOG_INFO : LOG_ERROR, "test hook: Ecoloweb read-only probe (%s): %s",
	        in_snapshot ? "snapshot" : "session", out.data ? out.data : "");
	sb_free(&out);
}
