#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_nonblocking.sh
#     Nothing the coordinator's libev loop calls blocks it (issue 11, defect
#     5): while Redis or the APiLos server's postmaster is frozen (kill
#     -STOP: connections are accepted by the kernel, never answered), the
#     loop keeps its beat. A launch of 22, 29 and 35 (plain log, heartbeat
#     and lease renewal every second: ECOLO_TEST_HEARTBEAT_SECONDS and
#     ECOLO_TEST_RENEW_SECONDS, coordinator/run.c) is held in the middle of
#     29 (a session of the test holds, uncommitted, the reference of the
#     last convention of 29, so its worker waits on the unique index), 22
#     and 35 prepared:
#
#     a. Redis frozen for 8 s: the lease renewals meet it (their failure is
#        logged), yet no two timestamped log lines of the freeze are more
#        than 3 heartbeats apart; Redis thawed and 29 let go, the launch
#        commits (exit 0, no prepared transaction, no decision left).
#     b. the postmaster frozen for 8 s, then the worker of 29 killed
#        (SIGKILL): the coordinator must reap it and roll back 22 and 35,
#        on new sessions that cannot open yet. The heartbeat goes on, and a
#        SIGTERM sent to the coordinator during the freeze is logged within
#        2 s. Thawed, everything is settled: exit 143 (interrupted,
#        everything rolled back), 22 and 35 rolled back, no prepared
#        transaction, nothing committed, no session of the launch left.
#     c. Redis frozen as 29 gets ready: the COMMIT decision cannot be
#        recorded (no reply in 5 s). A SIGTERM sent while it is being
#        recorded is logged at once, and handled once Redis has answered
#        (what a blocking SET did, in silence); the heartbeat goes on. The
#        launch aborts: exit 143, nothing committed, no prepared
#        transaction.
#
#     "Beat" is measured with the log's own timestamps: a gap of more than
#     3 heartbeats (3 s) between two lines written during a freeze (its
#     start and end count as lines) fails; the blocking code stalled 5 s
#     (Redis) or 10 s and more (PostgreSQL) at a time.

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
[ -x "$prog" ] || fail "program not built: $prog"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed by tests/oracle.py"

DEPS=(22 29 35)
FREEZE_S=8
export ECOLO_TEST_HEARTBEAT_SECONDS=1 ECOLO_TEST_RENEW_SECONDS=1
MAX_GAP_S=3

# a frozen server is thawed whatever happens, or the servers' stop would hang
frozen=()
thaw_all() {
	local p
	for p in "${frozen[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
	done
	frozen=()
}
servers_at_exit "thaw_all; kill_bg"
servers_start || fail "cannot start the test servers"
SRC=$(servers_url ecoloweb)
export ECOLO_DATABASE_URL=$SRC REDIS_URL
REDIS_URL=$(servers_redis_url)
unset DATABASE_URL SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
logdir=$TEST_SERVERS_DIR

load_generated ecoloweb --departements "$(IFS=,; echo "${DEPS[*]}")" --conventions 30
history=$(python3 "$oracle" --source "$SRC" --print-history --departement "${DEPS[@]}" | tail -n +2)
# the reference the worker of 29 inserts last: a convention of 29
key29=$(printf '%s\n' "$history" | awk -F'|' '$9 == "29" { k = $1 } END { print k }')
[ -n "$key29" ] || fail "the generated data has no convention in 29"

# --- helpers ------------------------------------------------------------------------

# start_import DB LOG ARGS...: the program in the background on target DB (imp_pid, log)
start_import() {
	local db=$1
	log=$2
	shift 2
	DATABASE_URL=$(servers_url "$db") "$prog" "$@" >"$log" 2>&1 &
	imp_pid=$!
	bg_pids+=("$imp_pid")
}

# wait_exit SECONDS: waits for the import to end (rc), kills it and fails after SECONDS
wait_exit() {
	local deadline=$((SECONDS + $1))
	while alive "$imp_pid"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill -KILL "$imp_pid" 2>/dev/null
			sed 's/^/  | /' "$log" >&2
			fail "the import did not end within $1 s"
		fi
		sleep 0.1
	done
	rc=0
	wait "$imp_pid" || rc=$?
}

