#!/usr/bin/env bash
#
# demo.sh
#     The one command that shows import_ecoloweb_data at work: it imports the
#     four départements of Bretagne (22 29 35 56) from a generated Ecoloweb
#     database into an empty APiLos database, then prints what was imported.
#
#       1. installs the Debian packages that are missing (apt-get, as root or
#          with sudo);
#       2. builds the program and the data generator in _build-demo/ (no
#          sanitizers; build output in _build-demo/build.log);
#       3. starts a throwaway PostgreSQL 15 and Redis on free ports;
#       4. creates "ecoloweb" (tests/ecoloweb_ddl.sql + tools/ecoloweb_gen,
#          200 conventions per département) and "apilos" (the APiLos schema);
#       5. runs import_ecoloweb_data --departement 22 29 35 56 (the dashboard
#          on a terminal, plain log lines otherwise);
#       6. prints the rows imported, then stops the servers.
#
#     Usage: ./demo.sh [IMPORT_OPTION...]   e.g. ./demo.sh --no-progress
#     Options are passed to import_ecoloweb_data. Environment: CONVENTIONS
#     (per département, 200), SHARED (default: ../shared beside the repository),
#     SERVERS_KEEP=1 to keep the servers' directory and logs.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"

case "${1:-}" in
-h | --help)
	sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
esac

builddir=$repo/_build-demo
# shellcheck source=tests/lib/bootstrap.sh
. "$repo/tests/lib/bootstrap.sh"

bootstrap_build ""

say "Starting PostgreSQL and Redis"
# shellcheck disable=SC2119 # no extra PostgreSQL setting
servers_start
printf 'PostgreSQL on 127.0.0.1:%s, Redis on 127.0.0.1:%s (%s)\n' \
	"$TEST_PG_PORT" "$TEST_REDIS_PORT" "$TEST_SERVERS_DIR"

conventions=${CONVENTIONS:-200}
say "Generating Ecoloweb: $conventions conventions in each of 22, 29, 35, 56"
t0=$(date +%s)
load_generated ecoloweb --departements 22,29,35,56 --conventions "$conventions"
count_rows ecoloweb ecolo
printf '(generated and loaded in %ss)\n' "$(($(date +%s) - t0))"

say "Creating the APiLos database"
load_apilos_schema apilos

ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
REDIS_URL=$(servers_redis_url 0)
export ECOLO_DATABASE_URL DATABASE_URL REDIS_URL

say "import_ecoloweb_data --departement 22 29 35 56 $*"
t0=$(date +%s)
rc=0
"$builddir/import_ecoloweb_data" --departement 22 29 35 56 "$@" || rc=$?
elapsed=$(($(date +%s) - t0))

say "Imported into APiLos (exit status $rc, ${elapsed}s)"
psql_q apilos "
	SELECT format('%-12s %-30s %8s', departement, apilos_model, count(*))
	FROM ecoloweb_ecoloreference
	GROUP BY departement, apilos_model
	ORDER BY departement, apilos_model" || true
printf '\nRows per APiLos table:\n'
count_rows apilos public

say "Stopping the servers"
exit "$rc"
