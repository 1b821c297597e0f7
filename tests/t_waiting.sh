#!/usr/bin/env bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_waiting.sh
#     A long source query (issue 10): while the Ecoloweb query of an entity
#     class has not returned its first row, the operator is told that the
#     département waits on Ecoloweb, for which class and for how long,
#     rather than the class written before and an ETA that keeps growing.
#
#     The long query is staged by a session that holds an ACCESS EXCLUSIVE
#     lock on ecolo.ecolo_logement, which only the logement query reads: the
#     worker of 22 blocks there until the test ends that session, then the
#     import must end with status 0.
#
#       1. --no-progress: the 10 s heartbeat of 22 says "waiting on Ecoloweb
#          for logement since N s", N counted from the start of the wait and
#          growing from one heartbeat to the next.
#       2. The dashboard, in a tmux pane of 150x40 (left out when tmux is
#          missing): the row of 22 shows "waiting on Ecoloweb: logement Ns",
#          N growing from one redraw to the next, and no ETA ("-").
#
#     Settings: IMPORT_TIMEOUT (seconds, 120). The log or the pane is printed
#     when an assertion fails.
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
timeout_s=${IMPORT_TIMEOUT:-120}

# processes started here, killed at exit whatever happens
servers_at_exit kill_bg

servers_start || fail "cannot start the test servers"
SRC=$(servers_url ecoloweb)
load_generated ecoloweb --departements 22 --conventions 20
load_apilos_schema apilos
export ECOLO_DATABASE_URL=$SRC
unset DATABASE_URL REDIS_URL SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
log=$TEST_SERVERS_DIR/import.log
: >"$log"

# session_count SQL_CONDITION: sessions of the Ecoloweb server that match
session_count() {
	psql_q ecoloweb "SELECT count(*) FROM pg_stat_activity WHERE $1"
}

# sleeping NAME: the session NAME holds its lock (it reached its pg_sleep)
sleeping() {
	[ "$(session_count "application_name = '$1' AND wait_event = 'PgSleep'")" = 1 ]
}

# lock_logements NAME: a session named NAME holds ecolo.ecolo_logement
# until release NAME ends it.
lock_logements() {
	PGAPPNAME=$1 psql -X -q -d ecoloweb -c "BEGIN;
		LOCK TABLE ecolo.ecolo_logement IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600)" \
		>/dev/null 2>&1 &
	bg_pids+=("$!")
	wait_until "the session $1 holds its lock" 30 sleeping "$1"
}

# release NAME: ends the session NAME, and its lock with it
release() {
	psql_q ecoloweb "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = '$1'" >/dev/null
}

# blocked: the worker of 22 waits for a lock on Ecoloweb (the logement query)
blocked() {
	[ "$(session_count "application_name = 'import_ecoloweb_data/22'
		AND wait_event_type = 'Lock'")" = 1 ]
}

# --- 1. plain log: the heartbeat during the wait ------------------------------
wait_re='\[22\] running, waiting on Ecoloweb for logement since ([0-9]+) s:'

# waiting_beats N: the log holds at least N heartbeats of the wait
waiting_beats() {
	[ "$(grep -cE "$wait_re" "$log")" -ge "$1" ]
}

lock_logements t_waiting_plain
DATABASE_URL=$(servers_url apilos) "$prog" --departement 22 --no-progress >"$log" 2>&1 &
imp=$!
bg_pids+=("$imp")
wait_until "the worker of 22 blocks on ecolo.ecolo_logement" 60 blocked
wait_until "two heartbeats of the wait" 40 waiting_beats 2

beats=$(grep -E "$wait_re" "$log")
printf 'heartbeats during the wait:\n%s\n' "$beats" | sed 's/^/  | /'
n1=$(sed -nE "1s#.*$wait_re.*#\\1#p" <<<"$beats")
n2=$(sed -nE "2s#.*$wait_re.*#\\1#p" <<<"$beats")
# heartbeats come every 10 s: the first one of the wait within its first 10 s
[ "$n1" -le 10 ] || fail "the first heartbeat of the wait says ${n1} s: not timed from the wait"
printf 'ok: the wait is timed from its start (%s s at the first heartbeat)\n' "$n1"
if [ $((n2 - n1)) -lt 9 ] || [ $((n2 - n1)) -gt 11 ]; then
	fail "two heartbeats 10 s apart say ${n1} s then ${n2} s"
