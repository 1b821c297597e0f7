#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_parallel.sh
#     All of Bretagne at once (issue 3): generated data for 22, 29, 35 and
#     56, whose bailleurs and administrations are shared across the
#     départements, imported by one launch.
#
#     1. Refusals, before anything is done: two workers without Redis
#        (exit 2, the message names REDIS_URL), a connection budget above
#        --max-connections (exit 2); the target stays empty, no lease left.
#     2. Four workers at once (the default): exit 0; the four overlapped
#        (every "worker started" line comes before the first "prepared as"
#        line: the coordinator writes every line, in the order it handles
#        the workers' frames); one verdict (four "prepared transaction
#        committed"); the oracle (tests/oracle.py --concurrent) agrees with
#        every row; no bailleur or administration created twice.
#     3. --jobs 2 on a fresh target: the same, and never more than two
#        workers importing at once (a worker's "worker started" line can
#        only follow the "prepared as" line of the worker whose slot it
#        took), two at once reached.
#     4. One worker without Redis, one launch per département in order:
#        the sequential reference; the oracle agrees without --concurrent,
#        and the concurrent launches created the same bailleurs (SIREN) and
#        administrations (code) as this sequential import.
#     5. --jobs 1 without Redis, the four départements in one launch: exit
#        0, one worker at a time, the oracle agrees. A worker that waits for
#        a lock held by the prepared transaction of an earlier département
#        of the same launch is reported after 5 s (it would wait for
#        lock_timeout, 60 s, then fail).
#
#     Settings: IMPORT_TIMEOUT (seconds for one import, 120).

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"
# shellcheck source=tests/lib/import_checks.sh
. "$here/lib/import_checks.sh"
# shellcheck source=tests/lib/launch_tests.sh
. "$here/lib/launch_tests.sh"

launch_servers 40
for db in apilos_refused apilos apilos_j2 apilos_seq apilos_one; do
	load_apilos_schema "$db"
done

nconv=$(python3 "$oracle" --source "$SRC" --print-history --departement "${DEPS[@]}" | tail -n +2 | wc -l)
[ "$nconv" -gt 0 ] || fail "the generated data yields no convention history for ${DEPS[*]}"
printf 'conventions and avenants expected: %s\n' "$nconv"

# import_into NAME EXPECTED_STATUS LOG DB REDIS_URL ARGS...: runs the program
# on target DB (REDIS_URL empty: unset), stdout and stderr in LOG; shows
# the log when the status is not the expected one.
import_into() {
	local name=$1 want=$2 log=$3 db=$4 redis=$5 rc=0
	shift 5
	if [ -n "$redis" ]; then
		DATABASE_URL=$(servers_url "$db") REDIS_URL=$redis \
			timeout -k 5 "$timeout_s" "$prog" "$@" >"$log" 2>&1 || rc=$?
	else
		DATABASE_URL=$(servers_url "$db") \
			timeout -k 5 "$timeout_s" "$prog" "$@" >"$log" 2>&1 || rc=$?
	fi
	if [ "$rc" != "$want" ]; then
		sed 's/^/  | /' "$log" >&2
		[ "$rc" != 124 ] || fail "$name: no exit within ${timeout_s}s"
	fi
	assert_eq "$name: exit status" "$want" "$rc"
}



# max_importing LOG: replays the coordinator's log and prints the largest
# number of workers importing at once (started, not yet prepared or ended).
max_importing() {
	awk '
		/\] worker started \(pid [0-9]+\)/ { n++; if (n > max) max = n; next }
		/\] (prepared as ecoloweb-|committed$|département (failed|rolled back))/ { n-- }
		END { print max + 0 }' "$1"
}

# started_before_first_ready LOG: how many "worker started" lines come
# before the first line of a worker that finished importing.
started_before_first_ready() {
	awk '
		/\] (prepared as ecoloweb-|committed$)/ { exit }
		/\] worker started \(pid [0-9]+\)/ { n++ }
		END { print n + 0 }' "$1"
}

leases_left() {
	redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" --raw KEYS 'ecoloweb:lease:*'
}

# --- 1. refusals: nothing done ------------------------------------------------
log=$logdir/refused_no_redis.log
import_into "two workers without Redis" 2 "$log" apilos_refused "" \
	--departement 22 29 --no-progress
out=$(cat "$log")
assert_contains "without Redis: the message names REDIS_URL" "$out" "REDIS_URL"
assert_match "without Redis: the message suggests --jobs 1" "$out" "--jobs 1"
assert_not_contains "without Redis: no worker started" "$out" "worker started"

log=$logdir/refused_budget.log
import_into "--max-connections 3 with four départements" 2 "$log" apilos_refused "$REDIS" \
	--departement "${DEPS[@]}" --no-progress --max-connections 3
