#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_fault_campaign.sh
#     The fault campaign of issue 11: a launch of 22, 29, 35 and 56 on
#     generated data, hit by one fault at a time, on real servers, with
#     prepared transactions and then without (max_prepared_transactions 0),
#     and a few kills with --commit-per-departement. After each fault:
#       - the exit status is the documented one;
#       - once the next launch settled what the dead one left (a launch of
#         the empty département 01: its clean-up commits or rolls back the
#         prepared transactions), every département is either wholly in or
#         not at all, all of them alike (all or nothing per launch, per
#         département with --commit-per-departement); the one exception is the window the README documents without prepared
#         transactions (a worker killed between the COMMIT verdict and its
#         own COMMIT);
#       - no prepared transaction is left after that launch, no session,
#         and after the re-run no lease nor lock in Redis;
#       - a re-run exits 0 and equals a clean import: the same references
#         (model and Ecoloweb id, each once), the same row count in every
#         table, no bailleur or administration twice.
#
#     The faults (moments drawn from FAULT_SEED, printed, so a failure can be
#     replayed):
#       worker-kill       SIGKILL of one worker at a named moment
#                         (src/fault_point.h): reading a row, writing a
#                         batch, holding Redis locks, after READY, before
#                         and after PREPARE TRANSACTION, before and after
#                         its own COMMIT;
#       coordinator-kill  SIGKILL of the coordinator: by a worker at one of
#                         those moments, at its own moments (COMMIT decided
#                         and recorded, after the first COMMIT PREPARED), and
#                         at seeded random times;
#       terminate-source, terminate-target, terminate-side
#                         pg_terminate_backend of a worker's Ecoloweb, APiLos
#                         or side session while it is connected;
#       target-restart    the PostgreSQL server restarted mid-run;
#       redis-restart     Redis stopped mid-run, started again 2 s later;
#       source-40001      a source statement cancelled with SQLSTATE 40001
#                         (staged with a row-level security policy, as in
#                         t_retry.sh, on a seeded table);
#       lock-timeout      a table of the target locked by another session
#                         beyond lock_timeout (1 s, from the URL's options).
#
#     Ends with the table: fault, mode, moments tried, outcomes.
#     Settings: FAULT_SEED (default 11), FAULT_CONVENTIONS (per département,
#     default 20), FAULT_ONLY (a regular expression: run only the faults
#     whose name matches), IMPORT_TIMEOUT (seconds per launch, 120).

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"
# shellcheck source=tests/lib/import_checks.sh
. "$here/lib/import_checks.sh"

prog=$top_builddir/import_ecoloweb_data
[ -x "$prog" ] || fail "program not built: $prog"

DEPS=(22 29 35 56)
seed=${FAULT_SEED:-11}
only=${FAULT_ONLY:-.}
timeout_s=${IMPORT_TIMEOUT:-120}

servers_at_exit kill_bg
servers_start max_prepared_transactions=20 || fail "cannot start the test servers"
load_generated ecoloweb --departements "$(IFS=,; echo "${DEPS[*]}")" \
	--conventions "${FAULT_CONVENTIONS:-20}"
# the importer reads as a plain role, as on Scalingo: row-level security applies
create_reader ecoloweb || fail "cannot create the reader role"
load_apilos_schema apilos_tpl
SRC=$(servers_url ecoloweb)
export ECOLO_DATABASE_URL="postgresql://ecolo_reader@127.0.0.1:$TEST_PG_PORT/ecoloweb"
export REDIS_URL
REDIS_URL=$(servers_redis_url)
unset DATABASE_URL SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL ECOLO_TEST_FAULT
work=$TEST_SERVERS_DIR
ncase=0
target_options=
fault_args=()

# --- what a launch left ---------------------------------------------------------------

# refs_digest DB: every reference (model, Ecoloweb id), sorted, and the row count of each table
refs_digest() {
	psql_q "$1" "SELECT md5(string_agg(apilos_model || ':' || ecolo_id, ','
			ORDER BY apilos_model, ecolo_id)) || ' ' || count(*)
		FROM ecoloweb_ecoloreference"
	psql_q "$1" "SELECT string_agg(c.relname || '=' || (xpath('/row/n/text()',
			query_to_xml('SELECT count(*) AS n FROM ' || quote_ident(c.relname), false, true, '')))[1]::text,
			' ' ORDER BY c.relname)
		FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
}

