#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_notices.sh
#     The sessions' talk with the servers (issue 11):
#
#     a. server NOTICEs (CREATE TEMP TABLE IF NOT EXISTS ... skipping, sent
#        by --update) never reach the terminal raw: no "NOTICE:" line of
#        libpq on stdout or stderr; each is one line of the log, in its
#        format, led by the département and the connection's role.
#     b. client_encoding is UTF8 on every session whatever says otherwise:
#        PGCLIENTENCODING=LATIN1 in the environment, and both databases set
#        to client_encoding LATIN1 (ALTER DATABASE ... SET); a commune name
#        in Greek and Chinese (no LATIN1 equivalent) is imported intact
#        (programme ville and nom).

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
[ -x "$prog" ] || fail "program not built: $prog"

servers_start || fail "cannot start the test servers"
export ECOLO_DATABASE_URL DATABASE_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
unset REDIS_URL SCALINGO_REDIS_URL SCALINGO_POSTGRESQL_URL
log=$TEST_SERVERS_DIR/import.log
# more than WRITER_BATCH (1000) logements: --update stages them in two batches, the
# second CREATE TEMP TABLE IF NOT EXISTS of a session draws the NOTICE
load_generated ecoloweb --departements 22 --conventions 120
load_apilos_schema apilos

# b. text that LATIN1 cannot hold (U& escapes keep this script and psql's encoding out of it)
name="U&'\0395\03BB\03BB\03B7\03BD\03B9\03BA\03AC \5317\4EAC'"
psql_q ecoloweb "UPDATE ecolo.ecolo_commune SET libelle = $name" >/dev/null
for db in ecoloweb apilos; do
	psql_q postgres "ALTER DATABASE $db SET client_encoding = 'LATIN1'" >/dev/null
done
# psql_q itself talks UTF8 from here on
export PGCLIENTENCODING=UTF8

PGCLIENTENCODING=LATIN1 run_import "import with LATIN1 asked everywhere" 0 \
	--departement 22 --no-progress
programmes=$(psql_q apilos "SELECT count(*) FROM programmes_programme")
[ "$programmes" -gt 0 ] || fail "nothing imported"
assert_eq "every programme ville is the Greek and Chinese name, intact" "$programmes" \
	"$(psql_q apilos "SELECT count(*) FROM programmes_programme WHERE ville = $name")"
[ "$(psql_q apilos "SELECT count(*) FROM programmes_programme WHERE strpos(nom, $name) = 1")" -gt 0 ] ||
	fail "no programme nom is made of the commune name"

PGCLIENTENCODING=LATIN1 run_import "--update" 0 --departement 22 --no-progress --update
out=$(cat "$log")

# a. no raw notice of libpq ("NOTICE:  relation ... already exists, skipping")
assert_not_contains "no raw NOTICE line" "$out" "NOTICE:  "
if printf '%s\n' "$out" | grep -E '^(NOTICE|WARNING|INFO):' >/dev/null; then
	fail "a raw server message reached the output: $(printf '%s\n' "$out" | grep -E '^(NOTICE|WARNING|INFO):' | head -n 3)"
fi
assert_match "the notice is a line of the log, with département and role" "$out" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z INFO +\[22\] \[TARGET(-SIDE)?\] server NOTICE: .*already exists, skipping \(SQLSTATE 42P07\)$'
# every line of the output is a log line or a line of the summary table
bad=$(printf '%s\n' "$out" | grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (DEBUG|INFO|WARN|ERROR) ' |
	grep -vE '^(Summary |dep |[0-9AB]{2,3} |-+|total|$)' || true)
assert_eq "nothing but log lines and the summary" "" "$bad"
echo "t_notices: all checks passed"
