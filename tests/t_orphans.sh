#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_orphans.sh
#     The coordinator killed with SIGKILL in the middle of a launch of 22,
#     29, 35 and 56 (issue 11, point 4): 22, 35 and 56 prepared, the worker
#     of 29 held in the middle of its import (a session of the test holds,
#     uncommitted, the reference of its last convention).
#
#     - within a few seconds no worker of the dead launch is left (they die
#       with their coordinator, and roll back);
#     - a launch of the same départements started at once is not refused by
#       the dead launch's leases (their holder's pid is gone from this
#       machine: taken over), rolls back the prepared transactions left
#       behind, completes (exit 0), and its result equals a clean import
#       into another database (counts per model), the oracle agrees, and
#       no shared entity is duplicated.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"
# shellcheck source=tests/lib/import_checks.sh
. "$here/lib/import_checks.sh"

prog=$top_builddir/import_ecoloweb_data
oracle=$top_srcdir/tests/oracle.py
DEPS=(22 29 35 56)
servers_at_exit kill_bg
servers_start || fail "cannot start the test servers"
SRC=$(servers_url ecoloweb)
export ECOLO_DATABASE_URL=$SRC REDIS_URL
REDIS_URL=$(servers_redis_url)
unset DATABASE_URL SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
logdir=$TEST_SERVERS_DIR

load_generated ecoloweb --departements "$(IFS=,; echo "${DEPS[*]}")" --conventions 60
key29=$(python3 "$oracle" --source "$SRC" --print-history --departement 29 |
	tail -n 1 | cut -d'|' -f1)
[ -n "$key29" ] || fail "no history for 29"
load_apilos_schema apilos
load_apilos_schema clean

blocker_sleeps() {
	[ "$(psql_q apilos "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 't_orphans_blocker' AND wait_event = 'PgSleep'")" = 1 ]
}
blocked29() {
	[ "$(psql_q apilos "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'import_ecoloweb_data/29' AND wait_event_type = 'Lock'")" = 1 ]
}
three_prepared() { [ "$(grep -cE '\] prepared as ecoloweb-' "$log")" = 3 ]; }
workers_gone() {
	local p
	for p in $workers; do
		alive "$p" && return 1
	done
	return 0
}
# per_model DB: rows per model and département, and per table, as a clean import
# leaves them (a shared bailleur or administration is the département of the
# worker that needed it first: counted per model only)
per_model() {
	psql_q "$1" "SELECT apilos_model, CASE WHEN apilos_model IN ('bailleurs.Bailleur',
		'instructeurs.Administration') THEN '*' ELSE departement END AS dep, count(*)
		FROM ecoloweb_ecoloreference GROUP BY 1, 2 ORDER BY 1, 2"
	psql_q "$1" "SELECT (SELECT count(*) FROM conventions_convention), (SELECT count(*) FROM programmes_programme),
		(SELECT count(*) FROM programmes_lot), (SELECT count(*) FROM programmes_logement),
		(SELECT count(*) FROM bailleurs_bailleur), (SELECT count(*) FROM instructeurs_administration),
		(SELECT count(*) FROM conventions_piecejointe), (SELECT count(*) FROM conventions_evenement)"
}

# the reference of the last convention of 29, uncommitted: its worker waits there
PGAPPNAME=t_orphans_blocker psql -X -q -d apilos -c "BEGIN; INSERT INTO ecoloweb_ecoloreference
	(apilos_model, ecolo_id, apilos_id, departement, est_supprime)
	VALUES ('conventions.Convention', '$key29', -1, '29', false); SELECT pg_sleep(120)" >/dev/null 2>&1 &
blocker=$!
bg_pids+=("$blocker")
log=$logdir/dead.log
wait_until "the blocking session" 20 blocker_sleeps
DATABASE_URL=$(servers_url apilos) "$prog" --departement "${DEPS[@]}" --no-progress >"$log" 2>&1 &
coord=$!
bg_pids+=("$coord")
disown "$coord" # killed below: no "Killed" notice from bash
wait_until "22, 35 and 56 prepared" 60 three_prepared
wait_until "the worker of 29 in the middle of its import" 60 blocked29
workers=$(sed -n 's/.*\] worker started (pid \([0-9]*\)).*/\1/p' "$log")
bg_pids+=($workers)
[ "$(wc -w <<<"$workers")" = 4 ] || fail "expected 4 worker pids in the log, got [$workers]"

kill -KILL "$coord"
wait_until "the coordinator to die" 5 eval "! alive $coord"
t_kill=$(date +%s.%N)
deadline=$(($(date +%s) + 5))
until workers_gone; do
	[ "$(date +%s)" -lt "$deadline" ] || {
		ps -o pid,ppid,stat,args -p "$(tr '\n' ',' <<<"$workers" | sed 's/,$//')" >&2
		fail "workers of the killed coordinator still running 5 s after it died"
	}
	sleep 0.05
done
printf 'ok: no worker left %.2f s after the coordinator died\n' \
	"$(awk -v s="$t_kill" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')"
assert_eq "the dead launch left its prepared transactions" 3 \
	"$(psql_q apilos "SELECT count(*) FROM pg_prepared_xacts")"
psql_q apilos "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE application_name = 't_orphans_blocker'" >/dev/null
wait "$blocker" 2>/dev/null || true

# at once: the dead launch's leases are still in Redis
leases=$(redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" --raw KEYS 'ecoloweb:lease:*' | wc -l)
assert_eq "the dead launch's leases are still there" 4 "$leases"
log=$logdir/next.log
DATABASE_URL=$(servers_url apilos) run_import "the next launch, at once" 0 --departement "${DEPS[@]}" --no-progress
out=$(cat "$log")
assert_not_contains "not refused by the leases" "$out" "already being imported"
assert_match "the dead launch's leases taken over" "$out" "lease of a launch that died on this machine .* taken over"
assert_eq "the dead launch's prepared transactions rolled back" 3 \
	"$(grep -c 'rolling back prepared transaction .* left by a launch that died' <<<"$out")"
assert_eq "no prepared transaction left" 0 "$(psql_q apilos "SELECT count(*) FROM pg_prepared_xacts")"
assert_eq "no lease left" "" "$(redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" --raw KEYS 'ecoloweb:lease:*')"

log=$logdir/clean.log
DATABASE_URL=$(servers_url clean) run_import "a clean import" 0 --departement "${DEPS[@]}" --no-progress
assert_eq "the result equals a clean import (per model and département)" \
	"$(per_model clean)" "$(per_model apilos)"
run_oracle "after the dead launch" apilos --concurrent --several-runs --departement "${DEPS[@]}"
no_duplicates "after the dead launch" apilos
echo "t_orphans: all checks passed"
