#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_faults.sh
#     Failures in the middle of a launch of 22, 29, 35 and 56 (issue 3,
#     design.md "Failures"), on generated data (400 conventions per
#     département), asserted with SQL on the target:
#
#     a. the worker of 29 killed with SIGKILL while it imports, the three
#        others already prepared: exit 1, nothing of the launch committed,
#        no prepared transaction left, no session left; then the same kill
#        at a moment chosen by the log only (the others still importing);
#        a re-run imports everything (oracle, no duplicate).
#     b. the same kill with --commit-per-departement: 22, 35 and 56
#        committed (every convention, their references), nothing of 29 but
#        the shared bailleurs/administrations; a re-run of 29 completes it.
#     c. SIGTERM to the coordinator, once while the worker of 29 waits for
#        a lock and the others are prepared, once while all four import:
#        exit 143 within 10 s of the signal, nothing committed, no prepared
#        transaction, no process nor session of the launch left, the leases
#        released, the summary printed ("interrupted": true in the JSON).
#     d. Redis killed while the four workers are connected to it and about
#        to take their first locks: every département that needs a lock
#        fails with a message about Redis, nothing committed or duplicated;
#        with --commit-per-departement and 22, 35 already imported, 22 and
#        35 (nothing to lock) succeed, 29 and 56 fail; Redis restarted, a
#        re-run succeeds.
#     e. as (a), with 21 départements (17 of them empty): more workers than
#        max_prepared_transactions (20), so the verdict keeps the workers'
#        transactions open: the killed 29 makes the coordinator send ABORT
#        to 22, 35 and 56 waiting for it; nothing committed.
#
#     "While it imports" is made deterministic without sleeping: a session
#     of the test holds, uncommitted, the reference row the worker of 29
#     will insert last (its last convention), so that worker waits on the
#     unique index (pg_stat_activity: wait_event_type Lock) in the middle of
#     its transaction; for (d), the test holds an ACCESS EXCLUSIVE lock on
#     conventions_avenanttype, which every worker reads once connected to
#     Redis and before its first lock.
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

SHARED_MODELS="'bailleurs.Bailleur', 'instructeurs.Administration'"

# processes started here, killed at exit whatever happens
servers_at_exit kill_bg

launch_servers 400
export REDIS_URL=$REDIS
launch_history
# the reference the worker of 29 inserts last: a convention of 29
key29=${last_key[29]}
printf 'conventions and avenants: %s (%s); blocking key of 29: %s\n' "$nconv" \
	"$(for d in "${DEPS[@]}"; do printf '%s=%s ' "$d" "${nconv_of[$d]}"; done)" "$key29"

# --- helpers ------------------------------------------------------------------------


now() { date +%s.%N; }

# start_import DB LOG ARGS...: starts the program in the background on
# target DB; sets imp_pid and imp_log.
start_import() {
	local db=$1
	imp_log=$2
	shift 2
	DATABASE_URL=$(servers_url "$db") "$prog" "$@" >"$imp_log" 2>&1 &
	imp_pid=$!
	bg_pids+=("$imp_pid")
}

# show_log: the log of the running import, on stderr (warnings left out)
show_log() {
	grep -v ' WARN  \[[0-9AB]*\] [a-z_]* [0-9]' "$imp_log" | sed 's/^/  | /' >&2
}

# wait_until (tests/lib/common.sh) shows this on a time-out
wait_until_failed() { show_log; }

# wait_exit SECONDS: waits for the import to end; sets rc and elapsed
# (seconds since the call); kills it and fails after SECONDS.
wait_exit() {
	local secs=$1 start
	start=$(now)
	while alive "$imp_pid"; do
		if awk -v s="$start" -v e="$(now)" -v m="$secs" 'BEGIN { exit !(e - s > m) }'; then
			kill -KILL "$imp_pid" 2>/dev/null
			show_log
			fail "the import did not end within ${secs}s"
		fi
		sleep 0.05
	done
	elapsed=$(awk -v s="$start" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }')
	rc=0
	wait "$imp_pid" || rc=$?
}

