#!/usr/bin/env bash
#
# tests/t_cli.sh
#     The command line and the configuration, as an operator meets them
#     (design.md, --help): options, département codes checked before any
#     connection, environment variables, unreachable or malformed databases,
#     passwords never printed, exit statuses. Runs the real binary, against
#     closed ports first, then against throwaway servers.
#
#     make check runs it; by hand: tests/t_cli.sh (after ./run-tests.sh or a
#     build in the source tree or in _build/).
set -eu -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

BIN=$top_builddir/import_ecoloweb_data
[ -x "$BIN" ] || fail "program not built: $BIN"

tmp=$(mktemp -d)
servers_at_exit "rm -rf '$tmp'"

# Nothing from the caller's environment may leak into a case.
unset ECOLO_DATABASE_URL DATABASE_URL SCALINGO_POSTGRESQL_URL REDIS_URL SCALINGO_REDIS_URL
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE

# Nothing listens on port 1: a connection is refused at once.
SRC_SECRET=s3cretpw
DST_SECRET=t4rgetpw
REDIS_SECRET=r3dispw
CLOSED_SRC="postgresql://u:$SRC_SECRET@127.0.0.1:1/x"
CLOSED_DST="postgresql://u:$DST_SECRET@127.0.0.1:1/y"

# run_cli runs the program with ARGS, standard input from /dev/null (no
# terminal) and a time limit; sets rc, out (stdout), err (stderr) and all
# (both). Environment: as exported by the caller, or VAR=value run_cli ...
run_cli() {
	rc=0
	timeout -k 10 "${CLI_TIMEOUT:-60}" "$BIN" "$@" </dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
	all="$out
$err"
	printf -- '--- %s (exit %s)\n%s\n' "$*" "$rc" "$all" >>"$tmp/transcript"
}

# no_secret fails if any of the test passwords appears in the last output.
no_secret() {
	local s
	for s in "$SRC_SECRET" "$DST_SECRET" "$REDIS_SECRET"; do
		assert_not_contains "$1: password $s not printed" "$all" "$s"
	done
}

# nonblank_lines prints the number of non-blank lines of the last output.
nonblank_lines() {
	printf '%s\n' "$all" | grep -c '[^[:space:]]' || true
}

OPTIONS=(--departement --dry_run --dry-run --no-progress --debug --update --yes
	--jobs --commit-per-departement --summary-json --max-connections --verify --max-differences
	--log-format --help --version)

# --- --help, --version, the man page --------------------------------------
run_cli --help
assert_eq "--help exit status" 0 "$rc"
for o in "${OPTIONS[@]}"; do
	assert_contains "--help mentions $o" "$out" "$o"
done
for v in ECOLO_DATABASE_URL DATABASE_URL SCALINGO_POSTGRESQL_URL REDIS_URL SCALINGO_REDIS_URL; do
	assert_contains "--help mentions $v" "$out" "$v"
done

run_cli -h
assert_eq "-h exit status" 0 "$rc"

run_cli --version
assert_eq "--version exit status" 0 "$rc"
version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
assert_contains "--version prints the version" "$out" "$version"

man=$top_srcdir/doc/import_ecoloweb_data.1
if [ -f "$man" ]; then
	mantext=$(sed 's/\\//g' "$man")
	for o in "${OPTIONS[@]}"; do
		assert_contains "man page documents $o" "$mantext" "$o"
	done
fi

# --- département codes: rejected before any connection -------------------
export ECOLO_DATABASE_URL=$CLOSED_SRC DATABASE_URL=$CLOSED_DST
for code in 1 99 2C "'; drop" 20 96 977 00 2a; do
	run_cli --departement "$code" --no-progress --yes
	assert_eq "code [$code] refused: exit status" 2 "$rc"
	assert_contains "code [$code] named in the message" "$err" "$code"
	assert_not_contains "code [$code] refused before connecting" "$all" "127.0.0.1"
	if printf '%s\n' "$all" | grep -iE 'connect|refused' >/dev/null; then
		fail "code [$code]: the message is about the database, not the code: $all"
	fi
	no_secret "code [$code]"
done

run_cli --departement 22 29 99 --no-progress --yes
assert_eq "bad code after good ones: exit status" 2 "$rc"
assert_contains "bad code after good ones named" "$err" "99"

# valid codes pass parsing: the failure is then about the (closed) database
run_cli --departement 2A 971 --no-progress --yes
assert_eq "2A 971 with a closed database: exit status" 2 "$rc"
if printf '%s\n' "$all" | grep -iE "(invalid|unknown|bad).*(2A|971)" >/dev/null; then
	fail "2A and 971 are valid codes: $all"
fi
assert_match "2A 971: the message is about the database" "$all" \
	'ECOLO_DATABASE_URL|ecoloweb|connect|127\.0\.0\.1'
