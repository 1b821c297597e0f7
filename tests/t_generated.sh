#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_generated.sh
#     Integration test on synthetic Ecoloweb data (tests/ecoloweb_ddl.sql +
#     tools/ecoloweb_gen): imports départements 22 then 29 into an empty
#     APiLos database and requires the independent oracle (tests/oracle.py)
#     to agree with every row; a second run must create and change nothing;
#     --dry_run must leave a fresh target empty. Then, on data generated
#     --with-bad-rows, the import of a département holding an unmappable
#     value must exit 1 with an error naming the table, the Ecoloweb id, the
#     column and the value, and leave nothing of that département behind.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
gen=$top_builddir/tools/ecoloweb_gen
oracle=$top_srcdir/tests/oracle.py
[ -x "$prog" ] || fail "program not built: $prog"
[ -x "$gen" ] || fail "generator not built: $gen"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed by tests/oracle.py"

DEPS=(22 29)
GEN_DEPS=$(IFS=,; echo "${DEPS[*]}")
GEN_ARGS=(--departements "$GEN_DEPS" --conventions 40)

servers_start || fail "cannot start the test servers"
SRC=$(servers_url ecoloweb)
DST=$(servers_url apilos)
DST2=$(servers_url apilos2)
SRC_BAD=$(servers_url ecoloweb_bad)
DST_BAD=$(servers_url apilos_bad)
REDIS_URL=$(servers_redis_url)
export ECOLO_DATABASE_URL=$SRC DATABASE_URL=$DST REDIS_URL
unset SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
log=$TEST_SERVERS_DIR/import.log

load_generated ecoloweb "${GEN_ARGS[@]}"
load_apilos_schema apilos

# the source has the shape asked for: no index on a foreign-key column (the
# published DDL), or the 40 of tests/ecoloweb_fk_indexes.sql
fk_indexes=$(psql_q ecoloweb "SELECT count(*) FROM pg_indexes WHERE schemaname = 'ecolo'
	AND indexname LIKE 'ix\_%'")
if [ "${ECOLO_FK_INDEXES:-0}" = 1 ]; then
	assert_eq "source with the foreign-key indexes" 40 "$fk_indexes"
else
	assert_eq "source shaped like the published DDL: no foreign-key index" 0 "$fk_indexes"
fi



assert_snapshot_eq() {
	local name=$1 before=$2 after=$3
	if [ "$before" != "$after" ]; then
		diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed 's/^/  /' >&2
	fi
	assert_eq "$name" "$before" "$after"
}

# the generated data must give the oracle something to check
nconv=$(python3 "$oracle" --source "$SRC" --print-history --departement "${DEPS[@]}" | tail -n +2 | wc -l)
[ "$nconv" -gt 0 ] || fail "the generated data yields no convention history for ${DEPS[*]}"
printf 'history rows for %s: %s\n' "${DEPS[*]}" "$nconv"
errs=$(python3 "$oracle" --source "$SRC" --list-errors --departement "${DEPS[@]}") ||
	fail "oracle --list-errors failed"
assert_eq "generated data without --with-bad-rows: no unmappable value" "" "$errs"

date_utc=$(date -u +%F)
date_paris=$(TZ=Europe/Paris date +%F)
run_start=$(psql_q "$DST" "SELECT now()")

# --- 1. import 22 then 29, check everything with the oracle ------------------
for d in "${DEPS[@]}"; do
	run_import "import $d" 0 --departement "$d" --no-progress
done
assert_eq "conventions created" "$nconv" "$(psql_q "$DST" "SELECT count(*) FROM conventions_convention")"

oracle_out=$(python3 "$oracle" --source "$SRC" --target "$DST" --departement "${DEPS[@]}" \
	--run-date "$date_utc,$date_paris" --run-start "$run_start" --several-runs 2>&1)
orc=$?
printf '%s\n' "$oracle_out" | sed 's/^/  oracle: /'
assert_eq "oracle (${DEPS[*]})" 0 "$orc"

# --- 2. a second run creates nothing and changes nothing ---------------------
before=$(snapshot "$DST")
for d in "${DEPS[@]}"; do
	run_import "second import $d" 0 --departement "$d" --no-progress
done
after=$(snapshot "$DST")
assert_snapshot_eq "second run: every table unchanged" "$before" "$after"

# --- 3. --dry_run leaves a fresh target as it was ------------------------------
load_apilos_schema apilos2
before=$(snapshot "$DST2")
DATABASE_URL=$DST2
run_import "dry run ${DEPS[*]}" 0 --departement "${DEPS[@]}" --dry_run --no-progress
DATABASE_URL=$DST
after=$(snapshot "$DST2")
assert_snapshot_eq "dry run: every table unchanged" "$before" "$after"
assert_eq "dry run: no reference, no convention" "0|0" \
	"$(psql_q "$DST2" "SELECT (SELECT count(*) FROM ecoloweb_ecoloreference) || '|' || (SELECT count(*) FROM conventions_convention)")"

# --- 4. unmappable values (--with-bad-rows) -----------------------------------
load_generated ecoloweb_bad "${GEN_ARGS[@]}" --with-bad-rows
load_apilos_schema apilos_bad
# the bad values, computed independently from the source:
# dep|source table|id|source column|value|APiLos table|APiLos column|reason
bad=$(python3 "$oracle" --source "$SRC_BAD" --list-errors --departement "${DEPS[@]}") ||
	fail "oracle --list-errors failed"
[ -n "$bad" ] || fail "ecoloweb_gen --with-bad-rows produced no value the oracle knows to be unmappable"
printf '%s\n' "$bad" | sed 's/^/  unmappable: /'
bad_deps=$(printf '%s\n' "$bad" | cut -d'|' -f1 | sort -u)

# names_error TEXT LINE: TEXT names the table, id, column and value of LINE
# (source or APiLos names; the value as in Ecoloweb or rounded to the column)
names_error() {
	local text=$1 line=$2 table id column value ttable tcolumn reason rounded
	IFS='|' read -r _ table id column value ttable tcolumn reason <<<"$line"
	rounded=${reason%% *}
	case "$text" in *"$table"* | *"$ttable"*) ;; *) return 1 ;; esac
	case "$text" in *"$id"*) ;; *) return 1 ;; esac
	case "$text" in *"$column"* | *"$tcolumn"*) ;; *) return 1 ;; esac
	case "$text" in *"$value"* | *"$rounded"*) ;; *) return 1 ;; esac
	return 0
}

