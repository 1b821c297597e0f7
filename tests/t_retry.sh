#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_retry.sh
#     A hot-standby replica may cancel a long read (recovery conflict,
#     SQLSTATE 40001): the département starts again from the beginning, and
#     the result is the same as without the incident. The conflict is staged
#     on a plain server: a row-level security policy on ecolo_logement raises
#     40001 the first time the importer's session reads it (the importer reads
#     as a non-superuser role, as it would on Scalingo).
#
#     Then a fatal one, on a real hot standby: the standby ends the worker's
#     session ("terminating connection due to conflict with recovery",
#     SQLSTATE 40001, FATAL) while it is idle in its REPEATABLE READ
#     transaction; the retry reconnects first.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
servers_start || fail "cannot start the test servers"
load_generated ecoloweb --departements 22 --conventions 20
load_apilos_schema apilos
create_reader ecoloweb || fail "cannot create the reader role"
psql_q ecoloweb "ALTER TABLE ecolo.ecolo_logement ENABLE ROW LEVEL SECURITY;
	CREATE POLICY conflict ON ecolo.ecolo_logement FOR SELECT USING (ecolo.conflict_once())" >/dev/null
export ECOLO_DATABASE_URL DATABASE_URL
ECOLO_DATABASE_URL="postgresql://ecolo_reader@127.0.0.1:$TEST_PG_PORT/ecoloweb"
DATABASE_URL=$(servers_url apilos)
unset REDIS_URL SCALINGO_REDIS_URL SCALINGO_POSTGRESQL_URL
log=$TEST_SERVERS_DIR/import.log

run_import "import through a recovery conflict" 0 --departement 22 --no-progress
assert_contains "the retry is logged" "$(cat "$log")" "starts again (attempt 2 of 3)"
out=$(python3 "$top_srcdir/tests/oracle.py" --source "$(servers_url ecoloweb)" \
	--target "$DATABASE_URL" --departement 22 2>&1) || { printf '%s\n' "$out" >&2; fail "oracle"; }
printf '%s\n' "$out" | tail -n 1
n=$(psql_q apilos "SELECT count(*) FROM programmes_logement")
[ "$n" -gt 0 ] || fail "no logement imported after the retry"

# --- a fatal conflict, staged on a real hot standby of the test server. The
# worker's source session waits, idle in its transaction, while the worker
# waits on a lock a psql session holds on APiLos; the primary then commits an
# ACCESS EXCLUSIVE lock on a table that session has read: replayed on the
# standby (max_standby_streaming_delay 0), it ends the idle session at once.
psql_q ecoloweb "DROP POLICY conflict ON ecolo.ecolo_logement;
	ALTER TABLE ecolo.ecolo_logement DISABLE ROW LEVEL SECURITY" >/dev/null
servers_start_standby max_standby_streaming_delay=0 hot_standby_feedback=off ||
	fail "cannot start the hot standby"
standby_q() { psql -X -At -p "$TEST_STANDBY_PORT" -d ecoloweb -c "$1"; }
create_db apilos2 && load_apilos_schema apilos2
PGAPPNAME=t_retry_locker psql -X -q -d apilos2 -c "BEGIN" \
	-c "LOCK TABLE ecoloweb_ecoloreference IN ACCESS EXCLUSIVE MODE" \
	-c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
locker=$!
servers_at_exit "kill $locker 2>/dev/null"
# wait_for WHAT COMMAND...: waits up to 30 s until COMMAND prints t
wait_for() {
	local what=$1 i
	shift
	for ((i = 0; i < 300; i++)); do
		[ "$("$@" 2>/dev/null)" = t ] && return 0
		sleep 0.1
	done
	fail "timed out waiting until $what"
}
wait_for "the APiLos lock is held" psql_q apilos2 "SELECT count(*) = 1 FROM pg_locks
	WHERE relation = 'ecoloweb_ecoloreference'::regclass AND mode = 'AccessExclusiveLock' AND granted"
ECOLO_DATABASE_URL="postgresql://ecolo_reader@127.0.0.1:$TEST_STANDBY_PORT/ecoloweb"
DATABASE_URL=$(servers_url apilos2)
"$prog" --departement 22 --no-progress >"$log" 2>&1 &
import=$!
wait_for "the worker waits on APiLos" psql_q apilos2 "SELECT count(*) = 1 FROM pg_stat_activity
	WHERE application_name = 'import_ecoloweb_data/22' AND wait_event_type = 'Lock'"
wait_for "its standby session is idle in transaction" standby_q "SELECT count(*) = 1
	FROM pg_stat_activity WHERE application_name = 'import_ecoloweb_data/22'
	AND state = 'idle in transaction'"
psql_q ecoloweb "BEGIN; LOCK TABLE ecolo.ecolo_departement IN ACCESS EXCLUSIVE MODE; COMMIT"
wait_for "the standby ends the session" standby_q "SELECT count(*) = 0 FROM pg_stat_activity
	WHERE application_name = 'import_ecoloweb_data/22'"
assert_contains "the standby ended it: a FATAL recovery conflict" \
	"$(cat "$TEST_SERVERS_DIR/standby.log")" "FATAL:  terminating connection due to conflict with recovery"
psql_q apilos2 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE application_name = 't_retry_locker'" >/dev/null
rc=0
wait "$import" || rc=$?
[ "$rc" = 0 ] || sed 's/^/  | /' "$log" >&2
assert_eq "import through a fatal recovery conflict: exit status" 0 "$rc"
# the client mostly sees the session lost (08006): the FATAL 40001 the
# server sent before closing is lost with the closed socket
assert_match "the ended session is seen" "$(cat "$log")" \
	'ended the session \(SQLSTATE (40001|08006)'
assert_contains "the fatal conflict is retried" "$(cat "$log")" "starts again (attempt 2 of 3)"
assert_contains "on a new session" "$(cat "$log")" "reconnecting"
grep -E '\[SOURCE\]|starts again|reconnecting' "$log"
out=$(python3 "$top_srcdir/tests/oracle.py" --source "$(servers_url ecoloweb)" \
	--target "$DATABASE_URL" --departement 22 2>&1) || { printf '%s\n' "$out" >&2; fail "oracle (fatal)"; }
printf '%s\n' "$out" | tail -n 1
# row counts of every APiLos table: as many rows as the first import wrote
counts() {
	local t
	for t in $(psql_q "$1" "SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"); do
		printf '%s=%s\n' "$t" "$(psql_q "$1" "SELECT count(*) FROM \"$t\"")"
	done
}
assert_eq "same rows as the first import" "$(counts apilos)" "$(counts apilos2)"
echo "t_retry: all checks passed ($n logements)"
