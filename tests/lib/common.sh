# shellcheck shell=bash
#
# tests/lib/common.sh
#     Helpers sourced by the integration tests (and by demo.sh, run-tests.sh
#     and the benchmarks): assertions, psql, loading the APiLos schema and
#     Ecoloweb data, installing missing Debian packages.
#
#     Sourced (bash), never run. Sets, when unset:
#       top_srcdir    the source tree (make check sets it: AM_TESTS_ENVIRONMENT)
#       top_builddir  the build tree: top_srcdir, or top_srcdir/_build when the
#                     program was built there (./run-tests.sh does)
#       SHARED        the shared folder beside the repository: $top_srcdir/../shared
#
#     Functions:
#       fail MESSAGE                        print "FAIL: MESSAGE", exit 1
#       skip MESSAGE                        print "SKIP: MESSAGE", exit 77 (automake SKIP)
#       assert_eq NAME EXPECTED ACTUAL      fail unless ACTUAL = EXPECTED
#       assert_contains NAME TEXT NEEDLE    fail unless NEEDLE is in TEXT
#       assert_not_contains NAME TEXT NEEDLE
#       assert_match NAME TEXT ERE          fail unless a line of TEXT matches ERE (grep -iE)
#       psql_q DB SQL                       run SQL, print unaligned tuples only
#       create_db DB                        (re)create an empty database
#       load_apilos_schema DB               APiLos tables ($SHARED/apilos/schema.sql)
#       load_sample DB                      $SHARED/ecoloweb-sample (skips the test if absent)
#       load_ecoloweb_ddl DB                tests/ecoloweb_ddl.sql only (an empty Ecoloweb):
#                                           primary keys and foreign keys, no index on a
#                                           foreign-key column, as the published DDL;
#                                           ECOLO_FK_INDEXES=1 adds tests/ecoloweb_fk_indexes.sql
#       load_generated DB GEN_ARGS...       tests/ecoloweb_ddl.sql + tools/ecoloweb_gen GEN_ARGS
#       create_reader DB                    the role ecolo_reader, reading schema ecolo of DB
#                                           as on Scalingo (row-level security applies to
#                                           it), and ecolo.conflict_once() for a policy
#                                           that stages a 40001 once per session
#       build_program BUILDDIR [CONF_ARG...] build the program and the generator out of tree
#       ensure_packages PKG...              apt-get install what dpkg says is missing
#       wait_until DESC SECONDS COMMAND...  poll COMMAND until it succeeds, or fail

_common_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${top_srcdir:-}" ]; then
	top_srcdir=$(cd "$_common_here/../.." && pwd)
fi
if [ -z "${top_builddir:-}" ]; then
	if [ ! -x "$top_srcdir/import_ecoloweb_data" ] &&
		[ -x "$top_srcdir/_build/import_ecoloweb_data" ]; then
		top_builddir=$top_srcdir/_build
	else
		top_builddir=$top_srcdir
	fi
fi
: "${SHARED:=$top_srcdir/../shared}"
export top_srcdir top_builddir SHARED

# fail prints its message on stderr and ends the test as failed.
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# skip ends the test as skipped (automake: exit status 77).
skip() {
	printf 'SKIP: %s\n' "$*" >&2
	exit 77
}

# assert_eq fails unless ACTUAL equals EXPECTED.
assert_eq() {
	local name=$1 expected=$2 actual=$3
	if [ "$expected" != "$actual" ]; then
		fail "$name: expected [$expected], got [$actual]"
	fi
	printf 'ok: %s\n' "$name"
}

# assert_contains fails unless TEXT contains NEEDLE (a fixed string).
assert_contains() {
	local name=$1 text=$2 needle=$3
	case "$text" in
	*"$needle"*) printf 'ok: %s\n' "$name" ;;
	*) fail "$name: [$needle] not found in:
$text" ;;
	esac
}

# assert_not_contains fails if TEXT contains NEEDLE (a fixed string).
assert_not_contains() {
	local name=$1 text=$2 needle=$3
	case "$text" in
	*"$needle"*) fail "$name: [$needle] must not appear in:
$text" ;;
	*) printf 'ok: %s\n' "$name" ;;
	esac
}

# assert_match fails unless a line of TEXT matches the extended regular
# expression ERE, case-insensitively.
assert_match() {
	local name=$1 text=$2 ere=$3
	# grep reads everything (no -q): with pipefail, an early exit would
	# make printf die of SIGPIPE on a long text and the match look failed
	if printf '%s\n' "$text" | grep -iE -- "$ere" >/dev/null; then
		printf 'ok: %s\n' "$name"
	else
		fail "$name: nothing matches /$ere/ in:
$text"
	fi
}

