#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_decision.sh
#     A COMMIT decision is always carried out (issue 11, defect 2). A launch
#     of 22, 29 and 35 with prepared transactions fails right after its
#     first COMMIT PREPARED. The moment is reached with the test-only
#     variable ECOLO_TEST_PAUSE_AFTER_FIRST_COMMIT (coordinator/run.c): the
#     coordinator pauses there and says so.
#
#     a. the coordinator is killed (SIGKILL) during that pause: two
#        transactions stay prepared, the decision is in Redis
#        (ecoloweb:decision:<launch>); the next launch's clean-up (a dry run
#        of 22) commits them, and the data equals a clean import of the
#        three départements (per model and département), the oracle agrees,
#        nothing is duplicated;
#     b. its verdict session is cut (pg_terminate_backend) during that
#        pause: it commits the other two on a new session, logs the retry,
#        exits 0, and the data equals a clean import. APiLos is named
#        localhost there: the loop's sessions use the addresses looked up
#        before it.
#     c. without Redis (--jobs 1), killed during that pause: the decision is
#        the prepared marker ecoloweb-<launch>-commit on APiLos, beside the
#        two départements left; the next launch, without Redis, commits
#        them, removes the marker, and the data equals a clean import;
#     d. without Redis, undisturbed: the marker is removed at the end.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"
# shellcheck source=tests/lib/import_checks.sh
. "$here/lib/import_checks.sh"

prog=$top_builddir/import_ecoloweb_data
DEPS=(22 29 35)
servers_at_exit kill_bg
servers_start || fail "cannot start the test servers"
SRC=$(servers_url ecoloweb)
export ECOLO_DATABASE_URL=$SRC REDIS_URL
REDIS_URL=$(servers_redis_url)
unset DATABASE_URL SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
logdir=$TEST_SERVERS_DIR
redis() { redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" --raw "$@"; }

load_generated ecoloweb --departements "$(IFS=,; echo "${DEPS[*]}")" --conventions 30
load_apilos_schema clean
load_apilos_schema killed
load_apilos_schema cut
load_apilos_schema noredis
load_apilos_schema noredis_ok

paused() { grep -qs 'test hook: pausing after the first COMMIT PREPARED' "$log"; }
prepared_in() { psql_q "$1" "SELECT count(*) FROM pg_prepared_xacts WHERE database = '$1'"; }
# per_model DB: rows per model and département (shared entities per model only)
per_model() {
	psql_q "$1" "SELECT apilos_model, CASE WHEN apilos_model IN ('bailleurs.Bailleur',
		'instructeurs.Administration') THEN '*' ELSE departement END AS dep, count(*)
		FROM ecoloweb_ecoloreference GROUP BY 1, 2 ORDER BY 1, 2"
	psql_q "$1" "SELECT (SELECT count(*) FROM conventions_convention), (SELECT count(*) FROM programmes_programme),
		(SELECT count(*) FROM programmes_lot), (SELECT count(*) FROM programmes_logement),
		(SELECT count(*) FROM bailleurs_bailleur), (SELECT count(*) FROM instructeurs_administration),
		(SELECT count(*) FROM conventions_piecejointe), (SELECT count(*) FROM conventions_evenement)"
}
# same_as_clean NAME DB: DB holds what a clean import of DEPS holds
same_as_clean() {
	assert_eq "$1: every département committed, as a clean import" "$(per_model clean)" \
		"$(per_model "$2")"
	run_oracle "$1" "$2" --concurrent --departement "${DEPS[@]}"
	no_duplicates "$1" "$2"
}

log=$logdir/clean.log
DATABASE_URL=$(servers_url clean) run_import "a clean import" 0 --departement "${DEPS[@]}" --no-progress
for d in "${DEPS[@]}"; do
	[ "$(conventions_of clean "$d")" -gt 0 ] || fail "the clean import has no convention of $d"
done

# a. killed right after the first COMMIT PREPARED
log=$logdir/killed.log
DATABASE_URL=$(servers_url killed) ECOLO_TEST_PAUSE_AFTER_FIRST_COMMIT=60 \
	"$prog" --departement "${DEPS[@]}" --no-progress >"$log" 2>&1 &
coord=$!
bg_pids+=("$coord")
disown "$coord" # killed below: no "Killed" notice from bash
wait_until "the first COMMIT PREPARED" 120 paused
kill -KILL "$coord"
wait_until "the coordinator to die" 5 eval "! alive $coord"
assert_eq "a: two départements left prepared" 2 "$(prepared_in killed)"
launch=$(sed -n 's/.*prepared as ecoloweb-\([0-9]*\)-.*/\1/p' "$log" | head -n 1)
[ -n "$launch" ] || fail "a: no launch id in the log"
assert_eq "a: the decision is recorded in Redis" commit "$(redis GET "ecoloweb:decision:$launch")"

