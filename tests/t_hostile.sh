#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_hostile.sh
#     The bad-input corpus (issue 12): hostile values put into the Ecoloweb
#     source, and what becomes of them. Whatever the source holds, a value
#     APiLos cannot read back is reported, never written, and a département
#     with a reported row commits nothing.
#
#     1. Named cases, one launch each, each with the outcome it must have:
#        a CDG's dateresiliationprefet in year 20150 (the issue's typo) and in
#        year 0, a logement's datecreation milliseconds past year 9999, an
#        unknown typologie and financement code, a loyer
#        too large: reported, naming the APiLos column and the value; an
#        unknown nature de logement (mapping: AUTRE) and event type (B17:
#        skipped with a warning) decided by the mapping; a convention whose
#        programmes span two communes and départements (left out by the
#        mapping, 1.8): warned, not imported.
#     2. The corpus, generated: every column of every Ecoloweb table that is
#        neither a key nor a foreign key gets the hostile values of its type
#        (NULL; dates in years 20150, 0 and 44 BC, infinity; the largest and
#        negative integers; huge, NaN and infinite numbers; the longest
#        string the column holds, in two-byte characters; an unknown code;
#        ''), one case per row, at most 50 cases a round. Each round:
#        a dry run of both départements, then an import with
#        --commit-per-departement, and the checks:
#          - every failure is a reported row ("cannot map ..."), never a
#            database error (a query broken by a value);
#          - a département with a reported row commits nothing of its own;
#            one without commits;
#          - every value written in a column the rules cover keeps its rule
#            (tests/rules_check, the importer's own rules; they are tested
#            one by one in tests/check_column_rules.c).
#     Prints per type of column the cases tried, and per round the rows
#     reported and the values checked. HOSTILE_ROUNDS limits the rounds (all
#     by default).

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
rules=$top_builddir/tests/rules_check
[ -x "$prog" ] || fail "program not built: $prog"
[ -x "$rules" ] || fail "$rules is not built (make check builds it)"

DEPS=(22 29)
servers_start || fail "cannot start the test servers"
work=$TEST_SERVERS_DIR/hostile
mkdir -p "$work"
load_generated ecolo_tpl --departements 22,29 --conventions 10 --seed 7
load_apilos_schema apilos_tpl
export REDIS_URL
REDIS_URL=$(servers_redis_url)
unset SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL

# --- one launch on a modified source ------------------------------------------------

