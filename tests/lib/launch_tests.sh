# shellcheck shell=bash
#
# tests/lib/launch_tests.sh
#     What the tests of whole launches over four départements share
#     (t_faults.sh, t_leases.sh, t_parallel.sh): the program, the oracle,
#     the départements, the servers with their generated Ecoloweb database,
#     and the convention history the oracle expects. Sourced after
#     common.sh, servers.sh and import_checks.sh.
#
#     Sets: prog, oracle, DEPS (22 29 35 56), timeout_s (IMPORT_TIMEOUT, 120
#     by default). Functions:
#
#       launch_servers CONVENTIONS  start the servers, load DEPS x CONVENTIONS
#                                   generated conventions; sets SRC (the
#                                   Ecoloweb URL, exported as
#                                   ECOLO_DATABASE_URL), REDIS (the Redis URL,
#                                   not exported: REDIS_URL is unset with
#                                   DATABASE_URL and the SCALINGO_ ones),
#                                   logdir and t0
#       launch_history              the oracle's history of DEPS: history (its
#                                   rows), nconv, and per département
#                                   nconv_of[dep] and last_key[dep] (the key of
#                                   its last convention); fails when one has
#                                   no convention

prog=$top_builddir/import_ecoloweb_data
oracle=$top_srcdir/tests/oracle.py
[ -x "$prog" ] || fail "program not built: $prog"
[ -x "$top_builddir/tools/ecoloweb_gen" ] || fail "generator not built: $top_builddir/tools/ecoloweb_gen"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed by tests/oracle.py"
command -v timeout >/dev/null 2>&1 || fail "timeout (coreutils) is needed"

DEPS=(22 29 35 56)
timeout_s=${IMPORT_TIMEOUT:-120}

launch_servers() {
	servers_start || fail "cannot start the test servers"
	SRC=$(servers_url ecoloweb)
	REDIS=$(servers_redis_url)
	export ECOLO_DATABASE_URL=$SRC
	unset DATABASE_URL REDIS_URL SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
	logdir=$TEST_SERVERS_DIR
	t0=$SECONDS
	load_generated ecoloweb --departements "$(IFS=,; echo "${DEPS[*]}")" --conventions "$1"
}

launch_history() {
	local d
	history=$(python3 "$oracle" --source "$SRC" --print-history --departement "${DEPS[@]}" | tail -n +2)
	nconv=$(printf '%s\n' "$history" | wc -l)
	declare -gA nconv_of last_key
	for d in "${DEPS[@]}"; do
		nconv_of[$d]=$(printf '%s\n' "$history" | awk -F'|' -v d="$d" '$9 == d' | wc -l)
		last_key[$d]=$(printf '%s\n' "$history" | awk -F'|' -v d="$d" '$9 == d { k = $1 } END { print k }')
		[ "${nconv_of[$d]}" -gt 0 ] || fail "the generated data has no convention in $d"
	done
}
