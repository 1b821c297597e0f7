#!/usr/bin/env bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_security.sh
#     Two security assertions of issue 12, against throwaway servers whose
#     roles have passwords (scram-sha-256 in pg_hba.conf for the import's
#     two PostgreSQL roles, requirepass and an ACL user on Redis):
#
#     1. The Ecoloweb session cannot write. The test-only probe of the
#        worker (worker/read_only_probe.h, ECOLO_TEST_READ_ONLY_PROBE=1)
#        tries, through the worker's own session, CREATE TABLE, INSERT,
#        UPDATE and DELETE, outside the snapshot and inside it, and inside
#        it SET TRANSACTION READ WRITE and an INSERT after SET
#        default_transaction_read_only = off; each must fail with SQLSTATE
#        25006 (read_only_sql_transaction; 25001 for SET TRANSACTION). The
#        role may write: only the session's read-only mode refuses. The
#        probe runs wherever a session is set up or a snapshot opened: a
#        plain import, a dry run, --update, a retry after a 40001 (same
#        session, new snapshot) and after the session was ended (new session).
#
#     2. No password appears in any output: stdout, stderr, the
#        --summary-json file, the dashboard (a pseudo-terminal's bytes), nor
#        in pg_stat_activity or a process's command line, neither as written
#        (URL-encoded, or quoted in a key=value string) nor decoded. Cases:
#        an import, --debug, --dry_run, --update, --help, --version, a wrong
#        password for each of the three settings, unreachable servers, a
#        database that does not exist, malformed settings (their passwords'
#        fragments too), a worker killed, a SIGTERM during the run.
#
#     make check runs it; by hand: top_builddir=BUILDDIR tests/t_security.sh
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"
# shellcheck source=tests/lib/import_checks.sh
. "$here/lib/import_checks.sh"

prog=$top_builddir/import_ecoloweb_data
[ -x "$prog" ] || fail "program not built: $prog"
command -v script >/dev/null 2>&1 || skip "script (util-linux) is needed for the dashboard"

# --- passwords: distinctive, with characters that must be encoded ----------
SRC_PW='S3cr3t-pg-@x:/src'
SRC_PW_URL='S3cr3t-pg-%40x%3A%2Fsrc'
DST_PW="D5t-p@ss w0rd'dst"
DST_PW_KV="'D5t-p@ss w0rd\\'dst'"
REDIS_PW='R3d1s-pw-#%/red'
REDIS_PW_URL='R3d1s-pw-%23%25%2Fred'
ACL_PW='Acl-R3d1s-imp0rt'
WRONG_SRC='Wr0ng-src-pw%21'
WRONG_DST='Wr0ng-dst-pw'
WRONG_REDIS='Wr0ng-r3d1s-pw'
# every form of every password, and a distinctive piece of each
SECRETS=("$SRC_PW" "$SRC_PW_URL" "S3cr3t-pg" "$DST_PW" "$DST_PW_KV" "D5t-p@ss" "w0rd'dst"
	"w0rd\\'dst" "$REDIS_PW" "$REDIS_PW_URL" "R3d1s-pw" "$ACL_PW" "$WRONG_SRC"
	"Wr0ng-src-pw!" "$WRONG_DST" "$WRONG_REDIS")

servers_start || fail "cannot start the test servers"
d=$TEST_SERVERS_DIR/security
mkdir -p "$d" || fail "mkdir $d"
load_generated ecoloweb --departements 22,29 --conventions 10
load_apilos_schema apilos
create_reader ecoloweb || fail "cannot create the reader role and ecolo.conflict_once()"

# PostgreSQL: the import's roles log in with a password only (pg_hba.conf is
# read top down: these lines come before initdb's trust lines). sec_src may
# write Ecoloweb: only the session's read-only mode may refuse the probe.
sql_lit() { printf "'%s'" "${1//\'/\'\'}"; }
psql_q postgres "CREATE ROLE sec_src LOGIN PASSWORD $(sql_lit "$SRC_PW");
	CREATE ROLE sec_dst LOGIN SUPERUSER PASSWORD $(sql_lit "$DST_PW")" >/dev/null ||
	fail "cannot create the roles"
psql_q ecoloweb "GRANT ALL ON SCHEMA ecolo, public TO sec_src;
	GRANT ALL ON ALL TABLES IN SCHEMA ecolo TO sec_src" >/dev/null || fail "GRANT"