# launch NAME SQL_FILE: a copy of the source with SQL_FILE applied (each
# statement on its own: one the source refuses is counted, not fatal), a dry
# run of both départements, then an import; logs in $work/NAME.{dry,real}.log
launch() {
	local name=$1 sql=$2
	src=src_${name//-/_} dst=dst_${name//-/_}
	psql_q postgres "CREATE DATABASE $src TEMPLATE ecolo_tpl" >/dev/null || fail "create $src"
	psql_q postgres "CREATE DATABASE $dst TEMPLATE apilos_tpl" >/dev/null || fail "create $dst"
	refused=$(PGOPTIONS='-c client_min_messages=warning' psql -X -q -d "$src" -f "$sql" 2>&1 |
		grep -c '^psql.*ERROR' || true)
	dry=$work/$name.dry.log real=$work/$name.real.log
	rc_dry=0 rc_real=0
	ECOLO_DATABASE_URL=$(servers_url "$src") DATABASE_URL=$(servers_url "$dst") \
		"$prog" --departement "${DEPS[@]}" --dry_run --no-progress >"$dry" 2>&1 || rc_dry=$?
	ECOLO_DATABASE_URL=$(servers_url "$src") DATABASE_URL=$(servers_url "$dst") \
		"$prog" --departement "${DEPS[@]}" --commit-per-departement --no-progress >"$real" 2>&1 ||
		rc_real=$?
}

# drop_launch: the two databases of the last launch
drop_launch() {
	psql_q postgres "DROP DATABASE $src" >/dev/null
	psql_q postgres "DROP DATABASE $dst" >/dev/null
}

show_logs() {
	printf '  --- %s\n' "$dry" "$real" >&2
	grep -h "ERROR\|WARN" "$dry" "$real" | head -n 40 | sed 's/^/  | /' >&2
}

# reported DEP: the "cannot map" lines of DEP in the dry run
reported() { grep -E "ERROR +\[$1\] cannot map" "$dry" || true; }

# own_rows DEP: the references DEP wrote, but the shared bailleurs and
# administrations (committed on purpose in their own short transactions)
own_rows() {
	psql_q "$dst" "SELECT count(*) FROM ecoloweb_ecoloreference WHERE departement = '$1'
		AND apilos_model NOT IN ('bailleurs.Bailleur', 'instructeurs.Administration')"
}

# rules_over_target: every value of every column with a rule, through the rules
rules_over_target() {
	local out
	# one session: a COPY per column
	psql -X -q -v ON_ERROR_STOP=1 -d "$dst" -f "$work/copy_values.sql" >"$work/values.tsv" ||
		fail "reading the values of $dst"
	out=$("$rules" <"$work/values.tsv") || {
		printf '%s\n' "$out" | head -n 20 | sed 's/^/  | /' >&2
		show_logs
		fail "$1: values written that APiLos cannot read back"
	}
	checked=$(printf '%s\n' "$out" | sed -n 's/^checked \([0-9]*\) .*/\1/p')
}

# check_launch NAME: the checks every launch must pass
check_launch() {
	local name=$1 dep n want
	local db_errors
	db_errors=$(grep -h "ERROR.*SQLSTATE" "$dry" "$real" | grep -v "SQLSTATE 57014" || true)
	if [ -n "$db_errors" ]; then
		show_logs
		fail "$name: a database error instead of a reported row: $(head -n 1 <<<"$db_errors")"
	fi
	want=0
	for dep in "${DEPS[@]}"; do
		n=$(reported "$dep" | wc -l)
		if [ "$n" -gt 0 ]; then
			want=1
			[ "$(own_rows "$dep")" = 0 ] || { show_logs; fail "$name: $dep has reported rows but committed"; }
		else
			grep -qE "^$dep +committed" "$real" || { show_logs; fail "$name: $dep reported nothing but did not commit"; }
		fi
	done
	[ "$rc_dry" = "$want" ] || { show_logs; fail "$name: dry run exit status $rc_dry, expected $want"; }
	[ "$rc_real" = "$want" ] || { show_logs; fail "$name: import exit status $rc_real, expected $want"; }
	rules_over_target "$name"
}

"$rules" --list | while IFS=$'\t' read -r t c; do
	printf 'COPY (SELECT %s, %s, "%s" FROM "%s") TO STDOUT;\n' "'$t'" "'$c'" "$c" "$t"
done >"$work/copy_values.sql"

# --- 1. named cases ---------------------------------------------------------------

# named NAME SQL EXPECT: the launch after SQL; EXPECT is "report:REGEX" (a
# "cannot map" line matching REGEX), "warn:REGEX" (a WARN line, the launch
# commits) or "ok:SQL" (the launch commits and SQL on the target says t)
named() {
	local name=$1 sql=$2 expect=$3
	printf '%s\n' "$sql" >"$work/$name.sql"
	launch "$name" "$work/$name.sql"
	[ "$refused" = 0 ] || fail "$name: the source refused the case"
	check_launch "$name"
	case "$expect" in
	report:*)
		[ "$name" != year-20150 ] || [ -n "$(reported 22)" ] && [ -n "$(reported 29)" ] ||
			{ show_logs; fail "$name: the dry run did not list the rows of both départements"; }
		grep -E "cannot map .*${expect#report:}" "$dry" >/dev/null ||
			{ show_logs; fail "$name: no report matching ${expect#report:}"; }
		printf 'ok: %s: reported: %s\n' "$name" "$(grep -m1 -oE "cannot map .*" "$dry" | cut -c1-160)"
		;;
	warn:*)
		[ "$rc_real" = 0 ] || { show_logs; fail "$name: the launch did not commit"; }
		grep -E "WARN .*${expect#warn:}" "$real" >/dev/null ||
			{ show_logs; fail "$name: no warning matching ${expect#warn:}"; }
		printf 'ok: %s: decided by the mapping, warned\n' "$name"
		;;
	ok:*)
		[ "$rc_real" = 0 ] || { show_logs; fail "$name: the launch did not commit"; }
		[ "$(psql_q "$dst" "${expect#ok:}")" = t ] || fail "$name: ${expect#ok:} is not true"
		printf 'ok: %s: decided by the mapping\n' "$name"
		;;
	esac
	drop_launch
}

CDG=ecolo.ecolo_conventiondonneesgenerales
named year-20150 "UPDATE $CDG SET dateresiliationprefet = '20150-06-30'" \
	"report:date_resiliation = '20150-06-30': year 20150 is outside 1..9999"
# (that launch's dry run lists the rows of both départements: one failed
# département does not stop a dry run)
named year-0 "UPDATE $CDG SET dateresiliationprefet = '0001-06-30 BC'" \
	"report:date_resiliation = '0001-06-30 BC': year 0001 BC is outside"
named date-infinity "UPDATE $CDG SET dateresiliationprefet = 'infinity'" \
	"report:date_resiliation = 'infinity': not an ISO date"
named ms-past-9999 "UPDATE ecolo.ecolo_logement SET datecreation = 4102444800000000" \
	"report:cree_le: datecreation 4102444800000000 ms is outside years 1..9999"
named ms-negative "UPDATE ecolo.ecolo_logement SET datecreation = -9223372036854775807" \
	"report:cree_le: datecreation -9223372036854775807 ms is outside years 1..9999"
named unknown-typologie "UPDATE ecolo.ecolo_valeurparamstatic SET code = 'T9'
	WHERE id IN (SELECT typelogement_id FROM ecolo.ecolo_logement) AND code = 'T3'" \
	"report:typologie = 'T9': not one of APiLos's choices"
named unknown-financement "UPDATE ecolo.ecolo_famillefinancement SET code = 'ZZ9' WHERE code = 'PLUS'" \
	"report:financement = 'ZZ9': not one of APiLos's choices"
named huge-loyer "UPDATE ecolo.ecolo_logement SET montantloyer = 1e15" \
	"report:loyer: value 1e\+15 does not fit numeric\(12,2\)"
named unknown-nature "UPDATE ecolo.ecolo_naturelogement SET code = 'ZZ9' WHERE code = '1'" \
	"ok:SELECT bool_and(nature_logement = 'AUTRE') AND count(*) > 0 FROM programmes_programme"
named unknown-event "UPDATE ecolo.ecolo_valeurparamstatic SET code = 'Z' || id
	WHERE id IN (SELECT typeevenement_id FROM ecolo.ecolo_evenement)" \
	"warn:evenement .*type code 'Z[0-9]+' is not an APiLos type: skipped"

# a convention whose programmes of one financement span two communes, in
# two départements: mapping.md 1.8 leaves the pair out; it is said
named multi-commune "WITH two AS (
		SELECT min(id) AS a, max(id) AS b FROM ecolo.ecolo_programmelogement
		GROUP BY conventiondonneesgenerales_id HAVING count(*) = 2 ORDER BY 1 LIMIT 1)
	UPDATE ecolo.ecolo_programmelogement pl
	SET typefinancement_id = (SELECT typefinancement_id FROM ecolo.ecolo_programmelogement
			WHERE id = two.a),
		commune_id = (SELECT c.id FROM ecolo.ecolo_commune c
			JOIN ecolo.ecolo_departement d ON d.id = c.departement_id
			WHERE d.codeinsee = '29' ORDER BY c.id DESC LIMIT 1)
	FROM two WHERE pl.id = two.b" \
	"warn:convention [0-9]+ \\(CDG [0-9]+\\), financement [A-Z_]+: its programmes span 2 commune\\(s\\) and [0-9] owner bailleur\\(s\\): not imported"

