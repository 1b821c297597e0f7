#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_backlog.sh
#     A backlog in a worker's status pipe (issue 11): the coordinator is
#     stopped (SIGSTOP) for two seconds right after its worker said HELLO,
#     while the worker, with --debug, logs every SQL statement it sends; the
#     pipe fills far past the coordinator's decoder (2 frames). Once
#     continued (SIGCONT), the coordinator must read the backlog in turns:
#     no "malformed message", no worker killed, exit 0, data committed.
#     Before the fix the coordinator read 8 KB at once on top of a buffered
#     part of a frame, refused it and SIGKILLed a healthy worker.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
[ -x "$prog" ] || fail "program not built: $prog"

servers_start || fail "cannot start the test servers"
export ECOLO_DATABASE_URL DATABASE_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
unset REDIS_URL SCALINGO_REDIS_URL SCALINGO_POSTGRESQL_URL
log=$TEST_SERVERS_DIR/import.log
load_generated ecoloweb --departements 22 --conventions 100
load_apilos_schema apilos

"$prog" --departement 22 --no-progress --debug >"$log" 2>&1 &
pid=$!
servers_at_exit "kill -CONT $pid 2>/dev/null; kill -KILL $pid 2>/dev/null"
# stop the coordinator as soon as its worker is there: the worker goes on logging
for _ in $(seq 1 400); do
	grep -q "worker started" "$log" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.02
done
kill -STOP "$pid" || fail "the coordinator ended before it could be stopped"
sleep 2
kill -CONT "$pid"
rc=0
wait "$pid" || rc=$?
if [ "$rc" != 0 ]; then
	sed 's/^/  | /' "$log" >&2
fi
assert_eq "exit status after a backlog" 0 "$rc"
out=$(cat "$log")
assert_not_contains "no malformed message" "$out" "malformed"
assert_not_contains "no worker killed" "$out" "worker died"
assert_match "debug lines came through" "$out" "DEBUG .*\[22\]"
# the pipe held more than the decoder's 8 KB plus one frame: else the test proves nothing
[ "$(wc -c <"$log")" -gt 32768 ] || fail "too little logged to make a backlog: $(wc -c <"$log") bytes"
conventions=$(psql_q apilos "SELECT count(*) FROM conventions_convention")
[ "$conventions" -gt 0 ] || fail "nothing committed"
echo "t_backlog: all checks passed"
