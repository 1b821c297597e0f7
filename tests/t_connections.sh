#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_connections.sh
#     Connections (issue 10): a launch without prepared transactions holds
#     one APiLos session per ready département until the verdict. At start
#     the launch checks what the servers can give, and refuses before any
#     work when it does not fit, saying what would.
#
#     One server, max_connections 20 and max_prepared_transactions 5, holds
#     both databases; the source is named by a key=value conninfo and the
#     target by a URL, so that only the server's identity tells they share
#     it. Twelve generated départements, two conventions each.
#
#     1. Twelve départements, --jobs 4: five prepared-transaction slots are
#        not enough, the log says so and the launch falls back to open
#        sessions, which need 4 Ecoloweb + 4 x 2 + 8 waiting + 2
#        coordinator = 22 sessions on the server, which has 20: exit 2, one
#        error naming the server and both settings, what is needed and
#        free, and what would fit (--commit-per-departement, at most 10
#        départements, --jobs 3, max_prepared_transactions 12,
#        max_connections 22). No worker started, APiLos untouched, no lease.
#        Eleven départements need 21: refused. --update, which never
#        prepares, needs the same 22.
#     2. The same launch with --commit-per-departement: exit 0, all twelve
#        committed.
#     3. Launches that fit: four départements with prepared transactions
#        (5 slots >= 4); six départements with --jobs 2 (5 slots < 6: the
#        fallback is logged, and its 2 + 4 + 4 + 2 = 12 sessions fit).
#     4. A role that is not a superuser: with CONNECTION LIMIT 5, a launch
#        with four workers (over 10 sessions of that role) is refused, naming the
#        role's limit; without, the launch of 1 is refused by the server,
#        the 3 slots reserved for superusers and a superuser's session
#        (hidden from the role) counted.
#     5. --max-connections still refuses on its own.
#
#     Settings: IMPORT_TIMEOUT (seconds for one import, 120).

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
[ -x "$prog" ] || fail "program not built: $prog"
command -v timeout >/dev/null 2>&1 || fail "timeout (coreutils) is needed"
timeout_s=${IMPORT_TIMEOUT:-120}

DEPS=(01 06 13 2A 22 29 31 35 56 59 69 75)
servers_start max_connections=20 max_prepared_transactions=5 ||
	fail "cannot start the test servers"
export ECOLO_DATABASE_URL REDIS_URL
ECOLO_DATABASE_URL="host=127.0.0.1 port=$TEST_PG_PORT user=postgres dbname=ecoloweb"
REDIS_URL=$(servers_redis_url)
unset DATABASE_URL SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
logdir=$TEST_SERVERS_DIR

load_generated ecoloweb --departements "$(IFS=,; echo "${DEPS[*]}")" --conventions 2
for db in apilos apilos_cpd apilos_fit apilos_fallback; do
	load_apilos_schema "$db"
done

# sessions_open: client sessions on the server, but the one asking
sessions_open() {
	psql_q postgres "SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
}

# wait_sessions N: waits until N client sessions are open (BUSY, 0 by
# default), so that "sessions in use" is known (a psql that just quit may
# linger a moment)
BUSY=0
wait_sessions() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(sessions_open)" = "$1" ] && sleep 0.2 && return 0
		sleep 0.1
	done
	fail "$(sessions_open) sessions open on the server, $1 expected"
}

# import_into NAME EXPECTED_STATUS LOG DB ARGS...: runs the program on target
# DB (a name, or a URL), stdout and stderr in LOG; shows the log when the
# status is not the expected one.
import_into() {
	local name=$1 want=$2 log=$3 db=$4 rc=0 url
	shift 4
	case "$db" in
	*://*) url=$db ;;
	*) url=$(servers_url "$db") ;;
	esac
	wait_sessions "$BUSY"
	DATABASE_URL=$url \
		timeout -k 5 "$timeout_s" "$prog" --no-progress "$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" != "$want" ]; then
		sed 's/^/  | /' "$log" >&2
		[ "$rc" != 124 ] || fail "$name: no exit within ${timeout_s}s"
	fi
	assert_eq "$name: exit status" "$want" "$rc"
}