# --- 2. the generated corpus --------------------------------------------------------

# the columns: neither the key nor a member of a foreign key
psql_q ecolo_tpl "SELECT c.table_name, c.column_name, c.data_type,
		coalesce(c.character_maximum_length, 0), coalesce(c.numeric_precision, 0),
		coalesce(c.numeric_scale, 0), c.is_nullable
	FROM information_schema.columns c
	WHERE c.table_schema = 'ecolo' AND c.column_name <> 'id'
	  AND NOT EXISTS (SELECT 1 FROM pg_constraint k
		JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
		WHERE k.contype = 'f' AND k.conrelid = ('ecolo.' || c.table_name)::regclass
		  AND a.attname = c.column_name)
	ORDER BY 1, 2" | tr '|' '\t' >"$work/columns.tsv"
[ -s "$work/columns.tsv" ] || fail "no Ecoloweb column found"

# values TYPE LEN PRECISION SCALE NULLABLE: the hostile SQL values of a column, one per line
values() {
	local type=$1 len=$2 prec=$3 scale=$4 nullable=$5
	[ "$nullable" = YES ] && echo NULL
	case "$type" in
	date) printf '%s\n' "'20150-06-30'" "'0001-06-30 BC'" "'0044-03-15 BC'" "'infinity'" ;;
	timestamp*) printf '%s\n' "'20150-06-30 12:00:00'" "'0001-06-30 12:00:00 BC'" "'-infinity'" ;;
	smallint) printf '%s\n' 32767 -32768 -1 ;;
	integer) printf '%s\n' 2147483647 -2147483648 -1 ;;
	bigint) printf '%s\n' 9223372036854775807 -9223372036854775807 -1 4102444800000000 ;;
	numeric)
		if [ "$prec" -gt 0 ]; then
			printf '%s\n' "(10::numeric ^ ($prec - $scale) - 10::numeric ^ (-$scale))" \
				"-(10::numeric ^ ($prec - $scale) - 10::numeric ^ (-$scale))"
		else
			printf '%s\n' 1e20 -1e20 "'NaN'" "'Infinity'"
		fi
		;;
	real) printf '%s\n' 1e38 -1e38 "'NaN'" "'Infinity'" ;;
	'double precision') printf '%s\n' 1e300 -1e300 "'NaN'" "'-Infinity'" ;;
	'character varying' | text)
		[ "$len" = 0 ] && len=70000
		printf '%s\n' "repeat('é', $len)" "''"
		[ "$len" -ge 3 ] && echo "'ZZ9'"
		;;
	character) echo "repeat('Z', $len)" ;;
	esac
}