# psql_q runs SQL in database DB and prints the result as unaligned tuples
# (fields separated by |), stopping at the first error.
psql_q() {
	local db=$1
	shift
	PGOPTIONS='-c client_min_messages=warning' \
		psql -X -q -A -t -P pager=off -v ON_ERROR_STOP=1 -d "$db" -c "$*"
}

# _psql_file runs one SQL file (or stdin with "-") in database DB.
_psql_file() {
	PGOPTIONS='-c client_min_messages=warning' \
		psql -X -q -P pager=off -v ON_ERROR_STOP=1 -d "$1" -f "$2" >/dev/null
}

# create_db drops database DB if it exists and creates it empty (UTF8).
create_db() {
	local db=$1
	psql_q postgres "DROP DATABASE IF EXISTS \"$db\"" &&
		psql_q postgres "CREATE DATABASE \"$db\" ENCODING 'UTF8' TEMPLATE template0"
}

# _ensure_db creates database DB when it does not exist.
_ensure_db() {
	local db=$1
	if [ "$(psql_q postgres "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
		psql_q postgres "CREATE DATABASE \"$db\" ENCODING 'UTF8' TEMPLATE template0"
	fi
}

# load_apilos_schema creates the APiLos tables in database DB (created if missing).
load_apilos_schema() {
	local db=$1 schema=$SHARED/apilos/schema.sql
	[ -f "$schema" ] || fail "APiLos schema not found: $schema (set SHARED)"
	_ensure_db "$db" || return 1
	_psql_file "$db" "$schema" || fail "loading $schema into $db failed"
}

# load_sample loads the real Ecoloweb extract of $SHARED/ecoloweb-sample into
# database DB (created if missing), in its documented order: schema ecolo,
# 01_ddl, 02_dcl, 03_post. Skips the test when the folder is absent.
load_sample() {
	local db=$1 dir=$SHARED/ecoloweb-sample f part
	[ -d "$dir" ] || skip "the Ecoloweb sample is absent ($dir)"
	_ensure_db "$db" || return 1
	psql_q "$db" "CREATE SCHEMA IF NOT EXISTS ecolo" || return 1
	for part in 01_ddl 02_dcl 03_post; do
		for f in "$dir/$part"/*.sql; do
			[ -e "$f" ] || continue
			_psql_file "$db" "$f" || fail "loading $f into $db failed"
		done
	done
}

# load_ecoloweb_ddl creates the project's Ecoloweb tables
# (tests/ecoloweb_ddl.sql), without rows, in database DB (created if missing);
# with ECOLO_FK_INDEXES=1, the indexes on foreign-key columns too.
load_ecoloweb_ddl() {
	local db=$1 ddl=$top_srcdir/tests/ecoloweb_ddl.sql
	[ -f "$ddl" ] || fail "Ecoloweb DDL not found: $ddl"
	_ensure_db "$db" || return 1
	# the DDL may or may not create the schema itself
	if ! grep -qiE '^[[:space:]]*create[[:space:]]+schema' "$ddl"; then
		psql_q "$db" "CREATE SCHEMA IF NOT EXISTS ecolo" || return 1
	fi
	_psql_file "$db" "$ddl" || fail "loading $ddl into $db failed"
	if [ "${ECOLO_FK_INDEXES:-0}" = 1 ]; then
		_psql_file "$db" "$top_srcdir/tests/ecoloweb_fk_indexes.sql" ||
			fail "loading tests/ecoloweb_fk_indexes.sql into $db failed"
	fi
}

# load_generated loads the project's Ecoloweb DDL into database DB (created
# if missing), then the rows that tools/ecoloweb_gen prints for GEN_ARGS.
load_generated() {
	local db=$1 gen=$top_builddir/tools/ecoloweb_gen
	shift
	[ -x "$gen" ] || fail "generator not built: $gen"
	load_ecoloweb_ddl "$db" || return 1
	"$gen" "$@" | _psql_file "$db" -
	local st=("${PIPESTATUS[@]}")
	[ "${st[0]}" = 0 ] || fail "ecoloweb_gen $* failed (exit ${st[0]})"
	[ "${st[1]}" = 0 ] || fail "loading the output of ecoloweb_gen $* into $db failed"
}

# create_reader DB: a plain role that reads schema ecolo of DB, and
# ecolo.conflict_once(), true but raising a recovery conflict's 40001 the
# first time a session calls it (a session-level advisory lock, which
# survives the rollback, says it was raised): a row-level security policy
# USING it stages the conflict on a plain server.
create_reader() {
	psql_q "$1" "CREATE ROLE ecolo_reader LOGIN;
		GRANT USAGE ON SCHEMA ecolo TO ecolo_reader;
		GRANT SELECT ON ALL TABLES IN SCHEMA ecolo TO ecolo_reader;
		CREATE FUNCTION ecolo.conflict_once() RETURNS boolean LANGUAGE plpgsql AS \$\$
		BEGIN
			IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
			               AND objid = 4242 AND pid = pg_backend_pid()) THEN
				PERFORM pg_advisory_lock(4242);
				RAISE EXCEPTION 'canceling statement due to conflict with recovery'
					USING ERRCODE = '40001';
			END IF;
			RETURN true;
		END \$\$" >/dev/null
}

# build_program builds import_ecoloweb_data and tools/ecoloweb_gen out of
# tree in BUILDDIR, configured with CONFIGURE_ARGS the first time, output in
# BUILDDIR/build.log (its tail is shown on failure). Runs autoreconf -fi
# when configure is missing or older than configure.ac or Makefile.am.
build_program() {
	local builddir=$1 log=$1/build.log
	shift
	mkdir -p "$builddir" && : >"$log" || return 1
	if [ ! -x "$top_srcdir/configure" ] ||
		[ "$top_srcdir/configure.ac" -nt "$top_srcdir/configure" ] ||
		[ "$top_srcdir/Makefile.am" -nt "$top_srcdir/configure" ]; then
		(cd "$top_srcdir" && autoreconf -fi) >>"$log" 2>&1 || {
			tail -n 40 "$log"
			printf 'autoreconf failed (full output: %s)\n' "$log" >&2
			return 1
		}
	fi
	if [ ! -f "$builddir/Makefile" ]; then
		(cd "$builddir" && "$top_srcdir/configure" "$@") >>"$log" 2>&1 || {
			tail -n 40 "$log"
			printf 'configure failed (full output: %s, %s/config.log)\n' "$log" "$builddir" >&2
			return 1
		}
	fi
	(cd "$builddir" && make -j2 import_ecoloweb_data tools/ecoloweb_gen) >>"$log" 2>&1 || {
		tail -n 40 "$log"
		printf 'the build failed (full output: %s)\n' "$log" >&2
		return 1
	}
}

# _pkg_installed tells whether Debian package PKG is installed.
_pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# ensure_packages installs, with apt-get, those of the Debian packages PKG...
# that dpkg says are not installed; it does nothing (no apt-get update) when
# all are. Uses sudo when not root.
ensure_packages() {
	local missing=() p sudo=()
	command -v dpkg-query >/dev/null 2>&1 || {
		printf 'not a Debian system: make sure these are installed: %s\n' "$*" >&2
		return 0
	}
	for p in "$@"; do
		_pkg_installed "$p" || missing+=("$p")
	done
	[ "${#missing[@]}" -gt 0 ] || return 0
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || {
			printf 'missing packages (run as root or install sudo): %s\n' "${missing[*]}" >&2
			return 1
		}
		sudo=(sudo)
	fi
	printf 'installing: %s\n' "${missing[*]}" >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >&2
}

# Debian packages needed to build, test and run the demo (ensure_packages);
# clang and libclang-rt-dev (libFuzzer) for make fuzz.
# shellcheck disable=SC2034 # used by the scripts that source this file
ECOLO_PACKAGES=(build-essential autoconf automake pkg-config libpq-dev libev-dev
	libhiredis-dev libncurses-dev libjansson-dev check postgresql-15 postgresql-client-15
	redis-server python3 python3-jsonschema groff-base man-db valgrind tmux clang
	libclang-rt-dev)

# wait_until DESC SECONDS COMMAND...: runs COMMAND every 50 ms until it
# succeeds; after SECONDS, shows what the test defined in wait_until_failed
# (or the file "$log" when there is none) and fails naming DESC.
wait_until() {
	local desc=$1 secs=$2 deadline
	shift 2
	deadline=$((SECONDS + secs))
	until "$@"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			if declare -F wait_until_failed >/dev/null; then
				wait_until_failed
			elif [ -n "${log:-}" ] && [ -f "$log" ]; then
				sed 's/^/  | /' "$log" >&2
			fi
			fail "waited ${secs}s for: $desc"
		fi
		sleep 0.05
	done
}

# run_import NAME EXPECTED_STATUS ARGS...: runs "$prog" ARGS (output in
# "$log"), shows its output when the status is not the expected one.
run_import() {
	local name=$1 want=$2 rc=0
	shift 2
	"$prog" "$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" != "$want" ]; then
		sed 's/^/  | /' "$log" >&2
	fi
	assert_eq "$name: exit status" "$want" "$rc"
}

# snapshot DB: row count and checksum of every table of the APiLos schema
snapshot() {
	local db=$1 t out=
	for t in $(psql_q "$db" "SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
		ORDER BY table_name COLLATE \"C\""); do
		out+="$t=$(psql_q "$db" "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text COLLATE \"C\")), '-') FROM \"$t\" t")"$'\n'
	done
	printf '%s' "$out"
}