log=$logdir/after-kill.log
DATABASE_URL=$(servers_url killed) run_import "a: the next launch (dry run)" 0 \
	--departement 22 --dry-run --no-progress
out=$(cat "$log")
assert_eq "a: the next launch's clean-up commits the two left" 2 \
	"$(grep -c 'committing prepared transaction .* left by a launch that died after deciding COMMIT' <<<"$out")"
assert_not_contains "a: nothing of the dead launch rolled back" "$out" "rolling back prepared"
assert_eq "a: no prepared transaction left" 0 "$(prepared_in killed)"
same_as_clean "a" killed

# b. the verdict session cut between two COMMIT PREPAREDs; APiLos named
# localhost: the verdict sessions go to its addresses looked up before the
# loop (resolve.h), the retry's new session too
log=$logdir/cut.log
cut_url=$(servers_url cut)
DATABASE_URL=${cut_url/127.0.0.1/localhost} ECOLO_TEST_PAUSE_AFTER_FIRST_COMMIT=3 \
	"$prog" --departement "${DEPS[@]}" --no-progress >"$log" 2>&1 &
coord=$!
bg_pids+=("$coord")
wait_until "the first COMMIT PREPARED" 120 paused
assert_eq "b: the coordinator's verdict session cut" t \
	"$(psql_q cut "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'import_ecoloweb_data/verdict' AND datname = 'cut'")"
rc=0
wait "$coord" || rc=$?
out=$(cat "$log")
[ "$rc" = 0 ] || sed 's/^/  | /' "$log" >&2
assert_eq "b: exit status" 0 "$rc"
assert_match "b: the retry is logged" "$out" "COMMIT PREPARED ecoloweb-.*: attempt 1 failed, retrying on a new session"
assert_eq "b: three départements committed" 3 \
	"$(grep -c '\] prepared transaction committed' <<<"$out")"
assert_not_contains "b: nothing rolled back" "$out" "rolled back"
assert_eq "b: no prepared transaction left" 0 "$(prepared_in cut)"
assert_eq "b: no decision left in Redis" "" "$(redis KEYS 'ecoloweb:decision:*')"
same_as_clean "b" cut

# c. without Redis: killed right after the first COMMIT PREPARED
unset REDIS_URL
log=$logdir/noredis.log
DATABASE_URL="$(servers_url noredis)" ECOLO_TEST_PAUSE_AFTER_FIRST_COMMIT=60 \
	"$prog" --departement "${DEPS[@]}" --jobs 1 --no-progress >"$log" 2>&1 &
coord=$!
bg_pids+=("$coord")
disown "$coord"
wait_until "c: the first COMMIT PREPARED" 120 paused
kill -KILL "$coord"
wait_until "c: the coordinator to die" 5 eval "! alive $coord"
launch=$(sed -n 's/.*prepared as ecoloweb-\([0-9]*\)-.*/\1/p' "$log" | head -n 1)
[ -n "$launch" ] || fail "c: no launch id in the log"
assert_eq "c: two départements and the decision left prepared" \
	"ecoloweb-$launch-commit"$'\n'"2" \
	"$(psql_q noredis "SELECT gid FROM pg_prepared_xacts WHERE gid LIKE '%-commit'
		UNION ALL SELECT count(*)::text FROM pg_prepared_xacts
		WHERE database = 'noredis' AND gid NOT LIKE '%-commit'")"
log=$logdir/after-noredis.log
DATABASE_URL="$(servers_url noredis)" run_import "c: the next launch (dry run)" 0 \
	--departement 22 --dry-run --no-progress
out=$(cat "$log")
assert_eq "c: the next launch's clean-up commits the two left" 2 \
	"$(grep -c 'committing prepared transaction .* left by a launch that died after deciding COMMIT' <<<"$out")"
assert_contains "c: then removes the decision" "$out" \
	"removing the COMMIT decision ecoloweb-$launch-commit of a launch that died: carried out"
assert_eq "c: no prepared transaction left" 0 "$(prepared_in noredis)"
same_as_clean "c" noredis

# d. without Redis, undisturbed
log=$logdir/noredis_ok.log
DATABASE_URL="$(servers_url noredis_ok)" run_import "d: without Redis" 0 \
	--departement "${DEPS[@]}" --jobs 1 --no-progress
assert_eq "d: no prepared transaction left, the marker removed" 0 "$(prepared_in noredis_ok)"
same_as_clean "d" noredis_ok
echo "t_decision: all checks passed"
