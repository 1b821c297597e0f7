#!/usr/bin/env bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_dashboard.sh
#     The dashboard an operator sees on a terminal (design.md, "What the
#     operator sees"): imports départements 22, 29, 35 and 56 of generated
#     data inside a tmux pane of 150x40 and captures the pane while the
#     import runs. A capture taken during the run must show the dashboard:
#     one row per département and the totals row. The program leaves curses
#     at the end and prints its summary, so the final screen must end with
#     the exit status, 0.
#
#     Skipped (77) when tmux is missing. Settings: CAPTURE_INTERVAL (seconds
#     between captures, 0.2), IMPORT_TIMEOUT (seconds, 300). The captures
#     are printed when an assertion fails.
#
#     make check runs it; by hand: tests/t_dashboard.sh (after ./run-tests.sh
#     or a build in the source tree or in _build/).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

command -v tmux >/dev/null 2>&1 || skip "tmux is not installed"
prog=$top_builddir/import_ecoloweb_data
[ -x "$prog" ] || fail "program not built: $prog"

DEPS=(22 29 35 56)
interval=${CAPTURE_INTERVAL:-0.2}
timeout_s=${IMPORT_TIMEOUT:-300}

# A tmux server of our own (its own socket), killed at exit even on failure;
# servers_at_exit, not a trap of ours, which would replace the servers' trap.
sock=ecolotest-$$
tmp=$(mktemp -d)
sock_path=
servers_at_exit "tmux -L '$sock' kill-server >/dev/null 2>&1 || true;" \
	"[ -z \"\$sock_path\" ] || rm -f \"\$sock_path\"; rm -rf '$tmp'"

servers_start || fail "cannot start the test servers"
SRC=$(servers_url ecoloweb)
DST=$(servers_url apilos)
REDIS=$(servers_redis_url)
load_generated ecoloweb --departements "$(IFS=,; echo "${DEPS[*]}")" --conventions 30
load_apilos_schema apilos

# The command the pane runs: the import, then its status, then a pause so
# that the pane (and its last screen) stays until we have read it.
cat >"$tmp/run.sh" <<EOF
#!/usr/bin/env bash
export ECOLO_DATABASE_URL='$SRC' DATABASE_URL='$DST' REDIS_URL='$REDIS'
unset SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
export LANG=C.UTF-8
unset LC_ALL
'$prog' --departement ${DEPS[*]}; echo EXIT=\$?; sleep 30
EOF

# No user configuration; the dashboard is drawn on the main screen rather
# than the alternate one, so that its last frame stays in the pane's
# history after the program leaves curses (a fallback for a run quicker
# than one capture interval).
cat >"$tmp/tmux.conf" <<'EOF'
set-option -g history-limit 10000
set-window-option -g alternate-screen off
EOF

tmux -L "$sock" -f "$tmp/tmux.conf" new-session -d -s import -x 150 -y 40 \
	"bash '$tmp/run.sh'" || fail "tmux cannot start a session"
# tmux leaves its socket file behind when killed
# shellcheck disable=SC2034 # read by the exit hook above
sock_path=$(tmux -L "$sock" display-message -p '#{socket_path}' 2>/dev/null) || sock_path=

# is_dashboard tells whether a capture shows the dashboard: the header of
# the départements' table and a totals row.
is_dashboard() {
	grep -qE '^dep +state' <<<"$1" && grep -qE '^total ' <<<"$1"
}

# Capture every $interval seconds until the pane shows the exit status;
# keep the last capture that shows the dashboard.
dashboard=
live=1
captures=0
final=
start=$SECONDS
while :; do
	screen=$(tmux -L "$sock" capture-pane -p -t import 2>/dev/null) ||
		fail "the tmux pane is gone (the import's shell died?)"
	captures=$((captures + 1))
	if grep -q '^EXIT=' <<<"$screen"; then
		final=$screen
		break
	fi
	if is_dashboard "$screen"; then
		dashboard=$screen
	fi
	if [ $((SECONDS - start)) -ge "$timeout_s" ]; then
		printf '%s\n' "$screen" | sed 's/^/  | /' >&2
		fail "the import did not end within ${timeout_s}s"
	fi
	sleep "$interval"
done
elapsed=$((SECONDS - start))
printf 'import ended after about %ss, %s captures\n' "$elapsed" "$captures"

