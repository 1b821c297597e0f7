#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_deferred.sh
#     Without prepared transactions (max_prepared_transactions = 0), a
#     worker says READY while its transaction is still open: its deferred
#     constraints (APiLos' foreign keys are DEFERRABLE INITIALLY DEFERRED)
#     must be checked before, or a violation shows up only at COMMIT, after
#     the other départements were told to commit (issue 11, point 3).
#
#     Staged with a deferred constraint trigger, added by the test, that
#     rejects the conventions of 29 at the end of the transaction: the
#     launch of 22 and 29 must report 29 failed before any verdict, and
#     commit nothing of either.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
servers_start max_prepared_transactions=0 || fail "cannot start the test servers"
export ECOLO_DATABASE_URL DATABASE_URL REDIS_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
REDIS_URL=$(servers_redis_url)
unset SCALINGO_REDIS_URL SCALINGO_POSTGRESQL_URL
log=$TEST_SERVERS_DIR/import.log

load_generated ecoloweb --departements 22,29 --conventions 20
load_apilos_schema apilos
psql_q apilos "CREATE FUNCTION reject_29() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN
		RAISE EXCEPTION 'test: convention % of 29 rejected at commit', NEW.ecolo_id
			USING ERRCODE = '23514';
	END \$\$;
	CREATE CONSTRAINT TRIGGER reject_29 AFTER INSERT ON ecoloweb_ecoloreference
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (NEW.apilos_model = 'conventions.Convention' AND NEW.departement = '29')
	EXECUTE FUNCTION reject_29()" >/dev/null

run_import "a deferred violation in 29" 1 --departement 22 29 --no-progress
out=$(cat "$log")
assert_contains "the verdict without prepared transactions" "$out" \
	"verdict: one for the launch; without prepared transactions"
assert_match "29 reports the violation" "$out" "\[29\] .*rejected at commit.*SQLSTATE 23514"
assert_not_contains "no verdict given: 29 never said READY" "$out" "every département is ready"
assert_not_contains "nothing committed" "$out" "committed$"
assert_eq "no convention of 22 nor 29" 0 "$(psql_q apilos "SELECT count(*) FROM conventions_convention")"
assert_eq "no reference but bailleurs/administrations" 0 \
	"$(psql_q apilos "SELECT count(*) FROM ecoloweb_ecoloreference
		WHERE apilos_model NOT IN ('bailleurs.Bailleur', 'instructeurs.Administration')")"

# without the trigger, the same launch commits both
psql_q apilos "DROP TRIGGER reject_29 ON ecoloweb_ecoloreference" >/dev/null
run_import "the same launch without the violation" 0 --departement 22 29 --no-progress
assert_eq "conventions of 22 and 29 committed" 2 \
	"$(psql_q apilos "SELECT count(DISTINCT departement) FROM ecoloweb_ecoloreference
		WHERE apilos_model = 'conventions.Convention'")"
echo "t_deferred: all checks passed"
