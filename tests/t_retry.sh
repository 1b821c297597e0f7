#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_retry.sh
#     A hot-standby replica may cancel a long read (recovery conflict,
#     SQLSTATE 40001): the département starts again from the beginning, and
#     the result is the same as without the incident. The conflict is staged
#     on a plain server: a row-level security policy on ecolo_logement raises
#     40001 the first time the importer's session reads it (the importer reads
#     as a non-superuser role, as it would on Scalingo).

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
servers_start || fail "cannot start the test servers"
load_generated ecoloweb --departements 22 --conventions 20
load_apilos_schema apilos
psql_q ecoloweb "CREATE ROLE ecolo_reader LOGIN;
	GRANT USAGE ON SCHEMA ecolo TO ecolo_reader;
	GRANT SELECT ON ALL TABLES IN SCHEMA ecolo TO ecolo_reader;
	-- once per session: a session-level advisory lock survives the rollback
	CREATE FUNCTION ecolo.conflict_once() RETURNS boolean LANGUAGE plpgsql AS \$\$
	BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
		               AND objid = 4242 AND pid = pg_backend_pid()) THEN
			PERFORM pg_advisory_lock(4242);
			RAISE EXCEPTION 'canceling statement due to conflict with recovery'
				USING ERRCODE = '40001';
		END IF;
		RETURN true;
	END \$\$;
	ALTER TABLE ecolo.ecolo_logement ENABLE ROW LEVEL SECURITY;
	CREATE POLICY conflict ON ecolo.ecolo_logement FOR SELECT USING (ecolo.conflict_once())" >/dev/null
export ECOLO_DATABASE_URL DATABASE_URL
ECOLO_DATABASE_URL="postgresql://ecolo_reader@127.0.0.1:$TEST_PG_PORT/ecoloweb"
DATABASE_URL=$(servers_url apilos)
unset REDIS_URL SCALINGO_REDIS_URL SCALINGO_POSTGRESQL_URL
log=$TEST_SERVERS_DIR/import.log

run_import "import through a recovery conflict" 0 --departement 22 --no-progress
assert_contains "the retry is logged" "$(cat "$log")" "starts again (attempt 2 of 3)"
out=$(python3 "$top_srcdir/tests/oracle.py" --source "$(servers_url ecoloweb)" \
	--target "$DATABASE_URL" --departement 22 2>&1) || { printf '%s\n' "$out" >&2; fail "oracle"; }
printf '%s\n' "$out" | tail -n 1
n=$(psql_q apilos "SELECT count(*) FROM programmes_logement")
[ "$n" -gt 0 ] || fail "no logement imported after the retry"
echo "t_retry: all checks passed ($n logements)"