hba=$TEST_SERVERS_DIR/pgdata/pg_hba.conf
{
	printf 'host all sec_src 127.0.0.1/32 scram-sha-256\n'
	printf 'host all sec_dst 127.0.0.1/32 scram-sha-256\n'
	cat "$hba"
} >"$d/hba" || fail "cannot write $d/hba"
cat "$d/hba" >"$hba" || fail "cannot write $hba"
psql_q postgres "SELECT pg_reload_conf()" >/dev/null || fail "pg_reload_conf"
# Redis: the default user's password, and an ACL user of its own
redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" CONFIG SET requirepass "$REDIS_PW" >/dev/null ||
	fail "CONFIG SET requirepass"
REDISCLI_AUTH=$REDIS_PW redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" \
	ACL SETUSER importer on ">$ACL_PW" '~*' '+@all' >/dev/null || fail "ACL SETUSER"

P=$TEST_PG_PORT
R=$TEST_REDIS_PORT
SRC="postgresql://sec_src:$SRC_PW_URL@127.0.0.1:$P/ecoloweb"
SRC_QUERY="postgresql://sec_src@127.0.0.1:$P/ecoloweb?password=$SRC_PW_URL&sslmode=disable"
DST="host=127.0.0.1 port=$P dbname=apilos user=sec_dst password=$DST_PW_KV"
REDIS="redis://:$REDIS_PW_URL@127.0.0.1:$R/0"
REDIS_ACL="redis://importer:$ACL_PW@127.0.0.1:$R/1"

# The passwords work, and only they: a wrong one is refused.
[ "$(PGPASSWORD=$SRC_PW psql -X -At -h 127.0.0.1 -p "$P" -U sec_src -d ecoloweb \
	-c 'SELECT 1' 2>&1)" = 1 ] || fail "sec_src cannot log in with its password"
if PGPASSWORD=nope psql -X -At -h 127.0.0.1 -p "$P" -U sec_src -d ecoloweb -c 'SELECT 1' \
	>/dev/null 2>&1; then
	fail "pg_hba.conf does not ask sec_src for its password"
fi

# No password from elsewhere: the settings alone carry them.
unset PGPASSWORD PGSERVICE SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
export PGPASSFILE=$d/no-pgpass
export ECOLO_DATABASE_URL=$SRC DATABASE_URL=$DST REDIS_URL=$REDIS

# no_password NAME FILE...: no form of any password in the files (nor
# the extra fragments of EXTRA_SECRETS); one grep for all of them
no_password() {
	local name=$1 f files=() hits
	shift
	for f in "$@"; do
		[ -e "$f" ] && files+=("$f")
	done
	printf '%s\n' "${SECRETS[@]}" "${EXTRA_SECRETS[@]}" >"$d/secrets"
	if [ "${#files[@]}" -gt 0 ] &&
		hits=$(grep -F -n -H -f "$d/secrets" -- "${files[@]}"); then
		printf '%s\n' "$hits" | head -n 5 | sed 's/^/  | /' >&2
		while IFS= read -r f; do
			grep -F -q -- "$f" "${files[@]}" && printf '  password shown: [%s]\n' "$f" >&2
		done <"$d/secrets"
		fail "$name: a password appears in the output (lines above)"
	fi
	printf 'ok: %s: no password in %s file(s)\n' "$name" "${#files[@]}"
}
EXTRA_SECRETS=()

# sec_run NAME STATUS ARGS...: runs the program (environment as exported or
# given), stdin from /dev/null, output in $d/NAME.out and NAME.err; fails
# unless it exits with STATUS, then checks that no password was printed
# (nor written to $d/NAME.json, the --summary-json file when asked).
sec_run() {
	local name=$1 want=$2 rc=0
	shift 2
	timeout -k 5 120 "$prog" "$@" </dev/null >"$d/$name.out" 2>"$d/$name.err" || rc=$?
	if [ "$rc" != "$want" ]; then
		sed 's/^/  | /' "$d/$name.out" "$d/$name.err" >&2
		fail "$name: exit status $rc, expected $want"
	fi
	printf 'ok: %s: exit status %s\n' "$name" "$rc"
	no_password "$name" "$d/$name.out" "$d/$name.err" "$d/$name.json"
}

# output_of NAME: what the run printed, both streams
output_of() { cat "$d/$1.out" "$d/$1.err"; }

# probe_lines NAME WHERE: the number of read-only probe lines (WHERE:
# session or snapshot) of a run with every write refused; fails on one
# that shows a write accepted
SESSION_REFUSED='CREATE TABLE 25006, INSERT 25006, UPDATE 25006, DELETE 25006'
SNAPSHOT_REFUSED="$SESSION_REFUSED, SET TRANSACTION READ WRITE 25001, INSERT after SET default_transaction_read_only = off 25006"
probe_lines() {
	local name=$1 where=$2 want bad
	case "$where" in
	session) want=$SESSION_REFUSED ;;
	*) want=$SNAPSHOT_REFUSED ;;
	esac
	bad=$(output_of "$name" | grep -F "read-only probe ($where)" |
		grep -v -F -- "read-only probe ($where): $want" || true)
	[ -z "$bad" ] || fail "$name: the Ecoloweb session accepted a write:
