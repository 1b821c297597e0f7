#!/usr/bin/env bash
#
# bench/scale.sh
#     A benchmark, not a test: imports generated départements into an empty
#     APiLos and compares the import with its COPY bound, measured in the
#     same run on the same servers:
#
#       COPY bound = read every source table with COPY TO
#                  + write every row the import produced with COPY FROM
#                    (into an empty copy of the APiLos schema, one transaction)
#       ratio      = import wall time / COPY bound
#
#     The source is shaped like the published Ecoloweb DDL (primary and
#     foreign keys, no index on a foreign-key column), or has the 40 indexes
#     of tests/ecoloweb_fk_indexes.sql with FK_INDEXES=1. Prints the wall
#     time, the ratio, rows/s per entity class, the peak RSS of the
#     coordinator and of each worker, and the queries sent to Ecoloweb per
#     département (pg_stat_statements).
#
#     Usage: bench/scale.sh [IMPORT_OPTION...]   (passed to the program)
#     Environment:
#       DEPS          INSEE codes, comma-separated, or "all" (101) [33]
#       CONVENTIONS   ecolo_conventionapl per département [400]
#       LOGEMENTS     most logements of a programme (ecoloweb_gen
#                     --logements-per-programme) [100: about 50k logements
#                     for 400 conventions]
#       FK_INDEXES    0 (published shape) or 1 [0]
#       JOBS          --jobs [the program's default]
#       IMPORT_BIN    a program built elsewhere instead of _build-bench/
#       SERVERS_KEEP  1: keep the servers' folder (logs) afterwards
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
deps=${DEPS:-33}
conventions=${CONVENTIONS:-400}
logements=${LOGEMENTS:-100}
export ECOLO_FK_INDEXES=${FK_INDEXES:-0}
builddir=$repo/_build-bench
# shellcheck source=tests/lib/bootstrap.sh
. "$repo/tests/lib/bootstrap.sh"
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
row() { printf '%-44s %s\n' "$1" "$2"; }

[ "$deps" != all ] ||
	deps=$(printf '%s\n' 0{1..9} {10..19} 2A 2B {21..95} 971 972 973 974 976 | paste -sd,)
ndeps=$(printf '%s\n' "$deps" | tr ',' '\n' | wc -l)

bootstrap_build time CFLAGS='-O2 -g'
bin=${IMPORT_BIN:-$builddir/import_ecoloweb_data}

say "Starting PostgreSQL (pg_stat_statements) and Redis"
servers_start shared_preload_libraries=pg_stat_statements pg_stat_statements.track=top \
	pg_stat_statements.max=10000 max_connections=300 max_prepared_transactions=150 \
	shared_buffers=1GB work_mem=64MB maintenance_work_mem=256MB max_wal_size=4GB
tmp=$TEST_SERVERS_DIR/bench
mkdir -p "$tmp"
chmod 777 "$tmp" # the server (user postgres) writes the COPY files here

say "Generating $ndeps département(s) x $conventions conventions (programmes of 2..$logements logements), FK indexes: $ECOLO_FK_INDEXES"
t0=$(now)
load_generated ecoloweb --departements "$deps" --conventions "$conventions" \
	--logements-per-programme "$logements"
load_apilos_schema apilos
psql_q ecoloweb "VACUUM ANALYZE" >/dev/null
psql_q apilos "ANALYZE" >/dev/null
printf 'source generated and loaded in %ss: %s logements, %s programmes, %s conventionapl\n' \
	"$(elapsed "$t0" "$(now)")" \
	"$(psql_q ecoloweb 'SELECT count(*) FROM ecolo.ecolo_logement')" \
	"$(psql_q ecoloweb 'SELECT count(*) FROM ecolo.ecolo_programmelogement')" \
	"$(psql_q ecoloweb 'SELECT count(*) FROM ecolo.ecolo_conventionapl')"

psql_q postgres "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
psql_q postgres "SELECT pg_stat_statements_reset()" >/dev/null

export ECOLO_DATABASE_URL DATABASE_URL REDIS_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
REDIS_URL=$(servers_redis_url 0)
jobs=()
[ -z "${JOBS:-}" ] || jobs=(--jobs "$JOBS")