expect_rc() {
	local name=$1 want=$2
	[ "$rc" = "$want" ] || show_log
	assert_eq "$name: exit status" "$want" "$rc"
}

in_log() { grep -qE -- "$1" "$imp_log"; }
log_count() { grep -cE -- "$1" "$imp_log"; }

# others_prepared / others_committed: 22, 35 and 56 are prepared / committed
others_prepared() { [ "$(log_count '\] prepared as ecoloweb-[0-9]+-(22|35|56):')" = 3 ]; }
others_committed() { [ "$(log_count '\[(22|35|56)\] département committed')" = 3 ]; }

# worker_pid DEP: the pid the coordinator logged for the worker of DEP
worker_pid() {
	sed -n "s/.*\[$1\] worker started (pid \([0-9]*\)).*/\1/p" "$imp_log" | head -n 1
}
worker_pids() {
	sed -n 's/.*\] worker started (pid \([0-9]*\)).*/\1/p' "$imp_log"
}

# writing DB DEP: the main session of the worker of DEP has written (it has a transaction id)
writing() {
	[ "$(psql_q "$1" "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'import_ecoloweb_data/$2' AND backend_xid IS NOT NULL")" = 1 ]
}

# n_blocked DB N: N workers wait for a lock
n_blocked() {
	[ "$(psql_q "$1" "SELECT count(*) FROM pg_stat_activity
		WHERE application_name ~ '^import_ecoloweb_data/[0-9AB]+$' AND wait_event_type = 'Lock'")" = "$2" ]
}

# block_key29 DB: holds the reference of the last convention of 29, uncommitted
block_key29() {
	run_blocker "$1" "INSERT INTO ecoloweb_ecoloreference
		(apilos_model, ecolo_id, apilos_id, departement, est_supprime)
		VALUES ('conventions.Convention', '$key29', -1, '29', false)"
}

no_session_left() {
	[ "$(psql_q postgres "SELECT count(*) FROM pg_stat_activity
		WHERE application_name LIKE 'import_ecoloweb_data%'")" = 0 ]
}

# gone NAME PID...: the processes are gone, and so are their sessions
gone() {
	local name=$1 p
	shift
	for p in "$@"; do
		alive "$p" && fail "$name: process $p of the launch is still running"
	done
	wait_until "$name: the launch's database sessions to end" 10 no_session_left
	printf 'ok: %s: no process (%s), no session left\n' "$name" "$*"
}

leases_left() {
	redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" --raw KEYS 'ecoloweb:lease:*'
}

# nothing_committed NAME DB: no row of the launch but shared ones
nothing_committed() {
	local name=$1 db=$2
	assert_eq "$name: no convention, programme, lot, logement, pièce jointe" "0|0|0|0|0" \
		"$(psql_q "$db" "SELECT (SELECT count(*) FROM conventions_convention) || '|' ||
			(SELECT count(*) FROM programmes_programme) || '|' ||
			(SELECT count(*) FROM programmes_lot) || '|' ||
			(SELECT count(*) FROM programmes_logement) || '|' ||
			(SELECT count(*) FROM conventions_piecejointe)")"
	assert_eq "$name: no reference but bailleurs/administrations" 0 \
		"$(psql_q "$db" "SELECT count(*) FROM ecoloweb_ecoloreference
			WHERE apilos_model NOT IN ($SHARED_MODELS)")"
	assert_eq "$name: no prepared transaction left" 0 \
		"$(psql_q "$db" "SELECT count(*) FROM pg_prepared_xacts")"
}




# rerun NAME DB DEP...: a launch without fault completes the import
rerun() {
	local name=$1 db=$2
	shift 2
	start_import "$db" "$logdir/$db-rerun.log" --departement "$@" --no-progress
	wait_exit "$timeout_s"
	expect_rc "$name" 0
	assert_eq "$name: every convention imported" "$nconv" \
		"$(psql_q "$db" "SELECT count(*) FROM conventions_convention")"
}

