#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_purge.sh
#     --purge on generated data, against real servers:
#     1. APiLos holds bailleurs and administrations from before any import
#        (rows without references, which the import of 22 matches) and the
#        import of 29. After the import of 22, a dry-run purge of 22 prints
#        the counts per model and changes nothing; the purge leaves every
#        table exactly as before the import of 22 (contents, not counts:
#        shared rows 29 uses and rows there before stay, references of 22
#        go); a second purge removes nothing; 22 imports again as the first
#        time.
#     2. A logement edited and an avenant created in APiLos after the import
#        are listed and refuse the purge (dry run too), which deletes
#        nothing; --force deletes them too, back to the state before.
#     3. A row imported for 29 that points at a row of 22 refuses the purge,
#        even with --force.
#     4. A purge refuses while an import of the département holds its lease.
#     5. SIGTERM after the deletes, before COMMIT: exit 143, nothing deleted,
#        no lease left.
#     6. A purge of 22 and 29 together names the one row changed in APiLos
#        (22 was rewritten by --update since: its rows are not taken for
#        changed); with --force it brings APiLos back to its rows from
#        before any import: the shared rows 29 created go too.
#     7. Bad usage: exit 2 with a message naming the option.

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
bg_pids=()
servers_at_exit kill_bg

servers_start || fail "cannot start the test servers"
export ECOLO_DATABASE_URL DATABASE_URL REDIS_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
REDIS_URL=$(servers_redis_url)
unset SCALINGO_REDIS_URL SCALINGO_POSTGRESQL_URL
log=$TEST_SERVERS_DIR/purge.log
load_generated ecoloweb --departements 22,29 --conventions 30
load_apilos_schema apilos
q() { psql_q apilos "$*"; }
redis() { redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" --raw "$@"; }
of22() { q "SELECT count(*) FROM ecoloweb_ecoloreference WHERE departement = '22' AND apilos_model = '$1'"; }

# --- 1. before: APiLos' own bailleurs and administrations, and 29 ----------------------
# the import of 22, stripped of everything but its bailleurs and administrations and of
# every reference: rows APiLos had before, which the next import of 22 matches
run_import "import of 22 (for the rows APiLos had before)" 0 --departement 22 --no-progress
q "TRUNCATE conventions_convention_avenant_types, conventions_evenement, conventions_piecejointe,
	programmes_repartitionsurface, programmes_typestationnement, programmes_logement,
	programmes_lot, conventions_convention_parents_2nd_vie, conventions_convention,
	programmes_referencecadastrale, programmes_programme, ecoloweb_ecoloreference" >/dev/null ||
	fail "cannot strip the import of 22"
start=$(snapshot apilos)
bailleurs_before=$(q "SELECT count(*) FROM bailleurs_bailleur")
[ "$bailleurs_before" -gt 0 ] || fail "no bailleur to start from"
run_import "import of 29" 0 --departement 29 --no-progress
before=$(snapshot apilos)

run_import "import of 22" 0 --departement 22 --no-progress
conventions=$(of22 conventions.Convention)
[ "$conventions" -gt 0 ] || fail "nothing of 22 imported"
assert_contains "the bailleurs of 22 are matched, not created" "$(cat "$log")" "matched"
imported=$(snapshot apilos)
first_import=$(q "SELECT apilos_model || '=' || count(*) FROM ecoloweb_ecoloreference
	WHERE departement = '22' GROUP BY apilos_model ORDER BY 1")

run_import "purge of 22, dry run" 0 --purge --departement 22 --dry_run --no-progress
assert_eq "a dry run changes nothing" "$imported" "$(snapshot apilos)"
assert_contains "dry run: conventions counted" "$(cat "$log")" \
	"conventions.Convention (conventions_convention): would delete $conventions row(s)"
assert_contains "dry run: references counted" "$(cat "$log")" \
	"ecoloweb_ecoloreference of conventions.Convention: would delete $conventions reference(s)"
assert_contains "dry run: says nothing was deleted" "$(cat "$log")" "everything rolled back"

run_import "purge of 22" 0 --purge --departement 22 --no-progress
assert_contains "purge: committed" "$(cat "$log")" "purge committed"
assert_eq "the purge leaves every table as before the import of 22" "$before" "$(snapshot apilos)"
assert_eq "no lease left" "0" "$(redis --scan --pattern 'ecoloweb:lease:*' | wc -l)"

run_import "second purge of 22 (JSON lines)" 0 --purge --departement 22 --log-format json
assert_contains "a second purge deletes nothing" "$(cat "$log")" "0 row(s) and 0 reference(s) deleted"
python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    o = json.loads(line)
    assert {"time", "level", "event", "message"} <= o.keys(), (n, line)
' "$log" || fail "a purge line with --log-format json is not a JSON object with time, level, event, message"
echo "ok: every line of a purge with --log-format json is a JSON object"
assert_eq "a second purge changes nothing" "$before" "$(snapshot apilos)"

run_import "import of 22 again" 0 --departement 22 --no-progress
assert_eq "22 imports again as the first time" "$first_import" \
	"$(q "SELECT apilos_model || '=' || count(*) FROM ecoloweb_ecoloreference
		WHERE departement = '22' GROUP BY apilos_model ORDER BY 1")"
imported=$(snapshot apilos)

# --- 2. rows changed or added in APiLos after the import -------------------------------
logement=$(q "SELECT min(r.apilos_id) FROM ecoloweb_ecoloreference r
	WHERE r.departement = '22' AND r.apilos_model = 'programmes.Logement'")
root=$(q "SELECT min(r.apilos_id) FROM ecoloweb_ecoloreference r JOIN conventions_convention c
	ON c.id = r.apilos_id WHERE r.departement = '22' AND r.apilos_model = 'conventions.Convention'
	AND c.parent_id IS NULL")
[ -n "$logement" ] && [ -n "$root" ] || fail "no logement or root convention of 22"
q "UPDATE programmes_logement SET designation = 'edited by hand' WHERE id = $logement" >/dev/null
cols=$(q "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
	FROM information_schema.columns WHERE table_schema = current_schema()
	AND table_name = 'conventions_convention' AND column_name NOT IN ('id', 'uuid', 'parent_id')")
avenant=$(q "INSERT INTO conventions_convention ($cols, uuid, parent_id)
	SELECT $cols, gen_random_uuid(), id FROM conventions_convention WHERE id = $root RETURNING id" | head -1)
[ -n "$avenant" ] || fail "cannot add an avenant by hand"
changed=$(snapshot apilos)

run_import "purge of 22 after changes in APiLos" 1 --purge --departement 22 --no-progress
out=$(cat "$log")
assert_contains "the edited logement is named" "$out" \
	"programmes_logement id $logement (programmes.Logement"
assert_contains "... as changed after the import" "$out" "changed in APiLos after its import"
assert_contains "the new avenant is named, with what it points at" "$out" \
	"conventions_convention id $avenant (parent_id -> conventions_convention $root): added in APiLos after the import"
assert_contains "the refusal says what to do" "$out" "give --force to delete them too"
assert_eq "a refused purge deletes nothing" "$changed" "$(snapshot apilos)"
run_import "dry run of that purge" 1 --purge --departement 22 --dry_run --no-progress
assert_eq "... nothing either" "$changed" "$(snapshot apilos)"

run_import "purge of 22 --force" 0 --purge --departement 22 --force --no-progress
assert_eq "--force deletes them too: every table as before the import of 22" "$before" "$(snapshot apilos)"
run_import "import of 22 once more" 0 --departement 22 --no-progress

# --- 3. a row imported for 29 pointing at a row of 22 ----------------------------------
logement29=$(q "SELECT min(apilos_id) FROM ecoloweb_ecoloreference WHERE departement = '29'
	AND apilos_model = 'programmes.Logement'")
lot22=$(q "SELECT min(apilos_id) FROM ecoloweb_ecoloreference WHERE departement = '22'
	AND apilos_model = 'programmes.Lot'")
was=$(q "SELECT lot_id FROM programmes_logement WHERE id = $logement29")
q "UPDATE programmes_logement SET lot_id = $lot22 WHERE id = $logement29" >/dev/null ||
	fail "cannot move a logement of 29"
crossed=$(snapshot apilos)
run_import "purge of 22 with a logement of 29 on it, --force" 1 --purge --departement 22 --force --no-progress
assert_contains "the logement of 29 is named" "$(cat "$log")" \
	"programmes_logement id $logement29 (lot_id -> programmes_lot $lot22): imported for département 29"
assert_contains "the refusal says what to do" "$(cat "$log")" "purge those départements too"
assert_eq "nothing deleted" "$crossed" "$(snapshot apilos)"
q "UPDATE programmes_logement SET lot_id = $was WHERE id = $logement29" >/dev/null

# --- 4. an import of 22 holds the lease ------------------------------------------------
imported=$(snapshot apilos)
run_blocker apilos "LOCK TABLE conventions_convention IN SHARE MODE"
"$prog" --departement 22 --update --no-progress >"$TEST_SERVERS_DIR/import.log" 2>&1 &
import_pid=$!
bg_pids+=("$import_pid")
wait_until "the import of 22 waiting for the test's lock" 60 blocked apilos 22
run_import "purge of 22 during its import" 2 --purge --departement 22 --no-progress
assert_contains "the purge names the launch importing 22" "$(cat "$log")" \
	"département 22 is already being imported by another launch"
unblock apilos
rc=0
wait "$import_pid" || rc=$?
assert_eq "the import of 22 goes on" 0 "$rc"
assert_eq "the purge refused deleted nothing" "$conventions" "$(of22 conventions.Convention)"

# --- 5. SIGTERM before COMMIT ----------------------------------------------------------
imported=$(snapshot apilos)
ECOLO_TEST_PURGE_PAUSE_SECONDS=60 "$prog" --purge --departement 22 --no-progress >"$log" 2>&1 &
purge_pid=$!
bg_pids+=("$purge_pid")
paused() { grep -q "test pause" "$log"; }
wait_until "the purge paused before COMMIT" 60 paused
kill -TERM "$purge_pid"
rc=0
wait "$purge_pid" || rc=$?
assert_eq "SIGTERM: exit status" 143 "$rc"
assert_contains "SIGTERM: the purge says it rolls back" "$(cat "$log")" "stopping the purge, which rolls back"
assert_eq "SIGTERM: nothing deleted" "$imported" "$(snapshot apilos)"
assert_eq "SIGTERM: no lease left" "0" "$(redis --scan --pattern 'ecoloweb:lease:*' | wc -l)"

# --- 6. both départements at once: the shared rows 29 created go too ------------------
run_import "purge of 22 and 29 (after an --update)" 1 --purge --departement 22 29 --no-progress
assert_contains "the logement of 29 moved and moved back in 3 is changed" "$(cat "$log")" \
	"programmes_logement id $logement29 (programmes.Logement"
assert_eq "nothing else is taken for changed (22 was rewritten by --update)" 1 \
	"$(grep -c "changed in APiLos after its import" "$log")"
run_import "purge of 22 and 29 --force" 0 --purge --departement 22 29 --force --no-progress
assert_eq "APiLos is back to its rows from before any import" "$start" "$(snapshot apilos)"
assert_eq "no reference left" 0 "$(q "SELECT count(*) FROM ecoloweb_ecoloreference")"
imported=$start

# --- 7. bad usage ----------------------------------------------------------------------
bad() {
	local name=$1 want=$2
	shift 2
	run_import "$name" 2 "$@"
	assert_contains "$name: message" "$(cat "$log")" "$want"
}
bad "--purge without --departement" "option '--purge' needs --departement" --purge
bad "--purge --update" "option '--update' does not go with --purge" --purge --update --departement 22
bad "--force alone" "option '--force' only goes with --purge" --force --departement 22
bad "--purge --jobs" "option '--jobs' does not go with --purge" --purge --jobs 2 --departement 22
assert_eq "bad usage changes nothing" "$imported" "$(snapshot apilos)"
echo "t_purge: all checks passed"