no_secret "2A 971 closed"

# --- bad usage --------------------------------------------------------------
run_cli --bogus
assert_eq "unknown option: exit status" 2 "$rc"
assert_contains "unknown option named" "$err" "--bogus"

run_cli --departement
assert_eq "--departement without a code: exit status" 2 "$rc"

run_cli --departement --dry_run
assert_eq "--departement followed by an option: exit status" 2 "$rc"

run_cli --jobs abc --departement 22
assert_eq "--jobs abc: exit status" 2 "$rc"
assert_contains "--jobs abc named" "$err" "abc"

run_cli --max-connections -1 --departement 22
assert_eq "--max-connections -1: exit status" 2 "$rc"

run_cli 22
assert_eq "stray argument: exit status" 2 "$rc"

# --- configuration ----------------------------------------------------------
unset ECOLO_DATABASE_URL
run_cli --departement 22 --no-progress
assert_eq "ECOLO_DATABASE_URL unset: exit status" 2 "$rc"
assert_contains "ECOLO_DATABASE_URL named" "$err" "ECOLO_DATABASE_URL"
no_secret "ECOLO_DATABASE_URL unset"

ECOLO_DATABASE_URL='' run_cli --departement 22 --no-progress
assert_eq "ECOLO_DATABASE_URL empty: exit status" 2 "$rc"
assert_contains "empty ECOLO_DATABASE_URL named" "$err" "ECOLO_DATABASE_URL"

export ECOLO_DATABASE_URL=$CLOSED_SRC
unset DATABASE_URL
run_cli --departement 22 --no-progress
assert_eq "DATABASE_URL unset: exit status" 2 "$rc"
assert_contains "DATABASE_URL named" "$err" "DATABASE_URL"
export DATABASE_URL=$CLOSED_DST

for url in "postgresql://u:$SRC_SECRET@[::1/x" "mysql://u:$SRC_SECRET@127.0.0.1/x" \
	"nonsense" "host=127.0.0.1 port=1 password=$SRC_SECRET bogus"; do
	ECOLO_DATABASE_URL=$url run_cli --departement 22 --no-progress
	assert_eq "invalid ECOLO_DATABASE_URL [$url]: exit status" 2 "$rc"
	assert_contains "invalid ECOLO_DATABASE_URL [$url] named" "$err" "ECOLO_DATABASE_URL"
	no_secret "invalid ECOLO_DATABASE_URL [$url]"
done

for url in "http://127.0.0.1:6379" "redis://:$REDIS_SECRET@127.0.0.1:notaport/0"; do
	REDIS_URL=$url run_cli --departement 22 --no-progress
	assert_eq "invalid REDIS_URL [$url]: exit status" 2 "$rc"
	assert_contains "invalid REDIS_URL [$url] named" "$err" "REDIS_URL"
	no_secret "invalid REDIS_URL [$url]"
done

# unreachable source: one clear line, exit 2, no password, with or without --debug
for dbg in plain --debug; do
	extra=()
	[ "$dbg" = plain ] || extra=("$dbg")
	for url in "$CLOSED_SRC" "postgresql://u@127.0.0.1:1/x?password=$SRC_SECRET" \
		"host=127.0.0.1 port=1 user=u password=$SRC_SECRET dbname=x"; do
		ECOLO_DATABASE_URL=$url run_cli --departement 22 --no-progress "${extra[@]}"
		name="unreachable ECOLO_DATABASE_URL [$url] ($dbg)"
		assert_eq "$name: exit status" 2 "$rc"
		no_secret "$name"
		assert_match "$name: says which database" "$all" 'ECOLO_DATABASE_URL|ecoloweb'
		# a refused connection may pass: tried 5 times (about 13 s), one line each
		tries=$(printf '%s\n' "$all" | grep -c 'cannot connect (try [1-4] of 5).*trying again in' || true)
		assert_eq "$name: tried again 4 times" 4 "$tries"
		if [ "$dbg" = plain ]; then
			n=$(printf '%s\n' "$all" | grep -v 'trying again in' | grep -c '[^[:space:]]' || true)
			if [ "$n" -lt 1 ] || [ "$n" -gt 4 ]; then
				fail "$name: expected one clear line, got $n lines: $all"
			fi
			if printf '%s\n' "$all" | grep "$(printf '^\t')" >/dev/null; then
				fail "$name: libpq's multi-line message printed raw: $all"
			fi
		fi
	done
done