$bad"
	output_of "$name" | grep -c -F "read-only probe ($where): $want" || true
}

# expect_probes NAME SESSIONS SNAPSHOTS: the probe ran that many times, every write refused
expect_probes() {
	assert_eq "$1: session set up and refusing writes, times" "$2" "$(probe_lines "$1" session)"
	assert_eq "$1: snapshot opened and refusing writes, times" "$3" "$(probe_lines "$1" snapshot)"
}

conventions() { psql_q apilos "SELECT count(*) FROM conventions_convention"; }

# --- unreachable servers, in the background: 5 tries over about 13 s ------
# each (stdout/stderr in $d/unreach_*.{out,err}, status in .rc)
bg_run() {
	local name=$1 rc=0
	shift
	timeout -k 5 120 "$prog" "$@" </dev/null >"$d/$name.out" 2>"$d/$name.err" || rc=$?
	echo "$rc" >"$d/$name.rc"
}
ECOLO_DATABASE_URL="postgresql://sec_src:$SRC_PW_URL@127.0.0.1:1/ecoloweb" \
	bg_run unreach_src --departement 22 --no-progress --debug &
bg_pids+=($!)
DATABASE_URL="host=127.0.0.1 port=1 dbname=apilos user=sec_dst password=$DST_PW_KV" \
	bg_run unreach_dst --departement 22 --no-progress --debug &
bg_pids+=($!)
REDIS_URL="redis://:$REDIS_PW_URL@127.0.0.1:1/0" \
	bg_run unreach_redis --departement 22 --no-progress --debug &
bg_pids+=($!)
servers_at_exit kill_bg

# --- 1. the source session is read-only, in every path; no password ------
export ECOLO_TEST_READ_ONLY_PROBE=1
sec_run import 0 --departement 22 29 --jobs 2 --no-progress --summary-json "$d/import.json"
expect_probes import 2 2
assert_contains "import: the source is shown masked" "$(output_of import)" \
	"source postgresql://sec_src:****@127.0.0.1:$P/ecoloweb"
assert_contains "import: the target is shown masked" "$(output_of import)" "password='****'"
[ "$(conventions)" -gt 0 ] || fail "import: nothing imported"
[ -s "$d/import.json" ] || fail "import: no summary file"

ECOLO_DATABASE_URL=$SRC_QUERY REDIS_URL=$REDIS_ACL \
	sec_run dry_run_debug 0 --departement 22 --dry_run --debug --no-progress \
	--summary-json "$d/dry_run_debug.json"
expect_probes dry_run_debug 1 1
assert_contains "dry run: --debug shows the SQL" "$(output_of dry_run_debug)" \
	"BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
assert_contains "dry run: the query's password is masked" "$(output_of dry_run_debug)" \
	"?password=****&sslmode=disable"

REDIS_URL=$REDIS_ACL sec_run update_debug 0 --departement 22 29 --jobs 2 --update --debug \
	--no-progress --summary-json "$d/update_debug.json"
expect_probes update_debug 2 2

# a 40001 (ecolo.conflict_once, as in t_retry.sh): the same session, a new snapshot
psql_q ecoloweb "ALTER TABLE ecolo.ecolo_logement ENABLE ROW LEVEL SECURITY;
	CREATE POLICY conflict ON ecolo.ecolo_logement FOR SELECT USING (ecolo.conflict_once())" \
	>/dev/null || fail "cannot stage the 40001"
sec_run retry_40001 0 --departement 22 --update --no-progress
psql_q ecoloweb "DROP POLICY conflict ON ecolo.ecolo_logement;
	ALTER TABLE ecolo.ecolo_logement DISABLE ROW LEVEL SECURITY" >/dev/null
assert_contains "40001: the département started again" "$(output_of retry_40001)" \
	"starts again (attempt 2 of 3)"
expect_probes retry_40001 1 2

# the session ended while the worker waits on APiLos: a new session, then a
# new snapshot. Meanwhile, no password in pg_stat_activity nor in the
# processes' command lines.
run_blocker apilos "LOCK TABLE conventions_convention IN ACCESS EXCLUSIVE MODE"
"$prog" --departement 22 --update --no-progress </dev/null >"$d/reconnect.out" \
	2>"$d/reconnect.err" &