fi
printf 'ok: the wait grows from one heartbeat to the next (%s s, %s s)\n' "$n1" "$n2"
assert_match "the last heartbeat of 22 is the wait, not the class before" \
	"$(grep -F '[22] running, ' "$log" | tail -n 1)" "$wait_re"

# import_ended: the import of the plain part is over
import_ended() {
	! alive "$imp"
}

release t_waiting_plain
wait_until "the import ends once the lock is released" "$timeout_s" import_ended
rc=0
wait "$imp" || rc=$?
[ "$rc" = 0 ] || sed 's/^/  | /' "$log" >&2
assert_eq "plain log: exit status after the wait" 0 "$rc"
n=$(psql_q apilos "SELECT count(*) FROM programmes_logement")
[ "$n" -gt 0 ] || fail "no logement imported after the wait"
printf 'ok: %s logements imported after the wait\n' "$n"

# --- 2. the dashboard during the wait -----------------------------------------
if ! command -v tmux >/dev/null 2>&1; then
	echo "t_waiting: tmux is not installed: the dashboard part is left out"
	echo "t_waiting: all checks passed"
	exit 0
fi

load_apilos_schema apilos_dash
sock=ecolowait-$$
servers_at_exit "tmux -L '$sock' kill-server >/dev/null 2>&1 || true"
cat >"$TEST_SERVERS_DIR/run_dash.sh" <<EOF
#!/usr/bin/env bash
export ECOLO_DATABASE_URL='$SRC' DATABASE_URL='$(servers_url apilos_dash)'
unset REDIS_URL SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL LC_ALL
export LANG=C.UTF-8
'$prog' --departement 22; echo EXIT=\$?; sleep 30
EOF
printf 'set-window-option -g alternate-screen off\n' >"$TEST_SERVERS_DIR/tmux.conf"

lock_logements t_waiting_dash
tmux -L "$sock" -f "$TEST_SERVERS_DIR/tmux.conf" new-session -d -s wait -x 150 -y 40 \
	"bash '$TEST_SERVERS_DIR/run_dash.sh'" || fail "tmux cannot start a session"

pane() {
	tmux -L "$sock" capture-pane -p -t wait 2>/dev/null
}
# the row of 22 while it waits: rate, ETA "-", then the wait and its length
row_re='^22 +running .*/s +- waiting on Ecoloweb: logement ([0-9]+)s'
dash_waits() {
	pane >"$log" && grep -qE "$row_re" "$log"
}
wait_until "the dashboard shows the wait on Ecoloweb" 60 dash_waits
first=$(grep -E "$row_re" "$log")
sleep 3
wait_until "the dashboard still shows the wait" 10 dash_waits
second=$(grep -E "$row_re" "$log")
printf 'dashboard rows of 22, 3 s apart:\n%s\n%s\n' "$first" "$second" | sed 's/^/  | /'
s1=$(sed -nE "s#$row_re.*#\\1#p" <<<"$first")
s2=$(sed -nE "s#$row_re.*#\\1#p" <<<"$second")
[ $((s2 - s1)) -ge 2 ] || fail "the time waited does not grow on the dashboard: ${s1}s then ${s2}s"
printf 'ok: dashboard: the wait on logement, no ETA, %ss then %ss\n' "$s1" "$s2"

release t_waiting_dash
ended() {
	pane >"$log" && grep -q '^EXIT=' "$log"
}
wait_until "the dashboard's import ends once the lock is released" "$timeout_s" ended
assert_contains "dashboard: exit status after the wait" "$(cat "$log")" "EXIT=0"
echo "t_waiting: all checks passed"
