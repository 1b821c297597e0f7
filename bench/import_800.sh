#!/usr/bin/env bash
#
# bench/import_800.sh
#     A benchmark, not a test: imports one generated département of about 800
#     conventions (33 by default) and prints the wall time, the peak RSS and
#     the number of queries the import sent to Ecoloweb (from
#     pg_stat_statements): that number must depend on the entity classes,
#     never on the number of rows (design.md, "streaming, never N+1").
#
#     Builds an optimised, sanitizer-free program in _build-bench/, starts
#     throwaway servers with pg_stat_statements preloaded, loads the generated
#     source and an empty APiLos, resets the statistics, then runs
#       /usr/bin/time -v import_ecoloweb_data --departement 33 --no-progress
#
#     Usage: bench/import_800.sh [IMPORT_OPTION...]   (passed to the program)
#     Environment: CONVENTIONS (800), DEPARTEMENT (33), IMPORT_BIN (a program
#     built elsewhere instead of _build-bench/), SERVERS_KEEP=1.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
conventions=${CONVENTIONS:-800}
dep=${DEPARTEMENT:-33}
builddir=$repo/_build-bench
# shellcheck source=tests/lib/bootstrap.sh
. "$repo/tests/lib/bootstrap.sh"

bootstrap_build time CFLAGS='-O2 -g'
bin=${IMPORT_BIN:-$builddir/import_ecoloweb_data}

say "Starting PostgreSQL (pg_stat_statements) and Redis"
servers_start shared_preload_libraries=pg_stat_statements pg_stat_statements.track=top \
	pg_stat_statements.max=10000
tmp=$(mktemp -d)
servers_at_exit "rm -rf '$tmp'"

say "Generating $conventions conventions for département $dep"
t0=$(date +%s)
load_generated ecoloweb --departements "$dep" --conventions "$conventions"
load_apilos_schema apilos
printf 'source rows (generated and loaded in %ss):\n' "$(($(date +%s) - t0))"
count_rows ecoloweb ecolo
psql_q ecoloweb "ANALYZE"
psql_q apilos "ANALYZE"

# The extension lives in the "postgres" database: its view shows every
# database's statements, and the bench's own queries there are filtered out
# by database. Reset after loading, so only the import's statements remain
# for ecoloweb and apilos.
psql_q postgres "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
psql_q postgres "SELECT pg_stat_statements_reset()" >/dev/null

export ECOLO_DATABASE_URL DATABASE_URL REDIS_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
REDIS_URL=$(servers_redis_url 0)

say "/usr/bin/time -v import_ecoloweb_data --departement $dep --no-progress $*"
rc=0
/usr/bin/time -v -o "$tmp/time.txt" "$bin" --departement "$dep" --no-progress "$@" \
	>"$tmp/import.log" 2>&1 || rc=$?
tail -n 25 "$tmp/import.log"

# statements PostgreSQL recorded for database DB, after the reset
stmt_sql() {
	printf "SELECT %s FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '%s'" "$2" "$1"
}
src_calls=$(psql_q postgres "$(stmt_sql ecoloweb 'coalesce(sum(calls), 0)')")
src_stmts=$(psql_q postgres "$(stmt_sql ecoloweb 'count(*)')")
# the server's own foreign-key checks (RI triggers, "SELECT ... FROM ONLY ... FOR KEY SHARE")
# show up in pg_stat_statements too: they are not round trips of the importer
dst_calls=$(psql_q postgres "$(stmt_sql apilos 'coalesce(sum(calls), 0)') AND query NOT LIKE 'SELECT \$2 FROM ONLY %'")
src_rows=$(psql_q postgres "$(stmt_sql ecoloweb 'coalesce(sum(rows), 0)')")
imported=$(psql_q apilos "SELECT count(*) FROM ecoloweb_ecoloreference")

wall=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time.txt")
rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tmp/time.txt")
secs=$(printf '%s\n' "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')

say "Result"
row() { printf '%-37s %s\n' "$1" "$2"; }
row "exit status" "$rc"
row "wall time" "$wall ($secs s)"
row "peak RSS (max of coordinator/worker)" "$rss kB"
row "rows imported (references)" "$imported$(awk -v n="$imported" -v s="$secs" \
	'BEGIN { if (s > 0) printf " (%.0f/s)", n / s }')"
row "queries sent to Ecoloweb" "$src_calls ($src_stmts distinct statements, $src_rows rows returned)"
row "statements sent to APiLos" "$dst_calls (server-side foreign-key checks excluded)"
hwm=$(grep -iE 'VmHWM|peak rss|maxrss' "$tmp/import.log" || true)
[ -z "$hwm" ] || printf 'memory as logged by the program:\n%s\n' "$hwm"

printf '\nstatements sent to Ecoloweb, by calls:\n'
psql_q postgres "$(stmt_sql ecoloweb "format('%8s %10s  %s', calls, rows,
	left(regexp_replace(query, '\s+', ' ', 'g'), 100))") ORDER BY calls DESC, query LIMIT 25"
printf "\nstatements sent to APiLos, by calls:\n"
psql_q postgres "$(stmt_sql apilos "format('%8s %10s  %s', calls, rows,
	left(regexp_replace(query, '\s+', ' ', 'g'), 100))") AND query NOT LIKE 'SELECT \$2 FROM ONLY %' ORDER BY calls DESC, query LIMIT 10"
exit "$rc"
