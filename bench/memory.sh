#!/usr/bin/env bash
#
# bench/memory.sh
#     A benchmark, not a test: the memory a launch takes for each --jobs
#     value, to size a Scalingo one-off container (512 MB for an S or M
#     one-off; README, "On Scalingo"). For each JOBS value it imports the
#     same generated départements into an empty APiLos and samples, every
#     0.1 s, the coordinator and its workers together:
#       RSS  the sum of their resident sets (pages shared between the
#            coordinator and its forked workers counted in each: an upper
#            bound);
#       PSS  the sum of their proportional sets (shared pages divided
#            between the processes sharing them: what the container's
#            memory limit sees, near enough);
#     and prints the peak of each, with the largest worker's own peak RSS
#     (its "worker peak RSS" log line).
#
#     Usage: bench/memory.sh
#     Environment:
#       DEPS          INSEE codes, comma-separated [22,29,35,56,44,49,53,72]
#       CONVENTIONS   ecolo_conventionapl per département [400]
#       LOGEMENTS     most logements of a programme [100]
#       JOBS_LIST     --jobs values [1 2 4 8]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
deps=${DEPS:-22,29,35,56,44,49,53,72}
conventions=${CONVENTIONS:-400}
logements=${LOGEMENTS:-100}
jobs_list=${JOBS_LIST:-1 2 4 8}
builddir=$repo/_build-bench
# shellcheck source=tests/lib/bootstrap.sh
. "$repo/tests/lib/bootstrap.sh"

# tree_kb PID FIELD: FIELD (Rss or Pss, kB) of PID and its children, summed
tree_kb() {
	local pid=$1 field=$2 p sum=0 v
	for p in "$pid" $(pgrep -P "$pid" 2>/dev/null); do
		v=$(sed -n "s/^$field: *\([0-9]*\) kB/\1/p" "/proc/$p/smaps_rollup" 2>/dev/null) || true
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

bootstrap_build "" CFLAGS='-O2 -g'
bin=$builddir/import_ecoloweb_data

say "Starting PostgreSQL and Redis"
servers_start max_connections=100 max_prepared_transactions=20 shared_buffers=512MB
export ECOLO_DATABASE_URL DATABASE_URL REDIS_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
REDIS_URL=$(servers_redis_url)
say "Generating $deps x $conventions conventions"
load_generated ecoloweb --departements "$deps" --conventions "$conventions" \
	--logements-per-programme "$logements"
psql_q ecoloweb "VACUUM ANALYZE" >/dev/null
ndeps=$(printf '%s\n' "$deps" | tr ',' '\n' | wc -l)
logs=$(psql_q ecoloweb 'SELECT count(*) FROM ecolo.ecolo_logement')

printf '\n%s départements, %s conventionapl each, %s logements in all\n' "$ndeps" "$conventions" "$logs"
printf '%-6s %-10s %-16s %-16s %-22s\n' "--jobs" "wall (s)" "peak RSS (MB)" "peak PSS (MB)" "largest worker RSS (MB)"
for jobs in $jobs_list; do
	db=apilos_$jobs
	load_apilos_schema "$db"
	DATABASE_URL=$(servers_url "$db")
	log=$TEST_SERVERS_DIR/memory-$jobs.log
	t0=$(date +%s.%N)
	"$bin" --departement $(printf '%s' "$deps" | tr ',' ' ') --jobs "$jobs" --no-progress >"$log" 2>&1 &
	pid=$!
	peak_rss=0 peak_pss=0
	while kill -0 "$pid" 2>/dev/null; do
		r=$(tree_kb "$pid" Rss) p=$(tree_kb "$pid" Pss)
		[ "$r" -le "$peak_rss" ] || peak_rss=$r
		[ "$p" -le "$peak_pss" ] || peak_pss=$p
		sleep 0.1
	done
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || { tail -n 30 "$log"; fail "the import with --jobs $jobs failed ($rc)"; }
	wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	worker=$(sed -n 's/.*worker peak RSS \([0-9]*\) kB.*/\1/p' "$log" | sort -n | tail -1)
	printf '%-6s %-10s %-16s %-16s %-22s\n' "$jobs" "$wall" "$((peak_rss / 1024))" \
		"$((peak_pss / 1024))" "$(( ${worker:-0} / 1024))"
done