out=$(cat "$log")
assert_match "over budget: the message names --max-connections 3" "$out" \
	"more than --max-connections 3"
assert_not_contains "over budget: no worker started" "$out" "worker started"
assert_eq "refused launches: the target is untouched" "0|0|0|0" \
	"$(psql_q apilos_refused "SELECT (SELECT count(*) FROM ecoloweb_ecoloreference) || '|' ||
		(SELECT count(*) FROM conventions_convention) || '|' ||
		(SELECT count(*) FROM bailleurs_bailleur) || '|' ||
		(SELECT count(*) FROM pg_prepared_xacts)")"
assert_eq "refused launches: no lease left in Redis" "" "$(leases_left)"

# --- 2. the four départements at once -------------------------------------------
log=$logdir/parallel.log
json=$logdir/parallel.json
start=$SECONDS
import_into "four at once" 0 "$log" apilos "$REDIS" \
	--departement "${DEPS[@]}" --no-progress --summary-json "$json"
printf 'four at once: %ss\n' "$((SECONDS - start))"
out=$(cat "$log")
for d in "${DEPS[@]}"; do
	assert_match "four at once: worker $d started" "$out" "\[$d\] worker started \(pid [0-9]+\)"
	assert_match "four at once: $d prepared" "$out" "\[$d\] prepared as ecoloweb-[0-9]+-$d:"
	assert_match "four at once: $d committed by the verdict" "$out" \
		"\[$d\] prepared transaction committed"
done
assert_contains "four at once: one verdict for the launch" "$out" \
	"every département is ready: committing the launch"
n=$(started_before_first_ready "$log")
[ "$n" = 4 ] || {
	grep -E 'worker started|prepared as|committed' "$log" | sed 's/^/  | /' >&2
	fail "four at once: only $n worker(s) had started when the first one was ready: they did not overlap"
}
printf 'ok: four at once: the four workers overlapped\n'
assert_eq "four at once: four importing at once" 4 "$(max_importing "$log")"
assert_match "four at once: connection budget printed" "$out" \
	"connections: 4 worker\(s\) x 3 .* = 13"

# the JSON twin of the summary: every département committed
states=$(python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))
print(" ".join(d["departement"] + "=" + d["state"] for d in s["departements"]))' "$json") ||
	fail "four at once: $json is not the JSON summary"
assert_eq "four at once: summary JSON states" "22=committed 29=committed 35=committed 56=committed" \
	"$states"

assert_eq "four at once: every convention imported" "$nconv" \
	"$(psql_q apilos "SELECT count(*) FROM conventions_convention")"