import_pid=$!
bg_pids+=("$import_pid")
wait_until "the worker waits on APiLos" 30 blocked apilos 22
psql_q postgres "SELECT a::text FROM pg_stat_activity a" >"$d/pg_stat_activity.txt" ||
	fail "cannot read pg_stat_activity"
no_password "pg_stat_activity during an import" "$d/pg_stat_activity.txt"
assert_eq "application_names of the import's sessions" \
	"import_ecoloweb_data/22 import_ecoloweb_data/22 import_ecoloweb_data/22/shared" \
	"$(psql_q postgres "SELECT string_agg(application_name, ' ' ORDER BY application_name)
		FROM pg_stat_activity WHERE application_name LIKE 'import_ecoloweb_data/22%'")"
for p in "$import_pid" $(pgrep -P "$import_pid"); do
	tr '\0' ' ' <"/proc/$p/cmdline" >"$d/cmdline.$p" 2>/dev/null || true
	no_password "command line of process $p" "$d/cmdline.$p"
done
psql_q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE application_name = 'import_ecoloweb_data/22' AND datname = 'ecoloweb'" >/dev/null
unblock apilos
rc=0
wait "$import_pid" || rc=$?
if [ "$rc" != 0 ]; then
	sed 's/^/  | /' "$d/reconnect.out" "$d/reconnect.err" >&2
	fail "reconnect: exit status $rc, expected 0"
fi
no_password reconnect "$d/reconnect.out" "$d/reconnect.err"
assert_contains "reconnect: a new session" "$(output_of reconnect)" \
	"the Ecoloweb session is gone: reconnecting"
expect_probes reconnect 2 2
unset ECOLO_TEST_READ_ONLY_PROBE

# --- 2. no password in any output -----------------------------------------
sec_run help 0 --help
sec_run version 0 --version

# the dashboard, on a pseudo-terminal: every byte drawn (the command line
# script(1) records holds no password: they are in the environment)
rc=0
TERM=xterm timeout -k 5 120 script -qec "stty rows 40 cols 150; exec '$prog' --departement 22 29 --jobs 2 --update" \
	"$d/dashboard.tty" </dev/null >"$d/dashboard.out" 2>&1 || rc=$?
assert_eq "dashboard: exit status" 0 "$rc"
assert_contains "dashboard: drawn" "$(cat "$d/dashboard.tty")" "total"
no_password dashboard "$d/dashboard.tty" "$d/dashboard.out"

# wrong passwords, with --debug: refused at once, said so, never shown
ECOLO_DATABASE_URL="postgresql://sec_src:$WRONG_SRC@127.0.0.1:$P/ecoloweb" \
	sec_run wrong_src 2 --departement 22 --no-progress --debug
assert_contains "wrong source password: said" "$(output_of wrong_src)" \
	"password authentication failed"
DATABASE_URL="host=127.0.0.1 port=$P dbname=apilos user=sec_dst password=$WRONG_DST" \
	sec_run wrong_dst 2 --departement 22 --no-progress --debug
assert_contains "wrong target password: said" "$(output_of wrong_dst)" \
	"password authentication failed"
REDIS_URL="redis://:$WRONG_REDIS@127.0.0.1:$R/0" \
	sec_run wrong_redis 2 --departement 22 --no-progress --debug
assert_contains "wrong Redis password: said" "$(output_of wrong_redis)" "WRONGPASS"
REDIS_URL="redis://importer:$WRONG_REDIS@127.0.0.1:$R/0" \
	sec_run wrong_redis_acl 2 --departement 22 --no-progress --debug
assert_contains "wrong Redis ACL password: said" "$(output_of wrong_redis_acl)" "WRONGPASS"
ECOLO_DATABASE_URL="postgresql://sec_src@127.0.0.1:$P/ecoloweb?password=$WRONG_SRC" \
	sec_run wrong_src_query 2 --departement 22 --no-progress --debug
assert_contains "wrong source password in the query: said" "$(output_of wrong_src_query)" \
	"password authentication failed"

# databases that do not exist
ECOLO_DATABASE_URL="postgresql://sec_src:$SRC_PW_URL@127.0.0.1:$P/no_such_db" \
	sec_run no_src_db 2 --departement 22 --no-progress --debug
assert_contains "no source database: said" "$(output_of no_src_db)" "does not exist"
DATABASE_URL="host=127.0.0.1 port=$P dbname=no_such_db user=sec_dst password=$DST_PW_KV" \
	sec_run no_dst_db 2 --departement 22 --no-progress --debug
assert_contains "no target database: said" "$(output_of no_dst_db)" "does not exist"

