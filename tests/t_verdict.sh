#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_verdict.sh
#     Two ways the launch's one verdict could break, both found in review:
#     1. a launch without REDIS_URL starting while another launch waits with
#        prepared transactions must not take them for a dead launch's (the
#        waiting launch's presence session says it is alive);
#     2. a worker killed while its PREPARE TRANSACTION runs must not leave a
#        prepared transaction behind (the coordinator ends its session and
#        rolls back what it prepared).

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
oracle=$top_srcdir/tests/oracle.py
servers_start || fail "cannot start the test servers"
export ECOLO_DATABASE_URL DATABASE_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
REDIS=$(servers_redis_url)
unset REDIS_URL SCALINGO_REDIS_URL SCALINGO_POSTGRESQL_URL
load_generated ecoloweb --departements 22,29,35,56 --conventions 40
load_apilos_schema apilos
log=$TEST_SERVERS_DIR/a.log
# the Ecolo key of the last convention of 29: its reference is what the tests hold or slow down
key=$(python3 "$oracle" --source "$ECOLO_DATABASE_URL" --print-history --departement 29 |
	tail -n 1 | cut -d'|' -f1)
[ -n "$key" ] || fail "no history for 29"

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s
wait_for() {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}
prepared_count() { [ "$(grep -c 'prepared as' "$log")" = "$1" ]; }

# --- 1. a launch without Redis leaves a live launch's prepared transactions alone
# an uncommitted reference row holds the worker of 29 in the middle of its import
PGAPPNAME=t_verdict_blocker psql -X -q -d apilos -c "BEGIN; INSERT INTO ecoloweb_ecoloreference
	(apilos_model, ecolo_id, apilos_id, departement, est_supprime)
	VALUES ('conventions.Convention', '$key', -1, '29', false); SELECT pg_sleep(60)" >/dev/null 2>&1 &
blocker=$!
REDIS_URL=$REDIS "$prog" --departement 22 29 35 56 --no-progress >"$log" 2>&1 &
a=$!
wait_for 60 prepared_count 3 || { cat "$log" >&2; fail "22, 35 and 56 never prepared"; }
other=$("$prog" --departement 13 --no-progress 2>&1) || fail "the launch of 13 failed: $other"
assert_not_contains "the launch of 13 rolls back nothing" "$other" "rolling back prepared"
assert_eq "the waiting launch's prepared transactions are still there" 3 \
	"$(psql_q apilos "SELECT count(*) FROM pg_prepared_xacts")"
psql_q apilos "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE application_name = 't_verdict_blocker'" >/dev/null
wait "$blocker" 2>/dev/null || true
rc=0
wait "$a" || rc=$?
[ "$rc" = 0 ] || cat "$log" >&2
assert_eq "the waiting launch ends committed" 0 "$rc"
assert_eq "its four départements are committed" 4 \
	"$(psql_q apilos "SELECT count(DISTINCT departement) FROM ecoloweb_ecoloreference
		WHERE apilos_model = 'conventions.Convention'")"

# --- 2. a worker killed during its PREPARE TRANSACTION leaves nothing prepared
createdb apilos2 && load_apilos_schema apilos2
# a deferred constraint trigger makes the PREPARE of 29 last 3 s (APiLos' foreign
# keys are deferred too: PREPARE checks them all). The worker checks its
# deferred constraints before READY (SET CONSTRAINTS ALL IMMEDIATE): the
# trigger on the reference then defers the slow one again, which only
# PREPARE fires.
psql_q apilos2 "CREATE TABLE slow_marker (id int);
	CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN PERFORM pg_sleep(3); RETURN NULL; END \$\$;
	CREATE FUNCTION defer_slow() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN SET CONSTRAINTS ALL DEFERRED; INSERT INTO slow_marker VALUES (1); RETURN NULL; END \$\$;
	CREATE CONSTRAINT TRIGGER slow_prepare AFTER INSERT ON slow_marker
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow();
	CREATE CONSTRAINT TRIGGER defer_slow AFTER INSERT ON ecoloweb_ecoloreference
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (NEW.apilos_model = 'conventions.Convention' AND NEW.ecolo_id = '$key')
	EXECUTE FUNCTION defer_slow()" >/dev/null
in_prepare() {
	[ "$(psql_q apilos2 "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'import_ecoloweb_data/29' AND state = 'active'
		AND query LIKE 'PREPARE TRANSACTION%'")" = 1 ]
}
DATABASE_URL=$(servers_url apilos2) REDIS_URL=$REDIS \
	"$prog" --departement 22 29 35 56 --no-progress >"$log" 2>&1 &
a=$!
wait_for 60 in_prepare || { cat "$log" >&2; fail "29 never reached PREPARE TRANSACTION"; }
p29=$(sed -n 's/.*\[29\] worker started (pid \([0-9]*\)).*/\1/p' "$log")
kill -KILL "$p29"
rc=0
wait "$a" || rc=$?
assert_eq "a worker killed in PREPARE: exit status" 1 "$rc"
sleep 3.5 # what the server would have finished by now
assert_eq "no prepared transaction left" 0 "$(psql_q apilos2 "SELECT count(*) FROM pg_prepared_xacts")"
assert_eq "nothing committed" 0 "$(psql_q apilos2 "SELECT count(*) FROM conventions_convention")"
echo "t_verdict: all checks passed"
