#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_exit_status.sh
#     The exit status tells whether the data is in (issue 11):
#
#     a. SIGTERM, then SIGINT, received right after the commit decision
#        ("every département is ready: committing the launch"): the commit
#        goes on; exit 0, a log line says the signal came after the commit
#        decision and the data is committed, nothing says "rolled back",
#        and the rows are there; once with prepared transactions (the
#        coordinator commits them), once without (prepared-transaction slots
#        taken: COMMIT is sent to the workers). The moment is reached with the test-only
#        variable ECOLO_TEST_SIGNAL_AFTER_COMMIT (coordinator/run.c): the
#        coordinator sends itself that signal right after the decision.
#     b. --summary-json into a path that cannot be written, after a commit:
#        exit 0 all the same, an ERROR line says the summary is missing and
#        the data is committed.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
[ -x "$prog" ] || fail "program not built: $prog"

servers_start || fail "cannot start the test servers"
export ECOLO_DATABASE_URL DATABASE_URL REDIS_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
REDIS_URL=$(servers_redis_url)
unset SCALINGO_REDIS_URL SCALINGO_POSTGRESQL_URL
log=$TEST_SERVERS_DIR/import.log
load_generated ecoloweb --departements 22,29 --conventions 20
load_apilos_schema apilos
conventions() { psql_q apilos "SELECT count(*) FROM conventions_convention"; }

# a. a signal right after the commit decision
ECOLO_TEST_SIGNAL_AFTER_COMMIT=15 run_import "SIGTERM after the commit decision" 0 \
	--departement 22 29 --no-progress
out=$(cat "$log")
assert_contains "the decision was taken" "$out" "committing the launch"
assert_match "the signal is reported after the commit decision" "$out" \
	'WARN +\[-\] SIGTERM received after the commit decision: .*committed'
assert_match "the end says the data is in" "$out" \
	'\[-\] .*after the commit decision.*the data is in'
assert_not_contains "nothing said rolled back" "$out" "rolled back"
assert_match "22 committed (summary)" "$out" '^22 +committed '
assert_match "29 committed (summary)" "$out" '^29 +committed '
imported=$(conventions)
[ "$imported" -gt 0 ] || fail "nothing committed"

# the other verdict: the prepared-transaction slots taken (all but one), so the
# coordinator sends COMMIT to workers still in their transaction, and the signal
# is handled while they commit
slots=$(psql_q apilos "SHOW max_prepared_transactions")
[ "$slots" -ge 2 ] || fail "the test server has no prepared transactions ($slots)"
for i in $(seq 2 "$slots"); do
	psql_q apilos "BEGIN; PREPARE TRANSACTION 'test-slot-$i'" >/dev/null
done
ECOLO_TEST_SIGNAL_AFTER_COMMIT=2 run_import "SIGINT after the commit decision" 0 \
	--departement 22 29 --no-progress
for i in $(seq 2 "$slots"); do
	psql_q apilos "ROLLBACK PREPARED 'test-slot-$i'" >/dev/null
done
out=$(cat "$log")
assert_contains "COMMIT sent to the workers (no prepared transaction)" "$out" \
	"prepared transactions not used"
assert_match "22 committed by its worker" "$out" '\[22\] département committed'
assert_match "29 committed by its worker" "$out" '\[29\] département committed'
assert_match "SIGINT reported after the commit decision" "$out" \
	'WARN +\[-\] SIGINT received after the commit decision'
assert_not_contains "nothing said rolled back (SIGINT)" "$out" "rolled back"
assert_eq "the re-run changed no count" "$imported" "$(conventions)"

# b. the summary cannot be written: a path under a regular file (ENOTDIR even for root)
file=$TEST_SERVERS_DIR/not-a-folder
: >"$file"
run_import "--summary-json not writable after a commit" 0 \
	--departement 22 29 --no-progress --summary-json "$file/summary.json"
out=$(cat "$log")
assert_match "the failed write is an error" "$out" 'ERROR +\[-\] cannot write the summary to .*summary.json'
assert_match "the error says the data is in" "$out" \
	'ERROR +\[-\] .*summary.*not written.*committed.*the data is in'
assert_match "the exit status line" "$out" 'exit status 0'
echo "t_exit_status: all checks passed"