# untouched NAME DB: nothing written, nothing prepared, no lease
untouched() {
	assert_eq "$1: APiLos untouched" "0|0|0|0" \
		"$(psql_q "$2" "SELECT (SELECT count(*) FROM ecoloweb_ecoloreference) || '|' ||
			(SELECT count(*) FROM conventions_convention) || '|' ||
			(SELECT count(*) FROM bailleurs_bailleur) || '|' ||
			(SELECT count(*) FROM pg_prepared_xacts)")"
	assert_eq "$1: no lease left in Redis" "" \
		"$(redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" --raw KEYS 'ecoloweb:lease:*')"
}

# committed DB: départements with conventions in the references of DB
committed() {
	psql_q "$1" "SELECT count(DISTINCT departement) FROM ecoloweb_ecoloreference
		WHERE apilos_model = 'conventions.Convention'"
}

# --- 1. twelve départements without prepared transactions: refused -----------
log=$logdir/refused.log
import_into "twelve départements, --jobs 4" 2 "$log" apilos --departement "${DEPS[@]}" --jobs 4
out=$(cat "$log")
err=$(grep ' ERROR ' "$log")
printf '%s\n' "$err" | sed 's/^/  refusal: /'
assert_match "fallback: the log says why prepared transactions are not used" "$out" \
	"prepared transactions not used: 12 département\(s\) need one each, the APiLos server has 5 free \(max_prepared_transactions 5, 0 in use\)"
assert_contains "fallback: ready départements keep their session" "$out" \
	"ready départements keep their APiLos session until the verdict"
assert_eq "refused: one error" 1 "$(printf '%s\n' "$err" | wc -l)"
assert_contains "refused: the error names the server by both settings" "$err" \
	"not enough database connections on the PostgreSQL server of both ECOLO_DATABASE_URL (host=127.0.0.1 port=$TEST_PG_PORT user=postgres dbname=ecoloweb) and DATABASE_URL ($(servers_url apilos))"
assert_contains "refused: what is needed and what is free" "$err" \
	"this launch of 12 département(s) needs 22 session(s) there, 20 free (max_connections 20, 0 session(s) in use)"
assert_contains "refused: the need, per server" "$err" \
	"needed: Ecoloweb 4 (one per worker at once) + APiLos 18 (4 worker(s) x 2, 8 ready département(s) holding their session until the verdict, without prepared transactions, 2 for the coordinator: presence and verdict). Nothing done."
assert_contains "refused: --commit-per-departement fits, with its need" "$err" \
	"--commit-per-departement (each département commits on its own; needs 14 there)"
assert_contains "refused: fewer départements fit" "$err" "at most 10 département(s) per launch"
assert_contains "refused: fewer workers fit" "$err" "--jobs 3,"
assert_contains "refused: enough prepared-transaction slots fit" "$err" \
	"raising max_prepared_transactions on the APiLos server to at least 12 (a restart; then it needs 14 there)"
assert_contains "refused: raising max_connections fits" "$err" \
	"or raising max_connections to at least 22"
assert_not_contains "refused: no worker started" "$out" "worker started"
untouched "refused" apilos

# "at most 10": one more would not fit
log=$logdir/eleven.log
import_into "eleven départements, --jobs 4" 2 "$log" apilos --departement "${DEPS[@]:0:11}" --jobs 4
assert_contains "eleven: needs 21 of 20" "$(cat "$log")" "needs 21 session(s) there, 20 free"
untouched "eleven refused" apilos

# --update never prepares (temporary tables): its ready départements wait too
log=$logdir/update.log
import_into "twelve départements, --jobs 4 --update" 2 "$log" apilos \
	--departement "${DEPS[@]}" --jobs 4 --update
err=$(grep ' ERROR ' "$log")
assert_contains "--update: the waiting départements counted" "$err" \
	"needs 22 session(s) there, 20 free"
assert_not_contains "--update: no prepared transactions suggested" "$err" "max_prepared_transactions"
untouched "--update refused" apilos

# --- 2. the same launch, each département committed on its own -------------------
log=$logdir/cpd.log
import_into "twelve départements, --jobs 4 --commit-per-departement" 0 "$log" apilos_cpd \
	--departement "${DEPS[@]}" --jobs 4 --commit-per-departement
