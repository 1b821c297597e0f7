#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_linear.sh
#     The queries sent to Ecoloweb cost time linear in the size of the data,
#     on a source shaped like the published DDL (primary keys and foreign
#     keys, no index on a foreign-key column). Counts, not times: the same
#     département is imported at two sizes 4x apart, and for every query
#       - the shared buffers it touched (pg_stat_statements:
#         shared_blks_hit + shared_blks_read), and
#       - the rows that went through its plan nodes, every loop counted
#         (auto_explain, tests/query_cost.py), which also sees a nested loop
#         rescanning a materialized table
#     grow at most 5x (a join that scans per row grows 16x). The number of
#     queries sent to Ecoloweb for the département does not change.

set -u
export LC_ALL=C # sort and join agree on the order
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
[ -x "$prog" ] || fail "program not built: $prog"
SMALL=${LINEAR_SMALL:-25}
LARGE=$((SMALL * 4))
MAX_RATIO=5

servers_start shared_preload_libraries=pg_stat_statements,auto_explain \
	pg_stat_statements.track=top log_min_messages=log || fail "cannot start the test servers"
psql_q postgres "CREATE EXTENSION pg_stat_statements" >/dev/null
export ECOLO_DATABASE_URL DATABASE_URL REDIS_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
REDIS_URL=$(servers_redis_url)
pglog=$TEST_SERVERS_DIR/postgresql.log
log=$TEST_SERVERS_DIR/import.log

# measure SIZE: imports département 33 generated with SIZE conventions into an
# empty APiLos; writes $TEST_SERVERS_DIR/cost.SIZE: "query calls blocks tuples"
measure() {
	local size=$1 offset
	create_db ecoloweb >/dev/null && create_db apilos >/dev/null || fail "cannot create the databases"
	load_generated ecoloweb --departements 33 --conventions "$size"
	[ "$(psql_q ecoloweb "SELECT count(*) FROM pg_indexes WHERE schemaname = 'ecolo'
		AND indexname LIKE 'ix\\_%'")" = 0 ] || fail "the source has foreign-key indexes"
	psql_q ecoloweb "ANALYZE" >/dev/null
	psql_q postgres "ALTER DATABASE ecoloweb SET auto_explain.log_min_duration = 0;
		ALTER DATABASE ecoloweb SET auto_explain.log_analyze = on;
		ALTER DATABASE ecoloweb SET auto_explain.log_timing = off;
		ALTER DATABASE ecoloweb SET auto_explain.log_format = 'json'" >/dev/null
	load_apilos_schema apilos
	psql_q postgres "SELECT pg_stat_statements_reset()" >/dev/null
	offset=$(stat -c %s "$pglog")
	run_import "import of 33 with $size conventions" 0 --departement 33 --no-progress
	python3 "$here/query_cost.py" "$pglog" "$offset" | sort >"$TEST_SERVERS_DIR/tuples.$size"
	psql_q postgres "SELECT substring(s.query from '^--\\s*([a-z_]+)\\.sql'), s.calls,
			s.shared_blks_hit + s.shared_blks_read
		FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = 'ecoloweb' AND s.query ~ '^--\\s*[a-z_]+\\.sql'
		ORDER BY 1" | tr '|' ' ' >"$TEST_SERVERS_DIR/blocks.$size"
	psql_q postgres "SELECT sum(s.calls) FROM pg_stat_statements s
		JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'ecoloweb'" \
		>"$TEST_SERVERS_DIR/queries.$size"
	join "$TEST_SERVERS_DIR/blocks.$size" "$TEST_SERVERS_DIR/tuples.$size" \
		>"$TEST_SERVERS_DIR/cost.$size"
	[ -s "$TEST_SERVERS_DIR/cost.$size" ] || fail "no query cost recorded at size $size"
}

measure "$SMALL"
measure "$LARGE"

assert_eq "queries sent to Ecoloweb per département, at both sizes" \
	"$(cat "$TEST_SERVERS_DIR/queries.$SMALL")" "$(cat "$TEST_SERVERS_DIR/queries.$LARGE")"
assert_eq "the same queries at both sizes" \
	"$(cut -d' ' -f1,2 "$TEST_SERVERS_DIR/cost.$SMALL")" \
	"$(cut -d' ' -f1,2 "$TEST_SERVERS_DIR/cost.$LARGE")"
[ "$(wc -l <"$TEST_SERVERS_DIR/cost.$SMALL")" -ge 11 ] ||
	fail "expected the history and the 10 entity queries, got: $(cat "$TEST_SERVERS_DIR/cost.$SMALL")"

table=$(join "$TEST_SERVERS_DIR/cost.$SMALL" "$TEST_SERVERS_DIR/cost.$LARGE" |
	awk -v max="$MAX_RATIO" -v a="$SMALL" -v b="$LARGE" '
	BEGIN { printf "%-16s %11s %11s %6s %12s %12s %6s\n", "query", "blocks@" a, "blocks@" b,
		"ratio", "tuples@" a, "tuples@" b, "ratio" }
	{
		rb = ($3 > 0) ? $6 / $3 : 1
		rt = ($4 > 0) ? $7 / $4 : 1
		flag = (rb > max || rt > max) ? "  NOT LINEAR" : ""
		printf "%-16s %11d %11d %6.2f %12d %12d %6.2f%s\n", $1, $3, $6, rb, $4, $7, rt, flag
	}')
printf '%s\n' "$table"
assert_eq "queries whose cost grows more than ${MAX_RATIO}x for 4x the data" "" \
	"$(printf '%s\n' "$table" | awk '/NOT LINEAR/ { print $1 }')"
