#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_connect_retry.sh
#     A server that is not there yet (a restart, a fail-over) is waited for:
#     the import starts while PostgreSQL is stopped, the server comes back 3 s
#     later, the connections are tried again (logged) and the import
#     succeeds, with the result of a clean import. The same with Redis
#     stopped at the start. A definite failure (an unknown database, an
#     unknown role) is not tried again: exit 2 at once.

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
export ECOLO_DATABASE_URL DATABASE_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
unset REDIS_URL SCALINGO_REDIS_URL SCALINGO_POSTGRESQL_URL
log=$TEST_SERVERS_DIR/import.log

# --- the server comes back 3 s after the start
servers_stop_pg || fail "cannot stop PostgreSQL"
(
	sleep 3
	servers_start_pg
) >/dev/null 2>&1 &
starter=$!
servers_at_exit "kill $starter 2>/dev/null"
run_import "import while the server starts" 0 --departement 22 --no-progress
wait "$starter" || fail "PostgreSQL did not start again"
assert_contains "the first failed try is logged" "$(cat "$log")" \
	"[SOURCE] cannot connect (try 1 of 5)"
assert_contains "the next try is announced" "$(cat "$log")" "trying again in"
grep 'trying again in' "$log"
out=$(python3 "$top_srcdir/tests/oracle.py" --source "$ECOLO_DATABASE_URL" \
	--target "$DATABASE_URL" --departement 22 2>&1) || { printf '%s\n' "$out" >&2; fail "oracle"; }
printf '%s\n' "$out" | tail -n 1

# --- Redis comes back 3 s after the start
load_apilos_schema apilos_redis
servers_stop_redis || fail "cannot stop Redis"
(
	sleep 3
	servers_start_redis
) >/dev/null 2>&1 &
starter=$!
servers_at_exit "kill $starter 2>/dev/null"
REDIS_URL=$(servers_redis_url) DATABASE_URL=$(servers_url apilos_redis) \
	run_import "import while Redis starts" 0 --departement 22 --no-progress
wait "$starter" || fail "Redis did not start again"
assert_contains "Redis: the first failed try is logged" "$(cat "$log")" \
	"[REDIS] cannot connect (try 1 of 5)"
grep 'REDIS.*trying again in' "$log"

# --- definite failures: no retry, exit 2 within a second or two
for url in "$(servers_url no_such_database)" \
	"postgresql://no_such_role@127.0.0.1:$TEST_PG_PORT/ecoloweb"; do
	t0=$(date +%s%N)
	ECOLO_DATABASE_URL=$url run_import "[$url] fails" 2 --departement 22 --no-progress
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -lt 2500 ] || fail "[$url] took $ms ms: tried again?"
	assert_not_contains "[$url] not tried again" "$(cat "$log")" "trying again"
	assert_contains "[$url] names the setting" "$(cat "$log")" "ECOLO_DATABASE_URL"
	printf 'ok: [%s] failed in %s ms\n' "$url" "$ms"
done
echo "t_connect_retry: all checks passed"