# dep_state DB DEP: "full", "none" or "partial N" (conventions of DEP in DB)
dep_state() {
	local n
	n=$(conventions_of "$1" "$2")
	if [ "$n" = "${full_of[$2]}" ]; then
		echo full
	elif [ "$n" = 0 ]; then
		echo none
	else
		echo "partial $n"
	fi
}

# launch_state DB: "all", "none" or the list of départements in
launch_state() {
	local d s in=() out=0
	for d in "${DEPS[@]}"; do
		s=$(dep_state "$1" "$d")
		case "$s" in
		full) in+=("$d") ;;
		none) out=$((out + 1)) ;;
		*) echo "$d:$s" && return ;;
		esac
	done
	if [ "${#in[@]}" = "${#DEPS[@]}" ]; then
		echo all
	elif [ "$out" = "${#DEPS[@]}" ]; then
		echo none
	else
		echo "only ${in[*]}"
	fi
}

prepared_left() { psql_q postgres "SELECT count(*) FROM pg_prepared_xacts"; }
sessions_left() {
	psql_q postgres "SELECT count(*) FROM pg_stat_activity
		WHERE application_name LIKE 'import_ecoloweb_data%'"
}
no_session_left() { [ "$(sessions_left)" = 0 ]; }
redis_keys() { redis-cli -p "$TEST_REDIS_PORT" --scan --pattern "ecoloweb:$1:*" | sort | tr '\n' ' '; }

# --- running a launch -------------------------------------------------------------------

# start_launch DB LOG ARGS...: the program in the background on target DB (imp_pid)
start_launch() {
	local db=$1
	imp_log=$2
	shift 2
	DATABASE_URL="$(servers_url "$db")$target_options" "$prog" "$@" >"$imp_log" 2>&1 &
	imp_pid=$!
	bg_pids+=("$imp_pid")
}

# wait_launch: waits for the launch to end (rc); fails after timeout_s
wait_launch() {
	local deadline=$((SECONDS + timeout_s))
	while alive "$imp_pid"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill -KILL "$imp_pid" 2>/dev/null
			sed 's/^/  | /' "$imp_log" >&2
			fail "case $ncase ($case_name): the launch did not end within ${timeout_s}s"
		fi
		sleep 0.05
	done
	rc=0
	wait "$imp_pid" 2>/dev/null || rc=$? # no "Killed" line from bash
}

# run_launch DB LOG ARGS...: a launch in the foreground (rc)
run_launch() {
	start_launch "$@"
	wait_launch
}

show_case_logs() {
	local f
	for f in "$work/case$ncase".*.log; do
		printf '  --- %s\n' "${f##*/}" >&2
		sed 's/^/  | /' "$f" >&2
	done
}

case_fail() {
	show_case_logs
	fail "case $ncase ($case_name, seed $seed): $*"
}

# --- the checks after a fault -------------------------------------------------------

# expect_status WANT...: the fault launch's status is one of WANT
expect_status() {
	local w
	for w in "$@"; do
		[ "$rc" = "$w" ] && return 0
	done
	case_fail "exit status $rc, expected ${*}"
}

# settle_and_check DB ALLOW: the next launch settles, then all or nothing
# (ALLOW=partial accepts some départements in and the others not at all)
settle_and_check() {
	local db=$1 allow=$2 state
	wait_until "case $ncase: the dead launch's sessions are gone" 20 no_session_left
	# only prepared transactions outlive a launch: without them, nothing to settle
	if [ "$mode" = prepared ]; then
		run_launch "$db" "$work/case$ncase.settle.log" --departement 01 --no-progress
		[ "$rc" = 0 ] || case_fail "the settling launch (département 01) exited $rc"
	fi
	[ "$(prepared_left)" = 0 ] || case_fail "prepared transactions left after the settling launch"
	state=$(launch_state "$db")
	case "$state" in
	all | none) ;;
	only*) [ "$allow" = partial ] || case_fail "partly committed: $state" ;;
	*) case_fail "a département partly imported: $state" ;;
	esac
	settled=$state
}

# rerun_and_compare DB: the re-run completes and equals the clean import
rerun_and_compare() {
	local db=$1
	run_launch "$db" "$work/case$ncase.rerun.log" --departement "${DEPS[@]}" --no-progress
	[ "$rc" = 0 ] || case_fail "the re-run exited $rc"
	[ "$(refs_digest "$db")" = "$clean_digest" ] ||
		case_fail "the re-run differs from a clean import: $(refs_digest "$db") vs $clean_digest"
	no_duplicates "case $ncase" "$db" >/dev/null
	[ "$(prepared_left)" = 0 ] || case_fail "prepared transactions left after the re-run"
	wait_until "case $ncase: no session after the re-run" 20 no_session_left
	[ -z "$(redis_keys lease)" ] || case_fail "leases left after the re-run: $(redis_keys lease)"
	[ -z "$(redis_keys lock)" ] || case_fail "locks left after the re-run: $(redis_keys lock)"
}