expect_rc() {
	[ "$rc" = "$2" ] || sed 's/^/  | /' "$log" >&2
	assert_eq "$1: exit status" "$2" "$rc"
}

in_log() { grep -qE -- "$1" "$log"; }
log_count() { grep -cE -- "$1" "$log"; }
all_rolled_back() { [ "$(log_count '\] prepared transaction rolled back')" = 3 ]; }
others_prepared() { [ "$(log_count '\] prepared as ecoloweb-[0-9]+-(22|35):')" = 2 ]; }
worker_pid() { sed -n "s/.*\[$1\] worker started (pid \([0-9]*\)).*/\1/p" "$log" | head -n 1; }

# block_key29 DB: a background session holds the reference of the last convention of 29
block_key29() {
	run_blocker "$1" "INSERT INTO ecoloweb_ecoloreference
		(apilos_model, ecolo_id, apilos_id, departement, est_supprime)
		VALUES ('conventions.Convention', '$key29', -1, '29', false)"
}

# held DB: 29 waits in the middle of its import, 22 and 35 are prepared
held() {
	wait_until "the worker of 29 waiting in the middle of its import" 90 blocked "$1" 29
	wait_until "22 and 35 prepared" 90 others_prepared
}

now() { date +%s.%N; }

# freeze PID: stops the process (kill -STOP), thawed at exit if the test fails
freeze() {
	kill -STOP "$1" || fail "cannot freeze process $1"
	frozen+=("$1")
}

# max_gap LOG START END: the longest time, in seconds, between two
# timestamped lines of LOG written between START and END (epoch seconds),
# START and END counting as lines
max_gap() {
	python3 - "$@" <<-'EOF'
	import datetime, sys
	log, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
	times = [start]
	for line in open(log, errors="replace"):
	    try:
	        t = datetime.datetime.strptime(line[:24], "%Y-%m-%dT%H:%M:%S.%fZ")
	    except ValueError:
	        continue
	    t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
	    if start < t < end:
	        times.append(t)
	times.append(end)
	print("%.2f" % max(b - a for a, b in zip(times, times[1:])))
	EOF
}

# beat_kept NAME START END: no gap of more than MAX_GAP_S in the log during [START, END]
beat_kept() {
	local gap
	gap=$(max_gap "$log" "$2" "$3")
	printf '%s: longest silence of the log during the freeze: %s s\n' "$1" "$gap"
	if awk -v g="$gap" -v m="$MAX_GAP_S" 'BEGIN { exit !(g > m) }'; then
		sed 's/^/  | /' "$log" >&2
		fail "$1: the coordinator's loop stalled ${gap} s during the freeze (at most ${MAX_GAP_S} s allowed)"
	fi
	printf 'ok: %s: the loop kept its beat\n' "$1"
}

prepared_in() { psql_q "$1" "SELECT count(*) FROM pg_prepared_xacts WHERE database = '$1'"; }
no_session_left() {
	[ "$(psql_q postgres "SELECT count(*) FROM pg_stat_activity
		WHERE application_name LIKE 'import_ecoloweb_data%'")" = 0 ]
}

# --- a. Redis frozen -----------------------------------------------------------------
db=nb_a
load_apilos_schema $db
block_key29 $db
start_import $db "$logdir/a.log" --departement "${DEPS[@]}" --no-progress
held $db
redis_pid=$(cat "$TEST_SERVERS_DIR/redis.pid")
t0=$(now)
freeze "$redis_pid"
sleep "$FREEZE_S"
t1=$(now)
thaw_all
beat_kept "a" "$t0" "$t1"
in_log "cannot renew the lease" || {
	sed 's/^/  | /' "$log" >&2
	fail "a: no lease renewal met the frozen Redis (nothing was tested)"
}
printf 'ok: a: the lease renewals met the frozen Redis\n'
unblock $db
wait_exit 90
expect_rc "a" 0
assert_eq "a: three départements committed" 3 "$(log_count '\] prepared transaction committed')"
assert_eq "a: no prepared transaction left" 0 "$(prepared_in $db)"
assert_eq "a: no decision left in Redis" "" \
	"$(redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" --raw KEYS 'ecoloweb:decision:*')"