say "import_ecoloweb_data --departement ${deps//,/ } --yes --no-progress ${jobs[*]} $*"
t0=$(now)
rc=0
/usr/bin/time -v -o "$tmp/time.txt" "$bin" --departement ${deps//,/ } --yes --no-progress \
	"${jobs[@]}" --summary-json "$tmp/summary.json" "$@" >"$tmp/import.log" 2>&1 || rc=$?
import_s=$(elapsed "$t0" "$(now)")
grep -E 'connections:|verdict:|exit status' "$tmp/import.log" || true
[ "$rc" = 0 ] || {
	tail -n 30 "$tmp/import.log"
	printf 'the import failed (exit %s)\n' "$rc"
	exit "$rc"
}

# statements PostgreSQL recorded for database DB since the reset
stmt_sql() {
	printf "SELECT %s FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '%s'" "$2" "$1"
}
src_calls=$(psql_q postgres "$(stmt_sql ecoloweb 'coalesce(sum(calls), 0)')")
src_per_query=$(psql_q postgres "$(stmt_sql ecoloweb "format('%-16s %6s %10s %9s', substring(query from '^--\\s*([a-z_]+)\\.sql'), calls, rows, round((total_exec_time / 1000)::numeric, 2))") AND query ~ '^--' ORDER BY total_exec_time DESC")

say "COPY bound: reading every source table"
psql_q ecoloweb "SELECT format('COPY ecolo.%I TO STDOUT;', tablename) FROM pg_tables
	WHERE schemaname = 'ecolo' ORDER BY 1" >"$tmp/read.sql"
t0=$(now)
psql -X -q -v ON_ERROR_STOP=1 -d ecoloweb -f "$tmp/read.sql" >/dev/null
read_s=$(elapsed "$t0" "$(now)")

say "COPY bound: writing the rows the import produced"
tables=$(psql_q apilos "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
for t in $tables; do
	psql_q apilos "COPY public.\"$t\" TO '$tmp/$t.copy'"
done
create_db apilos_bound >/dev/null
load_apilos_schema apilos_bound
# the schema comes with a few seed rows (avenant types): COPY writes them too
psql_q apilos_bound "TRUNCATE $(printf '%s\n' $tables | sed 's/.*/public."&"/' | paste -sd,) CASCADE"
psql_q apilos_bound "ANALYZE" >/dev/null
t0=$(now)
{
	printf 'BEGIN;\nSET CONSTRAINTS ALL DEFERRED;\n'
	for t in $tables; do
		printf "COPY public.\"%s\" FROM '%s/%s.copy';\n" "$t" "$tmp" "$t"
	done
	printf 'COMMIT;\n'
} | psql -X -q -v ON_ERROR_STOP=1 -d apilos_bound >/dev/null
write_s=$(elapsed "$t0" "$(now)")
bound=$(awk -v a="$read_s" -v b="$write_s" 'BEGIN { printf "%.2f", a + b }')

say "Result"
rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tmp/time.txt")
row "départements x conventions (FK indexes)" "$ndeps x $conventions ($ECOLO_FK_INDEXES)"
row "rows imported (references)" "$(psql_q apilos 'SELECT count(*) FROM ecoloweb_ecoloreference')"
row "import wall time" "$import_s s"
row "COPY bound (read + write)" "$bound s ($read_s + $write_s)"
row "ratio import / COPY bound" "$(awk -v a="$import_s" -v b="$bound" 'BEGIN { printf "%.2f", a / b }')"
row "peak RSS, largest process (time -v)" "$rss kB"
row "peak RSS of the workers (min / max kB)" "$(sed -n 's/.*worker peak RSS \([0-9]*\) kB.*/\1/p' \
	"$tmp/import.log" | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { print a " / " b }')"
row "queries sent to Ecoloweb per département" "$(awk -v a="$src_calls" -v n="$ndeps" \
	'BEGIN { printf "%.1f (%d in all)", a / n, a }')"

printf '\nrows per entity class (summed over départements), rate over the import wall time:\n'
python3 - "$tmp/summary.json" "$import_s" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
wall = float(sys.argv[2])
tot = {}
for d in s["departements"]:
    for e, c in d["entities"].items():
        tot[e] = tot.get(e, 0) + c["created"] + c["matched"] + c["updated"]
for e, n in tot.items():
    print("  %-14s %10d rows %10.0f rows/s" % (e, n, n / wall if wall > 0 else 0))
EOF
printf '\nEcoloweb queries (name, calls, rows, total seconds in the server):\n%s\n' "$src_per_query"