# --- a. SIGKILL to a worker, one verdict per launch ----------------------------------
db=fault_a
load_apilos_schema $db
block_key29 $db
start_import $db "$logdir/a1.log" --departement "${DEPS[@]}" --no-progress
wait_until "a1: the worker of 29 waiting in the middle of its import" 60 blocked $db 29
writing $db 29 || fail "a1: the worker of 29 has written nothing yet"
wait_until "a1: 22, 35 and 56 prepared" 60 others_prepared
assert_eq "a1: three prepared transactions, waiting for 29" 3 \
	"$(psql_q $db "SELECT count(*) FROM pg_prepared_xacts WHERE gid ~ '^ecoloweb-[0-9]+-(22|35|56)$'")"
assert_eq "a1: nothing committed yet" 0 "$(psql_q $db "SELECT count(*) FROM conventions_convention")"
p29=$(worker_pid 29)
pids=$(worker_pids)
[ -n "$p29" ] || fail "a1: no pid logged for the worker of 29"
kill -KILL "$p29" || fail "a1: cannot kill the worker of 29 (pid $p29)"
wait_exit 30
unblock $db
expect_rc "a1: worker of 29 killed" 1
in_log "\[29\] worker died \(status 137\)" || { show_log; fail "a1: the log does not say that the worker of 29 died"; }
in_log "\[29\] département failed: aborting the launch" || { show_log; fail "a1: the log does not say the launch is aborted"; }
assert_eq "a1: the three prepared transactions rolled back" 3 \
	"$(log_count "\] prepared transaction rolled back")"
nothing_committed "a1" $db
no_duplicates "a1" $db
# shellcheck disable=SC2086 # a list of pids
gone "a1" "$imp_pid" $pids
assert_eq "a1: the leases are released" "" "$(leases_left)"

# a2: the kill at a moment read from the log: 29 writes its programmes,
# the other workers are still importing (they get SIGTERM)
start_import $db "$logdir/a2.log" --departement "${DEPS[@]}" --no-progress
wait_until "a2: the worker of 29 writing its programmes" 60 in_log "\[29\] programme: reading the rows"
p29=$(worker_pid 29)
pids=$(worker_pids)
kill -KILL "$p29" || fail "a2: cannot kill the worker of 29 (pid $p29): it ended already"
wait_exit 30
expect_rc "a2: worker of 29 killed while importing" 1
in_log "\[29\] worker died \(status 137\)" || { show_log; fail "a2: the log does not say that the worker of 29 died"; }
if in_log "\[29\] prepared as"; then
	show_log
	fail "a2: the worker of 29 had prepared its transaction before the kill: not in the middle"
fi
nothing_committed "a2" $db
no_duplicates "a2" $db
# shellcheck disable=SC2086
gone "a2" "$imp_pid" $pids

rerun "a: re-run" $db "${DEPS[@]}"
run_oracle "a: re-run" $db --concurrent --several-runs --departement "${DEPS[@]}"
no_duplicates "a: re-run" $db

# --- b. SIGKILL to a worker with --commit-per-departement ----------------------------
db=fault_b
load_apilos_schema $db
block_key29 $db
start_import $db "$logdir/b.log" --departement "${DEPS[@]}" --no-progress --commit-per-departement
wait_until "b: the worker of 29 waiting in the middle of its import" 60 blocked $db 29
writing $db 29 || fail "b: the worker of 29 has written nothing yet"
wait_until "b: 22, 35 and 56 committed" 60 others_committed
p29=$(worker_pid 29)
pids=$(worker_pids)
kill -KILL "$p29" || fail "b: cannot kill the worker of 29 (pid $p29)"
wait_exit 30
unblock $db
expect_rc "b: worker of 29 killed" 1
in_log "\[29\] worker died \(status 137\)" || { show_log; fail "b: the log does not say that the worker of 29 died"; }
for d in 22 35 56; do
	assert_eq "b: every convention of $d committed" "${nconv_of[$d]}" "$(conventions_of $db "$d")"