for d in "${DEPS[@]}"; do
	[ "$(conventions_of $db "$d")" -gt 0 ] || fail "a: no convention of $d committed"
done
printf 'ok: a: every département committed\n'

# --- b. the postmaster frozen, a worker killed --------------------------------------
db=nb_b
load_apilos_schema $db
block_key29 $db
start_import $db "$logdir/b.log" --departement "${DEPS[@]}" --no-progress
held $db
p29=$(worker_pid 29)
[ -n "$p29" ] || fail "b: no pid logged for the worker of 29"
postmaster=$(head -n 1 "$TEST_SERVERS_DIR/pgdata/postmaster.pid")
t0=$(now)
freeze "$postmaster"
kill -KILL "$p29" || fail "b: cannot kill the worker of 29 (pid $p29)"
sleep 2
kill -TERM "$imp_pid"
wait_until "b: the SIGTERM logged at once" 2 in_log 'terminated \(SIGTERM\)'
printf 'ok: b: the SIGTERM is logged during the freeze\n'
in_log '\[29\] worker died' || fail "b: the death of the worker of 29 is not logged during the freeze"
printf 'ok: b: the death of the worker of 29 is logged during the freeze\n'
sleep $((FREEZE_S - 2))
t1=$(now)
in_log '\] prepared transaction rolled back' &&
	fail "b: a ROLLBACK PREPARED went through while the postmaster was frozen (nothing was tested)"
thaw_all
beat_kept "b" "$t0" "$t1"
wait_exit 90
unblock $db
expect_rc "b" 143
assert_eq "b: 22 and 35 rolled back" 2 "$(log_count '\[(22|35)\] prepared transaction rolled back')"
assert_eq "b: no prepared transaction left" 0 "$(prepared_in $db)"
assert_eq "b: nothing committed" 0 "$(psql_q $db "SELECT count(*) FROM conventions_convention")"
wait_until "b: the launch's sessions to end" 10 no_session_left
printf 'ok: b: no session of the launch left\n'

# --- c. Redis frozen at the COMMIT decision ------------------------------------------
db=nb_c
load_apilos_schema $db
block_key29 $db
start_import $db "$logdir/c.log" --departement "${DEPS[@]}" --no-progress
held $db
redis_pid=$(cat "$TEST_SERVERS_DIR/redis.pid")
t0=$(now)
freeze "$redis_pid"
unblock $db
wait_until "c: 29 prepared" 30 in_log '\] prepared as ecoloweb-[0-9]+-29:'
sleep 1
kill -TERM "$imp_pid"
wait_until "c: the SIGTERM logged at once" 2 in_log 'SIGTERM received while the COMMIT decision is being recorded'
printf 'ok: c: the SIGTERM is logged while the decision is being recorded\n'
wait_until "c: the launch to give up the decision" 30 in_log 'the COMMIT decision cannot be recorded: aborting'
wait_until "c: 22, 29 and 35 rolled back" 30 all_rolled_back
t1=$(now)
beat_kept "c" "$t0" "$t1"
thaw_all
wait_exit 60
expect_rc "c" 143
assert_match "c: the decision could not be recorded" "$(cat "$log")" \
	'cannot record the COMMIT decision in Redis: .*no reply within 5 s'
assert_not_contains "c: nothing said committed" "$(cat "$log")" "prepared transaction committed"
assert_eq "c: no prepared transaction left" 0 "$(prepared_in $db)"
assert_eq "c: nothing committed" 0 "$(psql_q $db "SELECT count(*) FROM conventions_convention")"
echo "t_nonblocking: all checks passed"