assert_eq "four at once: conventions per département in the references" \
	"$(python3 "$oracle" --source "$SRC" --print-history --departement "${DEPS[@]}" |
		tail -n +2 | awk -F'|' '{ n[$9]++ } END { for (d in n) print d "|" n[d] }' | sort)" \
	"$(psql_q apilos "SELECT departement, count(*) FROM ecoloweb_ecoloreference
		WHERE apilos_model = 'conventions.Convention' GROUP BY 1 ORDER BY 1")"
assert_eq "four at once: no prepared transaction left" 0 \
	"$(psql_q apilos "SELECT count(*) FROM pg_prepared_xacts")"
assert_eq "four at once: the leases are released" "" "$(leases_left)"
run_oracle "four at once" apilos --departement "${DEPS[@]}" --concurrent
no_duplicates "four at once" apilos

# --- 3. --jobs 2 -------------------------------------------------------------------
log=$logdir/jobs2.log
start=$SECONDS
import_into "--jobs 2" 0 "$log" apilos_j2 "$REDIS" \
	--departement "${DEPS[@]}" --no-progress --jobs 2
printf -- '--jobs 2: %ss\n' "$((SECONDS - start))"
out=$(cat "$log")
assert_match "--jobs 2: two workers at once announced" "$out" "4 département\(s\), 2 worker\(s\) at once"
m=$(max_importing "$log")
if [ "$m" != 2 ]; then
	grep -E 'worker started|prepared as|committed|département' "$log" | sed 's/^/  | /' >&2
	fail "--jobs 2: $m worker(s) importing at once, expected at most 2 (and 2 reached)"
fi
printf 'ok: --jobs 2: never more than two workers importing at once\n'
assert_eq "--jobs 2: four workers started" 4 "$(grep -c 'worker started (pid' "$log")"
assert_eq "--jobs 2: four prepared transactions committed" 4 \
	"$(grep -c 'prepared transaction committed' "$log")"
assert_eq "--jobs 2: every convention imported" "$nconv" \
	"$(psql_q apilos_j2 "SELECT count(*) FROM conventions_convention")"
assert_eq "--jobs 2: no prepared transaction left" 0 \
	"$(psql_q apilos_j2 "SELECT count(*) FROM pg_prepared_xacts")"
run_oracle "--jobs 2" apilos_j2 --departement "${DEPS[@]}" --concurrent
no_duplicates "--jobs 2" apilos_j2

# --- 4. one worker without Redis: the sequential reference ---------------------------
# one launch per département, in order: each commits before the next starts
for d in "${DEPS[@]}"; do
	import_into "one worker without Redis: $d" 0 "$logdir/seq_$d.log" apilos_seq "" \
		--departement "$d" --no-progress
done
assert_eq "one at a time: every convention imported" "$nconv" \
	"$(psql_q apilos_seq "SELECT count(*) FROM conventions_convention")"
run_oracle "one at a time without Redis (in order, no --concurrent)" apilos_seq --departement "${DEPS[@]}" --several-runs
no_duplicates "one at a time" apilos_seq

# the concurrent launches created the same shared rows as the sequential one
# (by identity: SIREN; the other columns, SIRET included, come from whichever
# Ecoloweb bailleur of the identity group won the lock, clarification C6)
shared_sql="SELECT 'bailleur ' || siren FROM bailleurs_bailleur
	UNION ALL SELECT 'administration ' || code FROM instructeurs_administration ORDER BY 1"
seq_shared=$(psql_q apilos_seq "$shared_sql")
[ -n "$seq_shared" ] || fail "the sequential import created no bailleur nor administration"
assert_eq "four at once: same bailleurs and administrations as one at a time" \
	"$seq_shared" "$(psql_q apilos "$shared_sql")"
assert_eq "--jobs 2: same bailleurs and administrations as one at a time" \
	"$seq_shared" "$(psql_q apilos_j2 "$shared_sql")"
# the data does exercise sharing: bailleurs referenced by programmes of several départements
shared_n=$(psql_q apilos "SELECT count(*) FROM (
	SELECT p.bailleur_id FROM programmes_programme p
	JOIN ecoloweb_ecoloreference r ON r.apilos_model = 'programmes.Programme' AND r.apilos_id = p.id
	GROUP BY 1 HAVING count(DISTINCT r.departement) > 1) s")
[ "$shared_n" -gt 0 ] || fail "no bailleur is shared by two départements: the data does not test the locks"
printf 'ok: %s bailleur(s) shared by several départements\n' "$shared_n"

# --- 5. --jobs 1 without Redis, the four départements in one launch ---------------------
# Without Redis a worker writes the shared rows in its own transaction; the
# départements run one after the other, and each must still see (or not be
# blocked by) the shared rows of those before it that wait for the verdict.
# Run in the background: a worker waiting for a lock held by a prepared
# transaction of the same launch never ends (lock_timeout 60 s), say so at once.
log=$logdir/jobs1.log
DATABASE_URL=$(servers_url apilos_one) timeout -k 5 "$timeout_s" \
	"$prog" --departement "${DEPS[@]}" --no-progress --jobs 1 >"$log" 2>&1 &
pid=$!
stuck=0
deadline=$((SECONDS + timeout_s))
while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
	w=$(psql_q apilos_one "SELECT count(*) FROM pg_stat_activity a
		WHERE a.application_name LIKE 'import_ecoloweb_data/%' AND a.wait_event_type = 'Lock'
		AND EXISTS (SELECT 1 FROM pg_prepared_xacts)" 2>/dev/null || echo 0)
	if [ "${w:-0}" -gt 0 ]; then stuck=$((stuck + 1)); else stuck=0; fi
	if [ "$stuck" -ge 25 ]; then # 5 s
		psql_q apilos_one "SELECT a.application_name, a.wait_event_type, a.wait_event, left(a.query, 80)
			FROM pg_stat_activity a WHERE a.application_name LIKE 'import_ecoloweb_data/%'" |
			sed 's/^/  pg_stat_activity: /' >&2
		psql_q apilos_one "SELECT gid FROM pg_prepared_xacts" | sed 's/^/  prepared: /' >&2
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		sed 's/^/  | /' "$log" | grep -v ' WARN ' >&2
		fail "--jobs 1 without Redis: a worker has waited 5 s for a lock held by the prepared transaction of an earlier département of the same launch (it would fail after lock_timeout)"
	fi
	sleep 0.2
done
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || sed 's/^/  | /' "$log" >&2
assert_eq "--jobs 1 without Redis: exit status" 0 "$rc"
assert_eq "--jobs 1: one worker at a time" 1 "$(max_importing "$log")"
assert_eq "--jobs 1: every convention imported" "$nconv" \
	"$(psql_q apilos_one "SELECT count(*) FROM conventions_convention")"
run_oracle "--jobs 1 without Redis (in order, no --concurrent)" apilos_one --departement "${DEPS[@]}"
no_duplicates "--jobs 1" apilos_one

printf 't_parallel: all checks passed in %ss\n' "$((SECONDS - t0))"