done
assert_eq "b: no convention of 29" 0 "$(conventions_of $db 29)"
assert_eq "b: no reference of 29 but bailleurs/administrations" 0 \
	"$(psql_q $db "SELECT count(*) FROM ecoloweb_ecoloreference
		WHERE departement = '29' AND apilos_model NOT IN ($SHARED_MODELS)")"
assert_eq "b: no row without its reference (nothing of 29)" "0|0|0" \
	"$(psql_q $db "SELECT
		(SELECT count(*) FROM conventions_convention c WHERE NOT EXISTS (SELECT 1 FROM ecoloweb_ecoloreference r
			WHERE r.apilos_model = 'conventions.Convention' AND r.apilos_id = c.id)) || '|' ||
		(SELECT count(*) FROM programmes_programme p WHERE NOT EXISTS (SELECT 1 FROM ecoloweb_ecoloreference r
			WHERE r.apilos_model = 'programmes.Programme' AND r.apilos_id = p.id)) || '|' ||
		(SELECT count(*) FROM programmes_logement l WHERE NOT EXISTS (SELECT 1 FROM ecoloweb_ecoloreference r
			WHERE r.apilos_model = 'programmes.Logement' AND r.apilos_id = l.id))")"
assert_eq "b: no prepared transaction" 0 "$(psql_q $db "SELECT count(*) FROM pg_prepared_xacts")"
no_duplicates "b" $db
# shellcheck disable=SC2086
gone "b" "$imp_pid" $pids
rerun "b: re-run of 29" $db 29
run_oracle "b: re-run of 29" $db --concurrent --several-runs --departement "${DEPS[@]}"
no_duplicates "b: re-run of 29" $db

# --- c. SIGTERM to the coordinator ------------------------------------------------------
# sigterm NAME: SIGTERM now, then everything the launch must guarantee
sigterm() {
	local name=$1 pids
	pids=$(worker_pids)
	kill -TERM "$imp_pid" || fail "$name: cannot signal the coordinator"
	wait_exit 30
	[ "$rc" = 143 ] || show_log
	assert_eq "$name: exit status" 143 "$rc"
	awk -v e="$elapsed" 'BEGIN { exit !(e <= 10) }' ||
		{ show_log; fail "$name: the launch ended ${elapsed}s after SIGTERM (more than 10 s)"; }
	printf 'ok: %s: ended %ss after SIGTERM\n' "$name" "$elapsed"
	in_log "terminated \(SIGTERM\): aborting" || { show_log; fail "$name: the log does not say SIGTERM aborts"; }
	in_log "^Summary" || { show_log; fail "$name: no summary printed"; }
	assert_eq "$name: summary JSON says interrupted" True \
		"$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["interrupted"])' "$logdir/$name.json")"
	# shellcheck disable=SC2086
	gone "$name" "$imp_pid" $pids
	assert_eq "$name: the leases are released" "" "$(leases_left)"
}

db=fault_c
load_apilos_schema $db
block_key29 $db
start_import $db "$logdir/c1.log" --departement "${DEPS[@]}" --no-progress --summary-json "$logdir/c1.json"
wait_until "c1: the worker of 29 waiting in the middle of its import" 60 blocked $db 29
writing $db 29 || fail "c1: the worker of 29 has written nothing yet"
wait_until "c1: 22, 35 and 56 prepared" 60 others_prepared
sigterm c1
unblock $db
nothing_committed "c1" $db

start_import $db "$logdir/c2.log" --departement "${DEPS[@]}" --no-progress --summary-json "$logdir/c2.json"
wait_until "c2: a worker writing its logements" 60 in_log "\] logement: reading the rows"
running=$(psql_q $db "SELECT count(*) FROM pg_stat_activity WHERE application_name ~ '^import_ecoloweb_data/[0-9]+$'")
sigterm c2
[ "$running" -ge 2 ] || fail "c2: only $running worker session(s) when SIGTERM was sent"
nothing_committed "c2" $db
no_duplicates "c" $db

