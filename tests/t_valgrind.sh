#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_valgrind.sh
#     A full import of generated data (logements, annexes, cadastre, pièces
#     jointes, évènements, two départements) under valgrind --leak-check=full,
#     coordinator and workers alike, then a --verify of it, then the same
#     import into another database with --log-format json and --summary-json
#     (the JSON written through jansson): no leak, no invalid access. Skipped
#     in a sanitizer build (AddressSanitizer and valgrind exclude each other;
#     there LeakSanitizer does the same check on every test).

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
command -v valgrind >/dev/null 2>&1 || skip "valgrind is not installed"
if ldd "$prog" 2>/dev/null | grep -q libasan; then
	skip "sanitizer build: LeakSanitizer checks leaks in the other tests"
fi

servers_start || fail "cannot start the test servers"
export ECOLO_DATABASE_URL DATABASE_URL REDIS_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
REDIS_URL=$(servers_redis_url) # two workers at once: the Redis locks run too
load_generated ecoloweb --departements 22,29 --conventions 20
load_apilos_schema apilos
load_apilos_schema apilos2

out=$TEST_SERVERS_DIR/valgrind.log
rc=0
valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
	--trace-children=yes --log-file="$out.%p" \
	"$prog" --departement 22 29 --no-progress >"$out" 2>&1 || rc=$?
cat "$out".* >>"$out"
[ "$rc" = 0 ] || { tail -n 40 "$out" >&2; fail "exit status under valgrind: $rc"; }
n=$(psql_q apilos "SELECT count(*) FROM programmes_logement")
[ "$n" -gt 0 ] || fail "no logement imported: the run did not exercise the logements"
errors=$(grep -h "ERROR SUMMARY" "$out".* | grep -vc " 0 errors")
assert_eq "valgrind reports with errors or leaks" 0 "$errors"
processes=$(grep -h "ERROR SUMMARY" "$out".* | wc -l)
[ "$processes" -ge 3 ] || fail "expected the coordinator and two workers under valgrind, saw $processes"

# a verify of what was imported: its workers compare instead of writing
vout=$TEST_SERVERS_DIR/valgrind-verify.log
rc=0
valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
	--trace-children=yes --log-file="$vout.%p" \
	"$prog" --verify --departement 22 29 --no-progress >"$vout" 2>&1 || rc=$?
cat "$vout".* >>"$vout"
[ "$rc" = 0 ] || { tail -n 40 "$vout" >&2; fail "exit status of --verify under valgrind: $rc"; }
errors=$(grep -h "ERROR SUMMARY" "$vout".* | grep -vc " 0 errors")
assert_eq "valgrind reports of --verify with errors or leaks" 0 "$errors"
echo "t_valgrind: $processes processes, no leak, no error ($n logements imported)"

# the JSON log lines and the summary file
json=$TEST_SERVERS_DIR/valgrind-json.log
rc=0
DATABASE_URL=$(servers_url apilos2) valgrind --leak-check=full \
	--show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
	--trace-children=yes --log-file="$json.%p" \
	"$prog" --departement 22 29 --log-format json --summary-json "$json.summary" \
	>"$json" 2>&1 || rc=$?
cat "$json".[0-9]* >>"$json"
[ "$rc" = 0 ] || { tail -n 40 "$json" >&2; fail "--log-format json: exit status under valgrind: $rc"; }
[ -s "$json.summary" ] || fail "--log-format json: no summary file written"
errors=$(grep -h "ERROR SUMMARY" "$json".[0-9]* | grep -vc " 0 errors")
assert_eq "--log-format json: valgrind reports with errors or leaks" 0 "$errors"
processes=$(grep -h "ERROR SUMMARY" "$json".[0-9]* | wc -l)
[ "$processes" -ge 3 ] || fail "--log-format json: expected 3 processes under valgrind, saw $processes"
echo "t_valgrind: --log-format json --summary-json: $processes processes, no leak, no error"