# record FAULT OUTCOME: one line of the results (fault, mode, outcome)
results=()
record() {
	results+=("$1|$mode|$2")
	printf '  case %d %-18s %-15s %s (%s s)\n' "$ncase" "$1" "$mode" "$2" "$((SECONDS - case_t0))"
}

# new_case NAME: a fresh target database for the case (case_db), or 1 to skip
new_case() {
	case_name=$1
	[[ "$case_name" =~ $only ]] || return 1
	ncase=$((ncase + 1))
	case_t0=$SECONDS
	case_db=case$ncase
	psql_q postgres "CREATE DATABASE $case_db TEMPLATE apilos_tpl" >/dev/null ||
		fail "cannot create $case_db"
	target_options=
	return 0
}

# end_case FAULT MOMENT ALLOW: the common checks, then the result line
end_case() {
	local fault=$1 moment=$2 allow=${3:-}
	[ "$mode" = per-departement ] && allow=partial
	settle_and_check "$case_db" "$allow"
	rerun_and_compare "$case_db"
	record "$fault" "$moment: exit $rc_fault, settled $settled, re-run equal"
	grep -h "taken over\|lock(s) left by killed\|try [0-9] of" "$work/case$ncase".*.log | sed 's/^/    | /' | head -n 3
	psql_q postgres "DROP DATABASE $case_db" >/dev/null
}

# fault_launch SPEC: the launch with ECOLO_TEST_FAULT=SPEC; fails if the moment is never reached
fault_launch() {
	local spec=$1
	ECOLO_TEST_FAULT=$spec run_launch "$case_db" "$work/case$ncase.fault.log" "${fault_args[@]}"
	rc_fault=$rc
	grep -q "^test fault: " "$imp_log" || case_fail "the moment $spec was never reached"
}

# pick WORD... / between LO HI: a draw from the seed, in $REPLY (no subshell:
# a subshell's RANDOM would not advance the campaign's sequence)
pick() {
	local a=("$@")
	REPLY=${a[RANDOM % ${#a[@]}]}
}
between() { REPLY=$(($1 + RANDOM % ($2 - $1 + 1))); }

# --- the faults -----------------------------------------------------------------------

# worker_kill POINT NTH DEP: SIGKILL of the worker of DEP the NTH time it passes POINT
worker_kill() {
	local point=$1 nth=$2 dep=$3 allow='' want=1
	new_case worker-kill || return 0
	fault_launch "$point:$dep:$nth:kill"
	# without prepared transactions a worker killed after the COMMIT decision
	# leaves the others committed (README, "The verdict"); after READY the
	# decision may be taken already
	[ "$mode" = unprepared ] && [[ "$point" =~ ^(ready|commit|committed)$ ]] && allow=partial
	expect_status "$want"
	end_case worker-kill "$point #$nth in $dep" "$allow"
}

# coordinator_kill_at POINT NTH WHO: SIGKILL of the coordinator the NTH time WHO
# (a worker's département, or "-": the coordinator itself) passes POINT
coordinator_kill_at() {
	local point=$1 nth=$2 who=$3 action=kill-parent allow=''
	new_case coordinator-kill || return 0
	[ "$who" = - ] && action='kill'
	fault_launch "$point:$who:$nth:$action"
	expect_status 137
	[ "$mode" = unprepared ] && allow=partial
	end_case coordinator-kill "$point #$nth in $who" "$allow"
}

# coordinator_kill_after MS: SIGKILL of the coordinator MS milliseconds after its start
coordinator_kill_after() {
	local ms=$1 allow=''
	new_case coordinator-kill || return 0
	start_launch "$case_db" "$work/case$ncase.fault.log" "${fault_args[@]}"
	sleep "$(awk -v ms="$ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -KILL "$imp_pid" 2>/dev/null
	wait_launch
	rc_fault=$rc
	expect_status 137 0 # a launch faster than MS ends first
	[ "$mode" = unprepared ] && allow=partial
	end_case coordinator-kill "after ${ms} ms" "$allow"
}

# terminated DB APP: a session named APP on DB was there, and is terminated
terminated() {
	[ "$(psql_q postgres "SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = '$1' AND application_name = '$2'" 2>/dev/null)" = t ]
}

# terminate WHICH DEP: pg_terminate_backend of a session of the worker of DEP once it exists
terminate() {
	local which=$1 dep=$2 db app hit deadline
	new_case "terminate-$which" || return 0
	case "$which" in
	source) db=ecoloweb app=import_ecoloweb_data/$dep ;;
	target) db=$case_db app=import_ecoloweb_data/$dep ;;
	side) db=$case_db app=import_ecoloweb_data/$dep/shared ;;
	esac
	start_launch "$case_db" "$work/case$ncase.fault.log" "${fault_args[@]}"
	deadline=$((SECONDS + 30))
	hit=''
	while alive "$imp_pid" && [ "$SECONDS" -lt "$deadline" ]; do
		terminated "$db" "$app" && hit=1 && break
		sleep 0.02
	done
	[ -n "$hit" ] || case_fail "no $which session of $dep could be terminated"
	wait_launch
	rc_fault=$rc
	expect_status 0 1 # the source session may be reopened by the retry
	end_case "terminate-$which" "session of $dep" ""
}