# --- d. Redis killed mid-run -------------------------------------------------------------------
# hold_avenanttype DB: every worker stops on its first read of conventions_avenanttype,
# after it connected to Redis and before its first lock
hold_avenanttype() {
	run_blocker "$1" "LOCK TABLE conventions_avenanttype IN ACCESS EXCLUSIVE MODE"
}
four_shared_sessions() {
	[ "$(psql_q "$1" "SELECT count(*) FROM pg_stat_activity
		WHERE application_name ~ '^import_ecoloweb_data/[0-9]+/shared$'")" = "$2" ]
}
redis_errors() { grep -E "ERROR +\[$1\] .*Redis" "$imp_log"; }

db=fault_d
load_apilos_schema $db
hold_avenanttype $db
start_import $db "$logdir/d1.log" --departement "${DEPS[@]}" --no-progress
wait_until "d1: the four workers connected (Redis too) and waiting" 60 n_blocked $db 4
wait_until "d1: the four side sessions" 10 four_shared_sessions $db 4
servers_stop_redis KILL
unblock $db
pids=$(worker_pids)
wait_exit 60
expect_rc "d1: Redis killed" 1
n=$(grep -cE "ERROR +\[(22|29|35|56)\] .*Redis" "$imp_log")
[ "$n" -ge 1 ] || { show_log; fail "d1: no département failed with a message about Redis"; }
printf 'ok: d1: %s error line(s) about Redis, e.g.: %s\n' "$n" \
	"$(grep -m1 -E "ERROR +\[(22|29|35|56)\] .*Redis" "$imp_log" | cut -c26-)"
nothing_committed "d1" $db
assert_eq "d1: no bailleur nor administration created without its lock" "0|0" \
	"$(psql_q $db "SELECT (SELECT count(*) FROM bailleurs_bailleur) || '|' ||
		(SELECT count(*) FROM instructeurs_administration)")"
# shellcheck disable=SC2086
gone "d1" "$imp_pid" $pids
servers_start_redis || fail "cannot restart Redis"

# d2: 22 and 35 imported first; 29 and 56 need their own administration
db=fault_d2
load_apilos_schema $db
start_import $db "$logdir/d2-pre.log" --departement 22 35 --no-progress
wait_exit "$timeout_s"
expect_rc "d2: import of 22 35 first" 0
shared_before=$(psql_q $db "SELECT count(*) FROM ecoloweb_ecoloreference WHERE apilos_model IN ($SHARED_MODELS)")
hold_avenanttype $db
start_import $db "$logdir/d2.log" --departement "${DEPS[@]}" --no-progress --commit-per-departement
wait_until "d2: the four workers connected (Redis too) and waiting" 60 n_blocked $db 4
wait_until "d2: the four side sessions" 10 four_shared_sessions $db 4
servers_stop_redis KILL
unblock $db
pids=$(worker_pids)
wait_exit 60
expect_rc "d2: Redis killed" 1
for d in 22 35; do
	in_log "\[$d\] département committed" || { show_log; fail "d2: $d (nothing to lock) did not succeed"; }
	printf 'ok: d2: %s, with nothing to lock, committed\n' "$d"
	assert_eq "d2: conventions of $d unchanged" "${nconv_of[$d]}" "$(conventions_of $db "$d")"
done
for d in 29 56; do
	redis_errors "$d" >/dev/null || { show_log; fail "d2: $d failed without a message about Redis"; }
	in_log "\[$d\] département failed" || { show_log; fail "d2: $d did not fail"; }
	printf 'ok: d2: %s failed: %s\n' "$d" "$(redis_errors "$d" | head -n 1 | cut -c26-)"
	assert_eq "d2: no convention of $d" 0 "$(conventions_of $db "$d")"
	assert_eq "d2: no reference of $d" 0 \
		"$(psql_q $db "SELECT count(*) FROM ecoloweb_ecoloreference WHERE departement = '$d'")"