# the cases, "table<TAB>column<TAB>value", and per type how many
: >"$work/cases.tsv"
declare -A per_type=()
while IFS=$'\t' read -r t c type len prec scale nullable; do
	while IFS= read -r v; do
		printf '%s\t%s\t%s\n' "$t" "$c" "$v" >>"$work/cases.tsv"
		per_type[$type]=$((${per_type[$type]:-0} + 1))
	done < <(values "$type" "$len" "$prec" "$scale" "$nullable")
done <"$work/columns.tsv"
ncases=$(wc -l <"$work/cases.tsv")
ncolumns=$(wc -l <"$work/columns.tsv")

# each case on its own row, at most ROUND_CASES cases a round (so that some
# rounds leave a département clean, which then commits and is checked): a
# case goes to the first round with room and a row of its table still free
ROUND_CASES=${HOSTILE_ROUND_CASES:-50}
declare -A rows_of=() used=() in_round=()
nrounds=0
while IFS=$'\t' read -r t c v; do
	if [ -z "${rows_of[$t]+x}" ]; then
		rows_of[$t]=$(psql_q ecolo_tpl "SELECT string_agg(id::text, ' ' ORDER BY id) FROM ecolo.$t")
	fi
	read -r -a ids <<<"${rows_of[$t]}"
	[ "${#ids[@]}" -gt 0 ] || continue
	for ((r = 0; ; r++)); do
		k=${used[$r,$t]:-0}
		[ "${in_round[$r]:-0}" -lt "$ROUND_CASES" ] && [ "$k" -lt "${#ids[@]}" ] && break
	done
	used[$r,$t]=$((k + 1))
	in_round[$r]=$((${in_round[$r]:-0} + 1))
	[ "$r" -ge "$nrounds" ] && nrounds=$((r + 1))
	printf 'UPDATE ecolo.%s SET "%s" = %s WHERE id = %s;\n' "$t" "$c" "$v" "${ids[k]}" \
		>>"$work/round$r.sql"
done <"$work/cases.tsv"

printf 'corpus: %s cases over %s columns of %s tables, in %s rounds; per type of column:\n' \
	"$ncases" "$ncolumns" "${#rows_of[@]}" "$nrounds"
for type in "${!per_type[@]}"; do
	printf '  %-28s %5s cases\n' "$type" "${per_type[$type]}"
done | sort

max_rounds=${HOSTILE_ROUNDS:-$nrounds}
total_reported=0 total_checked=0 total_refused=0
for ((r = 0; r < nrounds && r < max_rounds; r++)); do
	launch "round$r" "$work/round$r.sql"
	check_launch "round $r"
	n=$(grep -c "cannot map" "$dry" || true)
	printf 'ok: round %s: %s cases (%s refused by the source), %s rows reported, dry run %s, import %s, %s values written and checked\n' \
		"$r" "$(wc -l <"$work/round$r.sql")" "$refused" "$n" "$rc_dry" "$rc_real" "$checked"
	total_reported=$((total_reported + n))
	total_checked=$((total_checked + checked))
	total_refused=$((total_refused + refused))
	drop_launch
done
printf 't_hostile: %s cases in %s rounds (%s refused by the source itself), %s rows reported, %s values written and checked, 0 written that APiLos cannot read\n' \
	"$ncases" "$r" "$total_refused" "$total_reported" "$total_checked"