assert_match "commit per département: what it takes from the server is logged" "$(cat "$log")" \
	"connections on the PostgreSQL server of both .*: 14 needed, 20 free"
assert_eq "commit per département: the twelve are committed" 12 "$(committed apilos_cpd)"

# --- 3. launches that fit ----------------------------------------------------------
log=$logdir/prepared.log
import_into "four départements with prepared transactions" 0 "$log" apilos_fit \
	--departement "${DEPS[@]:0:4}"
out=$(cat "$log")
assert_contains "four: prepared transactions used" "$out" \
	"verdict: one for the launch, with prepared transactions"
assert_not_contains "four: no fallback" "$out" "prepared transactions not used"
assert_match "four: 4 + 4 x 2 + 2 sessions" "$out" "14 needed, 20 free"
assert_eq "four: committed" 4 "$(committed apilos_fit)"

log=$logdir/fallback.log
import_into "six départements, --jobs 2: open sessions" 0 "$log" apilos_fallback \
	--departement "${DEPS[@]:0:6}" --jobs 2
out=$(cat "$log")
assert_contains "six: the fallback is logged" "$out" \
	"prepared transactions not used: 6 département(s) need one each"
assert_match "six: 2 + 2 x 2 + 4 waiting + 2 sessions" "$out" "12 needed, 20 free"
assert_contains "six: one verdict" "$out" "every département is ready: committing the launch"
assert_eq "six: committed" 6 "$(committed apilos_fallback)"

# --- 4. a role that is not a superuser ----------------------------------------------
psql_q postgres "CREATE ROLE importer LOGIN CONNECTION LIMIT 5" >/dev/null
as_importer=$(servers_url apilos | sed 's/postgres@/importer@/')
log=$logdir/role.log
ECOLO_DATABASE_URL=$(servers_url ecoloweb | sed 's/postgres@/importer@/') \
	import_into "role importer, 4 workers" 2 "$log" "$as_importer" \
	--departement "${DEPS[@]}" --jobs 4 --commit-per-departement
err=$(grep ' ERROR ' "$log")
printf '%s\n' "$err" | sed 's/^/  refusal: /'
assert_contains "role: the error names the role's limit" "$err" \
	"not enough database connections on role importer on the PostgreSQL server of both"
assert_match "role: needed and free" "$err" \
	"needs 1[0-9] session\\(s\\) there, 5 free \\(CONNECTION LIMIT 5, 0 session\\(s\\) in use\\)"
assert_contains "role: one worker fits" "$err" "--jobs 1,"
assert_match "role: raising the role's limit" "$err" \
	"raising the CONNECTION LIMIT of role importer to at least 1[0-9]"

# without a limit of its own, the role meets the server's: the slots reserved
# for superusers are not for it, and a superuser's session (whose kind the
# role cannot see) counts
psql_q postgres "ALTER ROLE importer CONNECTION LIMIT -1" >/dev/null
PGAPPNAME=t_connections_other psql -X -q -d postgres -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
other=$!
servers_at_exit "kill $other 2>/dev/null"
BUSY=1
log=$logdir/role_server.log
ECOLO_DATABASE_URL=$(servers_url ecoloweb | sed 's/postgres@/importer@/') \
	import_into "role importer, twelve départements" 2 "$log" "$as_importer" \
	--departement "${DEPS[@]}" --jobs 4
assert_contains "role: the server's slots, reserved and in use" "$(cat "$log")" \
	"needs 22 session(s) there, 16 free (max_connections 20, 3 reserved for superusers, 1 session(s) in use)"
psql_q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE application_name = 't_connections_other'" >/dev/null
wait "$other" 2>/dev/null
BUSY=0

# --- 5. --max-connections still refuses on its own -------------------------------------
log=$logdir/max.log
import_into "--max-connections 10" 2 "$log" apilos --departement "${DEPS[@]:0:4}" \
	--max-connections 10
assert_contains "--max-connections: its message" "$(cat "$log")" "more than --max-connections 10"
untouched "--max-connections" apilos

echo "t_connections: all checks passed"