done
assert_eq "d2: no shared row created without its lock" "$shared_before" \
	"$(psql_q $db "SELECT count(*) FROM ecoloweb_ecoloreference WHERE apilos_model IN ($SHARED_MODELS)")"
assert_eq "d2: no prepared transaction" 0 "$(psql_q $db "SELECT count(*) FROM pg_prepared_xacts")"
no_duplicates "d2" $db
# shellcheck disable=SC2086
gone "d2" "$imp_pid" $pids

servers_start_redis || fail "cannot restart Redis"
rerun "d: re-run with Redis back" $db "${DEPS[@]}"
for d in 29 56; do
	n=$(psql_q $db "SELECT count(*) FROM ecoloweb_ecoloreference
		WHERE departement = '$d' AND apilos_model IN ($SHARED_MODELS)")
	[ "$n" -gt 0 ] || fail "d2: $d created no shared row once Redis was back: it did not need a lock, the test proves nothing"
done
printf 'ok: d: 29 and 56 did need new shared rows (locks)\n'
for d in "${DEPS[@]}"; do
	assert_eq "d: every convention of $d imported" "${nconv_of[$d]}" "$(conventions_of $db "$d")"
done
no_duplicates "d: re-run" $db

# --- e. SIGKILL to a worker, one verdict without prepared transactions ---------------------
# 21 départements, more than max_prepared_transactions (20): the workers that
# are done keep their transaction open until the verdict (design.md); the 17
# without data are done at once.
db=fault_e
load_apilos_schema $db
EMPTY=(01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17)
# ready_waiting DEP...: each worker closed its Ecoloweb session (it does so
# right before READY) and keeps its APiLos transaction open
ready_waiting() {
	local d
	for d in "$@"; do
		[ "$(psql_q postgres "SELECT
			(SELECT count(*) FROM pg_stat_activity WHERE datname = 'ecoloweb'
				AND application_name = 'import_ecoloweb_data/$d') || '|' ||
			(SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'
				AND application_name = 'import_ecoloweb_data/$d' AND state = 'idle in transaction')")" = "0|1" ] ||
			return 1
	done
}
block_key29 $db
start_import $db "$logdir/e.log" --departement "${EMPTY[@]}" "${DEPS[@]}" --no-progress
wait_until "e: the worker of 29 waiting in the middle of its import" 60 blocked $db 29
in_log "verdict: one for the launch; without prepared transactions" ||
	{ show_log; fail "e: the launch did not choose the verdict without prepared transactions"; }
wait_until "e: 22, 35 and 56 ready, waiting for the verdict" 60 ready_waiting 22 35 56
writing $db 29 || fail "e: the worker of 29 has written nothing yet"
pids=$(worker_pids)
kill -KILL "$(worker_pid 29)" || fail "e: cannot kill the worker of 29"
wait_exit 30
unblock $db
expect_rc "e: worker of 29 killed (no prepared transactions)" 1
in_log "\[29\] worker died \(status 137\)" || { show_log; fail "e: the log does not say that the worker of 29 died"; }
for d in 22 35 56; do
	in_log "\[$d\] abort requested: rolling back" ||
		{ show_log; fail "e: $d, waiting for the verdict, was not told to roll back"; }
done
printf 'ok: e: 22, 35 and 56 rolled back on ABORT\n'
assert_eq "e: no département committed" 0 "$(log_count '\] (département )?committed$')"
nothing_committed "e" $db
no_duplicates "e" $db
# shellcheck disable=SC2086
gone "e" "$imp_pid" $pids
assert_eq "e: the leases are released" "" "$(leases_left)"

printf 't_faults: all checks passed in %ss\n' "$((SECONDS - t0))"