# quicker than a capture: the last frame is in the history, above the summary
if [ -z "$dashboard" ]; then
	history=$(tmux -L "$sock" capture-pane -p -S - -E - -t import)
	if is_dashboard "$history"; then
		printf 'no capture during the run showed the dashboard: using the pane history\n'
		dashboard=$history
		live=0
	fi
fi

printf '%s\n' "$dashboard" >"$tmp/dashboard.txt"
printf '%s\n' "$final" >"$tmp/final.txt"
if [ -z "$dashboard" ]; then
	printf '%s\n' "$final" | sed 's/^/  | /' >&2
	fail "no capture showed the dashboard (its table header and a totals row)"
fi
printf 'dashboard capture:\n%s\n' "$dashboard" | sed 's/^/  | /'

states='pending|running|ready|committed|checked|rolled back|failed'
for dep in "${DEPS[@]}"; do
	assert_match "dashboard: a row for département $dep" "$dashboard" "^$dep +($states)( |\$)"
done
assert_match "dashboard: a totals row" "$dashboard" '^total '
# the help line is the bottom line: in the history the summary overwrote it
if [ "$live" = 1 ]; then
	assert_contains "dashboard: the help line" "$dashboard" "q: abort"
fi
assert_contains "final screen: exit status 0" "$final" "EXIT=0"

# --- 'q' on the dashboard aborts: exit 130, nothing committed -------------
# A session holding conventions_avenanttype keeps every worker at its start,
# so the launch is surely running when the keys are typed.
createdb apilos_q && load_apilos_schema apilos_q
PGAPPNAME=t_dashboard_blocker psql -X -q -d apilos_q -c "BEGIN;
	LOCK TABLE conventions_avenanttype IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)" \
	>/dev/null 2>&1 &
blocker=$!
servers_at_exit "kill $blocker 2>/dev/null || true"
blocker_holds() {
	[ "$(psql_q apilos_q "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 't_dashboard_blocker' AND wait_event = 'PgSleep'")" = 1 ]
}
deadline=$((SECONDS + 30))
until blocker_holds; do
	[ "$SECONDS" -lt "$deadline" ] || fail "the blocking session never held its lock"
	sleep 0.1
done
sed "s|DATABASE_URL='$DST'|DATABASE_URL='$(servers_url apilos_q)'|" "$tmp/run.sh" >"$tmp/run_q.sh"
tmux -L "$sock" -f "$tmp/tmux.conf" new-session -d -s abort -x 150 -y 40 \
	"bash '$tmp/run_q.sh'" || fail "tmux cannot start a second session"
waiting() {
	[ "$(psql_q apilos_q "SELECT count(*) FROM pg_stat_activity
		WHERE application_name ~ '^import_ecoloweb_data/[0-9]+$' AND wait_event_type = 'Lock'")" \
		-gt 0 ]
}
deadline=$((SECONDS + 60))
until waiting; do
	[ "$SECONDS" -lt "$deadline" ] || {
		tmux -L "$sock" capture-pane -p -t abort | sed 's/^/  | /' >&2
		fail "no worker ever waited on the blocking session"
	}
	sleep 0.2
done
tmux -L "$sock" send-keys -t abort q
sleep 0.5
assert_contains "'q' asks before aborting" "$(tmux -L "$sock" capture-pane -p -t abort)" \
	"Abort the import? (y/n)"
tmux -L "$sock" send-keys -t abort y
start=$SECONDS
until grep -q '^EXIT=' <<<"$(tmux -L "$sock" capture-pane -p -t abort)"; do
	[ $((SECONDS - start)) -lt 10 ] || fail "the launch did not end within 10 s of the abort"
	sleep 0.2
done
assert_contains "abort from the dashboard: exit status 130" \
	"$(tmux -L "$sock" capture-pane -p -t abort)" "EXIT=130"
kill "$blocker" 2>/dev/null || true
assert_eq "abort from the dashboard: nothing committed" 0 \
	"$(psql_q apilos_q "SELECT count(*) FROM conventions_convention")"
assert_eq "abort from the dashboard: no prepared transaction" 0 \
	"$(psql_q apilos_q "SELECT count(*) FROM pg_prepared_xacts")"
echo "t_dashboard: all checks passed"