# target_restart MS: the PostgreSQL server restarted MS milliseconds after the start
target_restart() {
	local ms=$1
	new_case target-restart || return 0
	start_launch "$case_db" "$work/case$ncase.fault.log" "${fault_args[@]}"
	sleep "$(awk -v ms="$ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	servers_stop_pg
	servers_start_pg || fail "PostgreSQL did not start again"
	wait_launch
	rc_fault=$rc
	expect_status 0 1
	end_case target-restart "after ${ms} ms" ""
}

# redis_restart MS: Redis stopped MS milliseconds after the workers started, started
# again 2 s later
redis_restart() {
	local ms=$1
	new_case redis-restart || return 0
	start_launch "$case_db" "$work/case$ncase.fault.log" "${fault_args[@]}"
	wait_until "case $ncase: the workers start" 30 grep -qs "worker started" "$imp_log"
	sleep "$(awk -v ms="$ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	servers_stop_redis KILL
	sleep 2
	servers_start_redis || fail "Redis did not start again"
	wait_launch
	rc_fault=$rc
	expect_status 0 1
	end_case redis-restart "stopped after ${ms} ms" ""
}

# source_40001 TABLE: the first read of TABLE in each source session fails with 40001
source_40001() {
	local table=$1
	new_case source-40001 || return 0
	psql_q ecoloweb "ALTER TABLE ecolo.$table ENABLE ROW LEVEL SECURITY;
		CREATE POLICY conflict ON ecolo.$table FOR SELECT USING (ecolo.conflict_once())" \
		>/dev/null || fail "cannot stage a 40001 on ecolo.$table"
	run_launch "$case_db" "$work/case$ncase.fault.log" "${fault_args[@]}"
	rc_fault=$rc
	psql_q ecoloweb "DROP POLICY conflict ON ecolo.$table;
		ALTER TABLE ecolo.$table DISABLE ROW LEVEL SECURITY" >/dev/null
	expect_status 0
	grep -q "starts again (attempt 2 of 3)" "$imp_log" || case_fail "no retry logged"
	end_case source-40001 "first read of $table" ""
}

# lock_timeout TABLE: TABLE of the target locked by another session past lock_timeout (1 s)
lock_timeout() {
	local table=$1
	new_case lock-timeout || return 0
	run_blocker "$case_db" "LOCK TABLE $table IN ACCESS EXCLUSIVE MODE"
	target_options="?options=-c%20lock_timeout%3D1s"
	run_launch "$case_db" "$work/case$ncase.fault.log" "${fault_args[@]}"
	rc_fault=$rc
	target_options=
	unblock "$case_db"
	expect_status 1
	grep -q "55P03" "$imp_log" || case_fail "no lock_timeout (55P03) in the log"
	end_case lock-timeout "$table locked" ""
}

# --- the campaign -----------------------------------------------------------------------

# a clean import: what every re-run must equal
load_apilos_schema clean
declare -A full_of
t0=$SECONDS
start=$(date +%s%N)
run_launch clean "$work/clean.log" --departement "${DEPS[@]}" --no-progress
[ "$rc" = 0 ] || { sed 's/^/  | /' "$work/clean.log" >&2; fail "the clean import exited $rc"; }
clean_ms=$((($(date +%s%N) - start) / 1000000))
run_oracle "clean import" clean --concurrent --departement "${DEPS[@]}"
clean_digest=$(refs_digest clean)
for d in "${DEPS[@]}"; do
	full_of[$d]=$(conventions_of clean "$d")
	[ "${full_of[$d]}" -gt 0 ] || fail "no convention of $d in the clean import"