# malformed settings: refused before any connection, and no fragment of
# a password written wrongly is shown either
bad_setting() { # NAME VAR VALUE FRAGMENT...
	local name=$1 var=$2 value=$3
	shift 3
	EXTRA_SECRETS=("$@")
	local rc=0
	timeout -k 5 60 env "$var=$value" "$prog" --departement 22 --no-progress --debug \
		</dev/null >"$d/$name.out" 2>"$d/$name.err" || rc=$?
	if [ "$rc" != 2 ]; then
		sed 's/^/  | /' "$d/$name.out" "$d/$name.err" >&2
		fail "$name: exit status $rc, expected 2"
	fi
	assert_contains "$name: names the setting" "$(output_of "$name")" "$var"
	no_password "$name" "$d/$name.out" "$d/$name.err"
	EXTRA_SECRETS=()
}
bad_setting bad_url_at ECOLO_DATABASE_URL \
	"postgresql://sec_src:Frag1a@Frag1b@127.0.0.1:$P/ecoloweb" Frag1a Frag1b
bad_setting bad_url_slash ECOLO_DATABASE_URL \
	"postgresql://sec_src:Frag2a/Frag2b@127.0.0.1:$P/ecoloweb" Frag2a Frag2b
bad_setting bad_url_query_at ECOLO_DATABASE_URL \
	"postgresql://sec_src@127.0.0.1:$P/ecoloweb?password=Frag4a@Frag4b" Frag4a Frag4b
bad_setting bad_url_query_amp ECOLO_DATABASE_URL \
	"postgresql://sec_src@127.0.0.1:$P/ecoloweb?password=Frag0a&Frag0b" Frag0a Frag0b
bad_setting bad_url_percent ECOLO_DATABASE_URL \
	"postgresql://sec_src:Frag3a%zzFrag3b@127.0.0.1:$P/ecoloweb" Frag3a Frag3b
bad_setting bad_url_param ECOLO_DATABASE_URL "$SRC?bogus=1"
bad_setting bad_url_scheme ECOLO_DATABASE_URL "mysql://sec_src:$SRC_PW_URL@127.0.0.1:$P/x"
bad_setting bad_kv_space DATABASE_URL \
	"host=127.0.0.1 port=$P dbname=apilos password=Frag5a Frag5b" Frag5a Frag5b
bad_setting bad_kv_key DATABASE_URL \
	"host=127.0.0.1 port=$P dbname=apilos password=Frag6a Frag6b=x" Frag6a Frag6b
bad_setting bad_kv_quote DATABASE_URL \
	"host=127.0.0.1 port=$P dbname=apilos password='Frag7a Frag7b" Frag7a Frag7b
bad_setting bad_redis_port REDIS_URL "redis://:Frag8a@Frag8b@127.0.0.1:notaport/0" \
	Frag8a Frag8b
bad_setting bad_redis_percent REDIS_URL "redis://:Frag9a%zzFrag9b@127.0.0.1:$R/0" \
	Frag9a Frag9b

# a worker killed (test fault point), then a SIGTERM during the run
ECOLO_TEST_FAULT=read:22:1:kill sec_run worker_killed 1 --departement 22 --update \
	--no-progress --debug --summary-json "$d/worker_killed.json"
assert_contains "worker killed: the fault was hit" "$(output_of worker_killed)" \
	"test fault: read #1 in 22: kill"

run_blocker apilos "LOCK TABLE conventions_convention IN ACCESS EXCLUSIVE MODE"
"$prog" --departement 22 --update --no-progress --debug --summary-json "$d/sigterm.json" \
	</dev/null >"$d/sigterm.out" 2>"$d/sigterm.err" &
import_pid=$!
bg_pids+=("$import_pid")
wait_until "the worker waits on APiLos" 30 blocked apilos 22
kill -TERM "$import_pid"
rc=0
wait "$import_pid" || rc=$?
unblock apilos
assert_eq "SIGTERM: exit status" 143 "$rc"
no_password sigterm "$d/sigterm.out" "$d/sigterm.err" "$d/sigterm.json"

# the unreachable servers, started at the beginning
for name in unreach_src unreach_dst unreach_redis; do
	wait_until "$name to end" 60 test -s "$d/$name.rc"
	assert_eq "$name: exit status" 2 "$(cat "$d/$name.rc")"
	assert_contains "$name: tried again" "$(output_of "$name")" "cannot connect (try 1 of 5)"
	no_password "$name" "$d/$name.out" "$d/$name.err"
done

# every background process ended: none is left for kill_bg to signal at exit
wait "${bg_pids[@]}" 2>/dev/null
bg_pids=()
echo "t_security: the Ecoloweb session refuses writes; no password in any output"
