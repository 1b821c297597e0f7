#!/usr/bin/env bash
#
# bench/import_france.sh
#     Benchmark (not a test): every département at once, as an operator's
#     "import_ecoloweb_data --yes" on all of France, on generated data
#     (CONVENTIONS per département, 100 by default), with Redis and the
#     default --jobs (8 workers). Prints the wall time, the rows imported
#     and the coordinator's verdict.
#
#     Usage: bench/import_france.sh [extra import_ecoloweb_data options]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
conventions=${CONVENTIONS:-100}
builddir=$repo/_build-bench
top_srcdir=$repo
top_builddir=$builddir
. "$repo/tests/lib/common.sh"
. "$repo/tests/lib/servers.sh"

ensure_packages "${ECOLO_PACKAGES[@]}"
build_program "$builddir" CFLAGS='-O2 -g'
servers_start max_connections=300
deps=$(printf '%s\n' 01 02 03 04 05 06 07 08 09 {10..19} 2A 2B {21..95} 971 972 973 974 976 | paste -sd,)
printf 'generating %s conventions in each of %s départements\n' "$conventions" \
	"$(printf '%s' "$deps" | tr ',' '\n' | wc -l)"
load_generated ecoloweb --departements "$deps" --conventions "$conventions"
load_apilos_schema apilos
psql_q ecoloweb "ANALYZE" >/dev/null
export ECOLO_DATABASE_URL DATABASE_URL REDIS_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
REDIS_URL=$(servers_redis_url)
log=$TEST_SERVERS_DIR/import.log
t0=$(date +%s.%N)
rc=0
"$builddir/import_ecoloweb_data" --yes --no-progress "$@" >"$log" 2>&1 </dev/null || rc=$?
t1=$(date +%s.%N)
grep -E 'connections:|verdict:|every département is ready|exit status' "$log" || true
printf '%-28s %s\n' "exit status" "$rc"
printf '%-28s %s s\n' "wall time" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
printf '%-28s %s\n' "conventions imported" "$(psql_q apilos 'SELECT count(*) FROM conventions_convention')"
printf '%-28s %s\n' "rows imported (references)" "$(psql_q apilos 'SELECT count(*) FROM ecoloweb_ecoloreference')"
exit "$rc"
