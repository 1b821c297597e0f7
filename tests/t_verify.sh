#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_verify.sh
#     --verify (issue 13) on synthetic Ecoloweb data: after an import of 22
#     and 29 a verify passes (exit 0); it fails (exit 1) after one APiLos
#     row is changed (a logement's loyer, a convention's date, a lot's
#     financement, a bailleur's SIREN and siret, an avenant's link to the
#     avenant type 'commentaires'), naming the model, the Ecolo key, the
#     column, the expected and the found values; after a target row is deleted with its
#     reference kept; after a source row is added or removed. A verify
#     writes nothing: every APiLos table and the Redis keys are the same
#     before and after, Redis is not even connected to, and it passes with
#     a role that may only read APiLos. Bad usage is refused (exit 2).

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
[ -x "$prog" ] || fail "program not built: $prog"

servers_start || fail "cannot start the test servers"
SRC=$(servers_url ecoloweb)
DST=$(servers_url apilos)
REDIS_URL=$(servers_redis_url)
export ECOLO_DATABASE_URL=$SRC DATABASE_URL=$DST REDIS_URL
unset SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
log=$TEST_SERVERS_DIR/import.log

load_generated ecoloweb --departements 22,29 --conventions 20
load_apilos_schema apilos

q() { psql_q "$DST" "$*"; }
src_q() { psql_q "$SRC" "$*"; }
redis() { redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" --raw "$@"; }
# redis_state: every key with its value (the import's leases and locks are gone by then)
redis_state() {
	local k
	for k in $(redis --scan | sort); do
		printf '%s=%s\n' "$k" "$(redis dump "$k" | od -An -tx1 | tr -d ' \n')"
	done
}
redis_connections() { redis info stats | sed -n 's/^total_connections_received:\([0-9]*\).*/\1/p'; }

# verify NAME EXPECTED_STATUS ARGS...: a verify of 22 and 29, which must leave
# every APiLos table and Redis as they were, and never connect to Redis
verify() {
	local name=$1 want=$2 before after rbefore rafter cbefore cafter
	shift 2
	before=$(snapshot "$DST")
	rbefore=$(redis_state)
	cbefore=$(redis_connections)
	run_import "$name" "$want" --verify --departement 22 29 --no-progress "$@"
	cafter=$(redis_connections)
	after=$(snapshot "$DST")
	rafter=$(redis_state)
	assert_eq "$name: APiLos unchanged" "$before" "$after"
	assert_eq "$name: Redis unchanged" "$rbefore" "$rafter"
	# the INFO call after the verify is the one new connection
	assert_eq "$name: Redis not connected to" "$((cbefore + 1))" "$cafter"
	out=$(cat "$log")
}

# --- 1. bad usage -------------------------------------------------------------
for bad in --update --dry_run --dry-run --commit-per-departement --purge; do
	run_import "--verify $bad" 2 --verify "$bad" --departement 22 --no-progress
	assert_contains "--verify $bad: says why" "$(cat "$log")" "makes no sense with '--verify'"
done
run_import "--max-differences without --verify" 2 --max-differences 3 --departement 22
assert_contains "--max-differences without --verify: says why" "$(cat "$log")" "goes with '--verify' only"
run_import "--max-differences -1" 2 --verify --max-differences -1 --departement 22
run_import "--max-differences x" 2 --verify --max-differences x --departement 22

# --- 2. after an import, a verify passes ----------------------------------------
# text that an array parameter must carry intact: quotes, braces, commas,
# backslashes, control characters, the word NULL, non-ASCII
src_q "UPDATE ecolo.ecolo_logement SET numerobatiment = '\"{},', noescalier = E'\\\\N\\t',
	etage = 'NULL', numerologement = 'é''x' WHERE id = (SELECT min(id) FROM ecolo.ecolo_logement)" >/dev/null
run_import "import 22 29" 0 --departement 22 29 --no-progress
assert_eq "the nasty designation was imported" 1 \
	"$(q "SELECT count(*) FROM programmes_logement WHERE designation = E'\"{}, \\\\N\\t NULL é''x'")"
verify "verify after the import" 0
assert_contains "agree" "$out" "Ecoloweb and APiLos agree"
assert_not_contains "no difference listed" "$out" "difference:"
assert_match "counts per entity class" "$out" "\[22\] verify: logement +Ecoloweb [1-9][0-9]* row\(s\) to map, APiLos [1-9]"

# a role that may only read APiLos verifies as well: a verify needs no write
q "CREATE ROLE apilos_reader LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO apilos_reader" >/dev/null
DATABASE_URL=${DST/postgres@/apilos_reader@} verify "verify as a read-only role" 0

# --- 3. one target row changed -------------------------------------------------
# ref MODEL TABLE [CONDITION]: "ecolo key|id" of the first row of département 22
ref() {
	q "SELECT r.ecolo_id || '|' || t.id FROM ecoloweb_ecoloreference r JOIN $2 t ON t.id = r.apilos_id
		WHERE r.apilos_model = '$1' AND r.departement = '22' ${3:+AND $3} ORDER BY t.id LIMIT 1"
}
IFS='|' read -r lkey lid <<<"$(ref programmes.Logement programmes_logement "t.loyer IS NOT NULL")"
IFS='|' read -r ckey cid <<<"$(ref conventions.Convention conventions_convention)"
IFS='|' read -r tkey tid <<<"$(ref programmes.Lot programmes_lot)"
[ -n "$lid" ] && [ -n "$cid" ] && [ -n "$tid" ] || fail "no logement, convention or lot in 22"
loyer=$(q "SELECT loyer FROM programmes_logement WHERE id = $lid")
date_fin=$(q "SELECT date_fin_conventionnement FROM conventions_convention WHERE id = $cid")
fin=$(q "SELECT financement FROM programmes_lot WHERE id = $tid")
new_fin=$([ "$fin" = PLAI ] && echo PLUS || echo PLAI)
q "UPDATE programmes_logement SET loyer = loyer + 1 WHERE id = $lid;
	UPDATE conventions_convention SET date_fin_conventionnement = DATE '2001-02-03' WHERE id = $cid;
	UPDATE programmes_lot SET financement = '$new_fin' WHERE id = $tid" >/dev/null
new_loyer=$(q "SELECT loyer FROM programmes_logement WHERE id = $lid")

verify "verify after 3 changes" 1
assert_contains "logement's loyer named" "$out" \
	"difference: programmes.Logement $lkey, column loyer: expected '"
assert_contains "logement's loyer found" "$out" "column loyer: expected '$loyer', found '$new_loyer'"
if [ -n "$date_fin" ]; then exp_date="'$date_fin'"; else exp_date=NULL; fi
sql_date=$([ -n "$date_fin" ] && echo "DATE '$date_fin'" || echo NULL)
assert_contains "convention's date named" "$out" \
	"difference: conventions.Convention $ckey, column date_fin_conventionnement: expected $exp_date, found '2001-02-03'"
assert_contains "lot's financement named" "$out" \
	"difference: programmes.Lot $tkey, column financement: expected '$fin', found '$new_fin'"
assert_contains "totals per model and column" "$out" "verify: programmes.Logement loyer: 1 difference(s)"
assert_contains "total of the département" "$out" "[22] verify: 3 difference(s)"
assert_contains "29 still agrees" "$out" "[29] verify: Ecoloweb and APiLos agree"

verify "verify with --max-differences 1" 1 --max-differences 1
assert_eq "--max-differences 1: one difference listed" 1 "$(grep -c 'difference: ' "$log")"
assert_contains "--max-differences 1: the totals still" "$out" "[22] verify: 3 difference(s) (not all listed"

q "UPDATE programmes_logement SET loyer = '$loyer' WHERE id = $lid;
	UPDATE conventions_convention SET date_fin_conventionnement = $sql_date WHERE id = $cid;
	UPDATE programmes_lot SET financement = '$fin' WHERE id = $tid" >/dev/null
verify "verify after the changes are undone" 0

# --- 3b. a bailleur's identity, an avenant's link to 'commentaires' ---------
IFS='|' read -r bkey bid <<<"$(ref bailleurs.Bailleur bailleurs_bailleur)"
IFS='|' read -r akey aid <<<"$(q "SELECT r.ecolo_id || '|' || l.id
	FROM conventions_convention_avenant_types l
	JOIN ecoloweb_ecoloreference r ON r.apilos_model = 'conventions.Convention'
		AND r.apilos_id = l.convention_id AND r.departement = '22'
	ORDER BY l.id LIMIT 1")"
[ -n "$bid" ] && [ -n "$aid" ] || fail "no bailleur or avenant link in 22"
q "CREATE TABLE saved_bailleur AS SELECT * FROM bailleurs_bailleur WHERE id = $bid;
	CREATE TABLE saved_link AS SELECT * FROM conventions_convention_avenant_types WHERE id = $aid;
	UPDATE bailleurs_bailleur SET siren = '000000000', siret = '00000000000000' WHERE id = $bid;
	DELETE FROM conventions_convention_avenant_types WHERE id = $aid" >/dev/null
verify "verify after a bailleur's identity and a link change" 1
assert_contains "bailleur's identity named" "$out" \
	"difference: bailleurs.Bailleur $bkey: identity: expected siren "
assert_contains "bailleur's identity found" "$out" "found siren '000000000', siret '00000000000000'"
assert_contains "avenant's link named" "$out" \
	"difference: conventions.Convention $akey, column avenant_types: expected 'commentaires', found NULL"
q "UPDATE bailleurs_bailleur b SET siren = s.siren, siret = s.siret FROM saved_bailleur s WHERE b.id = s.id;
	INSERT INTO conventions_convention_avenant_types SELECT * FROM saved_link;
	DROP TABLE saved_bailleur; DROP TABLE saved_link" >/dev/null
verify "verify after the bailleur and the link are back" 0

# --- 4. a target row deleted, its reference kept -----------------------------
q "CREATE TABLE saved_logement AS SELECT * FROM programmes_logement WHERE id = $lid;
	DELETE FROM programmes_logement WHERE id = $lid" >/dev/null
verify "verify after a logement is deleted" 1
assert_contains "deleted logement named" "$out" \
	"difference: programmes.Logement $lkey: missing in APiLos (its reference is kept, the row was deleted)"
assert_match "the counts differ" "$out" "\[22\] verify: logement .*: the counts differ"
q "INSERT INTO programmes_logement SELECT * FROM saved_logement; DROP TABLE saved_logement" >/dev/null
verify "verify after the logement is back" 0

# --- 5. a source row added, another removed, after the import -----------------
[ "$(src_q "SELECT count(*) FROM ecolo.ecolo_logement WHERE id::text = '$lkey'")" = 1 ] ||
	fail "logement key $lkey is not an ecolo_logement id"
new_id=$(src_q "SELECT max(id) + 1 FROM ecolo.ecolo_logement")
src_q "CREATE TABLE ecolo.saved AS SELECT * FROM ecolo.ecolo_logement WHERE id = $lkey;
	INSERT INTO ecolo.ecolo_logement SELECT (jsonb_populate_record(NULL::ecolo.ecolo_logement,
		to_jsonb(s) || jsonb_build_object('id', $new_id))).* FROM ecolo.saved s;
	DELETE FROM ecolo.ecolo_logement WHERE id = $lkey" >/dev/null
verify "verify after source rows changed" 1
assert_contains "added source row named" "$out" \
	"difference: programmes.Logement $new_id: missing in APiLos (never imported)"
assert_contains "removed source row named" "$out" \
	"difference: programmes.Logement $lkey: not in Ecoloweb any more"
src_q "DELETE FROM ecolo.ecolo_logement WHERE id = $new_id;
	INSERT INTO ecolo.ecolo_logement SELECT * FROM ecolo.saved; DROP TABLE ecolo.saved" >/dev/null
verify "verify after the source is back" 0

printf 'PASS: %s\n' "$(basename "$0")"