ECOLO_DATABASE_URL=$SRC_BAD
DATABASE_URL=$DST_BAD
for d in $bad_deps; do
	before=$(snapshot "$DST_BAD")
	run_import "bad rows: import $d" 1 --departement "$d" --no-progress
	out=$(cat "$log")
	named=
	while IFS= read -r line; do
		[ "${line%%|*}" = "$d" ] || continue
		if names_error "$out" "$line"; then
			named=$line
			break
		fi
	done <<<"$bad"
	if [ -z "$named" ]; then
		sed 's/^/  | /' "$log" >&2
		fail "bad rows: the error of $d names none of the unmappable values (table, id, column, value)"
	fi
	printf 'ok: bad rows: the error of %s names %s\n' "$d" "$named"
	assert_eq "bad rows: no convention, lot, programme of $d" "0|0|0" \
		"$(psql_q "$DST_BAD" "SELECT (SELECT count(*) FROM conventions_convention) || '|' || (SELECT count(*) FROM programmes_lot) || '|' || (SELECT count(*) FROM programmes_programme)")"
	# shared bailleurs/administrations may outlive a rolled-back launch
	# (design.md, "Shared entities"): every other reference must be absent
	assert_eq "bad rows: no reference of $d (but shared entities)" 0 \
		"$(psql_q "$DST_BAD" "SELECT count(*) FROM ecoloweb_ecoloreference WHERE departement = '$d'
			AND apilos_model NOT IN ('bailleurs.Bailleur', 'instructeurs.Administration')")"
	after=$(snapshot "$DST_BAD")
	assert_snapshot_eq "bad rows: $d left no row (but shared entities)" \
		"$(printf '%s\n' "$before" | grep -vE '^(bailleurs_|instructeurs_|ecoloweb_ecoloreference=)')" \
		"$(printf '%s\n' "$after" | grep -vE '^(bailleurs_|instructeurs_|ecoloweb_ecoloreference=)')"

	# a dry run goes on to the end and lists every unmappable row
	run_import "bad rows: dry run $d" 1 --departement "$d" --dry_run --no-progress
	out=$(cat "$log")
	while IFS= read -r line; do
		[ "${line%%|*}" = "$d" ] || continue
		names_error "$out" "$line" ||
			fail "bad rows: the dry run of $d does not list $line"
	done <<<"$bad"
	printf 'ok: bad rows: the dry run of %s lists every unmappable value\n' "$d"
done
# the départements without bad rows still import
for d in "${DEPS[@]}"; do
	case " $(echo "$bad_deps" | tr '\n' ' ') " in *" $d "*) continue ;; esac
	run_import "bad rows: import of the clean $d" 0 --departement "$d" --no-progress
done

echo "t_generated: all checks passed"