# --- against real servers ---------------------------------------------------
t0=$(date +%s)
servers_start log_connections=on || fail "cannot start the test servers"
printf 'servers started in %ss\n' "$(($(date +%s) - t0))"
load_ecoloweb_ddl ecoloweb
load_apilos_schema apilos
SRC_URL=$(servers_url ecoloweb)
DST_URL=$(servers_url apilos)
REDIS=$(servers_redis_url 0)
unset PGHOST PGPORT PGUSER
export PGHOST=127.0.0.1 PGPORT=$TEST_PG_PORT PGUSER=postgres

# no connection at all is opened for a bad code, even to a server that answers
connections() { grep -c 'connection received' "$TEST_SERVERS_DIR/postgresql.log" || true; }
before=$(connections)
ECOLO_DATABASE_URL=$SRC_URL DATABASE_URL=$DST_URL REDIS_URL=$REDIS \
	run_cli --departement 22 2C --no-progress --yes
after=$(connections)
assert_eq "bad code with live servers: exit status" 2 "$rc"
assert_eq "bad code: no connection opened" "$before" "$after"

export ECOLO_DATABASE_URL=$SRC_URL DATABASE_URL=$DST_URL REDIS_URL=$REDIS

# unreachable target, reachable source
DATABASE_URL=$CLOSED_DST run_cli --departement 22 --no-progress
assert_eq "unreachable DATABASE_URL: exit status" 2 "$rc"
assert_match "unreachable DATABASE_URL: says which database" "$all" 'DATABASE_URL|apilos'
no_secret "unreachable DATABASE_URL"

# a source that is not an Ecoloweb database (no schema ecolo): a failure
# (2 when checked up front, 1 when the worker finds out), nothing written
ECOLO_DATABASE_URL=$(servers_url postgres) run_cli --departement 22 --no-progress
case "$rc" in
1 | 2) printf 'ok: source without the Ecoloweb schema refused (exit %s)\n' "$rc" ;;
*) fail "source without the Ecoloweb schema: exit status $rc, expected 1 or 2: $all" ;;
esac

# a target that is not an APiLos database: configuration error, nothing written
DATABASE_URL=$(servers_url postgres) run_cli --departement 22 --no-progress
assert_eq "target without the APiLos schema: exit status" 2 "$rc"
assert_contains "target without the APiLos schema: names a missing table" "$all" \
	"missing table bailleurs_bailleur"

# an APiLos without a table or a column the importer writes (not migrated):
# refused up front, naming each, nothing written
psql_q postgres "CREATE DATABASE apilos_partial TEMPLATE apilos" >/dev/null
psql_q apilos_partial "DROP TABLE conventions_evenement;
	ALTER TABLE programmes_lot DROP COLUMN loyer_derogatoire;
	ALTER TABLE ecoloweb_ecoloreference DROP COLUMN est_supprime" >/dev/null
DATABASE_URL=$(servers_url apilos_partial) run_cli --departement 22 --no-progress
assert_eq "APiLos without a table and columns: exit status" 2 "$rc"
assert_match "APiLos without a table and columns: names them all" "$all" \
	"missing table conventions_evenement; column ecoloweb_ecoloreference.est_supprime; column programmes_lot.loyer_derogatoire"
assert_eq "APiLos without a table and columns: nothing written" 0 \
	"$(psql_q apilos_partial 'SELECT count(*) FROM bailleurs_bailleur')"

# valid codes, empty Ecoloweb: nothing to import, success
CLI_TIMEOUT=300 run_cli --departement 2A 971 --no-progress
assert_eq "2A 971 on an empty Ecoloweb: exit status" 0 "$rc"
no_secret "2A 971 live"
assert_eq "2A 971 on an empty Ecoloweb: nothing imported" 0 \
	"$(psql_q apilos 'SELECT count(*) FROM ecoloweb_ecoloreference')"

# SCALINGO_POSTGRESQL_URL and SCALINGO_REDIS_URL stand in for the usual names
unset DATABASE_URL REDIS_URL
SCALINGO_POSTGRESQL_URL=$DST_URL SCALINGO_REDIS_URL=$REDIS CLI_TIMEOUT=300 \
	run_cli --departement 2A --dry_run --no-progress
assert_eq "SCALINGO_POSTGRESQL_URL and SCALINGO_REDIS_URL: exit status" 0 "$rc"
export DATABASE_URL=$DST_URL REDIS_URL=$REDIS

# no --departement, no terminal, no --yes: every département, and says so
CLI_TIMEOUT=600 run_cli --no-progress
assert_eq "no --departement without a terminal: exit status" 0 "$rc"
assert_match "no --departement: says every département is imported" "$all" \
	'(every|all|tous|toutes).{0,12}d(e|é)partement'
assert_eq "no --departement on an empty Ecoloweb: nothing imported" 0 \
	"$(psql_q apilos 'SELECT count(*) FROM ecoloweb_ecoloreference')"

printf 'all CLI checks passed\n'