done
printf 'seed %s; clean import in %s ms; conventions: %s\n' "$seed" "$clean_ms" \
	"$(for d in "${DEPS[@]}"; do printf '%s=%s ' "$d" "${full_of[$d]}"; done)"

# per_departement: a few kills with --commit-per-departement, where each
# département is all or nothing on its own
per_departement() {
	local p dep
	for p in read write lock ready commit; do
		n=1
		[ "$p" = read ] && between 1 80 && n=$REPLY
		pick "${DEPS[@]}" && dep=$REPLY
		worker_kill "$p" "$n" "$dep"
	done
	between 1 80 && n=$REPLY
	pick "${DEPS[@]}" && coordinator_kill_at read "$n" "$REPLY"
	pick "${DEPS[@]}" && coordinator_kill_at ready 1 "$REPLY"
	between 100 $((clean_ms * 8 / 10)) && coordinator_kill_after "$REPLY"
}

# campaign MODE: every fault once or more, moments drawn from the seed
campaign() {
	mode=$1
	local i p n dep points=(read write lock ready) own=(decided) by_worker=(read lock ready)
	fault_args=(--departement "${DEPS[@]}" --no-progress)
	if [ "$mode" = per-departement ]; then
		fault_args+=(--commit-per-departement)
		per_departement
		return
	fi
	if [ "$mode" = prepared ]; then
		points+=(prepare prepared)
		own+=(commit-prepared)
		by_worker+=(prepared)
	else
		points+=(commit committed)
		by_worker+=(commit)
	fi
	# worker kills: every moment once, then drawn ones, 10 in all
	for ((i = 0; i < 10; i++)); do
		p=${points[i]:-}
		[ -n "$p" ] || { pick "${points[@]}" && p=$REPLY; }
		n=1
		case "$p" in
		read) between 1 80 && n=$REPLY ;;
		write) between 1 6 && n=$REPLY ;;
		esac
		pick "${DEPS[@]}" && dep=$REPLY
		worker_kill "$p" "$n" "$dep"
	done
	# coordinator kills: at a worker's moment, at its own moments, at random times
	for p in "${by_worker[@]}"; do
		n=1
		[ "$p" = read ] && between 1 80 && n=$REPLY
		pick "${DEPS[@]}" && dep=$REPLY
		coordinator_kill_at "$p" "$n" "$dep"
	done
	for p in "${own[@]}"; do
		coordinator_kill_at "$p" 1 -
	done
	# random times within the first 80 % of a clean launch
	for i in 1 2; do
		between 100 $((clean_ms * 8 / 10)) && coordinator_kill_after "$REPLY"
	done
	for p in source target side; do
		pick "${DEPS[@]}" && terminate "$p" "$REPLY"
	done
	between 200 "$clean_ms" && target_restart "$REPLY"
	between 0 $((clean_ms * 6 / 10)) && redis_restart "$REPLY"
	pick ecolo_logement ecolo_programmelogement ecolo_conventionapl ecolo_bailleur \
		ecolo_evenement && source_40001 "$REPLY"
	pick conventions_convention programmes_logement programmes_lot && lock_timeout "$REPLY"
}

RANDOM=$seed # here: starting the servers draws from RANDOM too
campaign prepared
campaign per-departement
servers_stop_pg
servers_start_pg max_prepared_transactions=0 || fail "PostgreSQL did not start again"
campaign unprepared

# --- the table ----------------------------------------------------------------------------
printf '\nfault campaign, seed %s, %s départements, %s s:\n' "$seed" "${#DEPS[@]}" "$((SECONDS - t0))"
printf '%s\n' "${results[@]}" | awk -F'|' '
	{ key = $1 "|" $2; n[key]++; split($3, a, ": "); o[key, a[2]]++
	  if (!(key in first)) { first[key] = 1; order[++k] = key } }
	END {
		printf "%-18s %-15s %7s  %s\n", "fault", "mode", "moments", "outcomes"
		for (i = 1; i <= k; i++) {
			key = order[i]; split(key, f, "|"); out = ""
			for (ko in o) { split(ko, p, SUBSEP); if (p[1] == key) out = out sprintf("%s x%d; ", p[2], o[ko]) }
			printf "%-18s %-15s %7d  %s\n", f[1], f[2], n[key], out
		}
	}'
[ "$ncase" -gt 0 ] || fail "FAULT_ONLY=$only matched no fault"
