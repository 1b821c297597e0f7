#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_update.sh
#     --update (mapping.md §3.6) on generated data: rows changed in APiLos
#     since the import are rewritten from the source, the pre_save signal
#     columns are not recomputed, cree_le/mis_a_jour_le take the query
#     values, an APiLos row deleted by someone leaves a tombstone instead of
#     coming back, nothing is created twice, and a plain re-run (without
#     --update) changes nothing.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
[ -x "$prog" ] || fail "program not built: $prog"

servers_start || fail "cannot start the test servers"
export ECOLO_DATABASE_URL DATABASE_URL
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
unset REDIS_URL SCALINGO_REDIS_URL SCALINGO_POSTGRESQL_URL
log=$TEST_SERVERS_DIR/import.log
load_generated ecoloweb --departements 22 --conventions 30
load_apilos_schema apilos
q() { psql_q apilos "$*"; }

run_import "first import" 0 --departement 22 --no-progress
conventions=$(q "SELECT count(*) FROM conventions_convention")
[ "$conventions" -gt 0 ] || fail "nothing imported"
references=$(q "SELECT count(*) FROM ecoloweb_ecoloreference")

# one convention of each kind: a root with a numero, and its Ecolo key
root=$(q "SELECT c.id FROM conventions_convention c WHERE c.parent_id IS NULL AND c.numero IS NOT NULL ORDER BY c.id LIMIT 1")
numero=$(q "SELECT numero FROM conventions_convention WHERE id = $root")
statut=$(q "SELECT statut FROM conventions_convention WHERE id = $root")
lot=$(q "SELECT id FROM programmes_lot WHERE convention_id = $root")
nb=$(q "SELECT nb_logements FROM programmes_lot WHERE id = $lot")
programme=$(q "SELECT programme_id FROM conventions_convention WHERE id = $root")
nom=$(q "SELECT nom FROM programmes_programme WHERE id = $programme")
pj=$(q "SELECT min(id) FROM conventions_piecejointe")

# changes made in APiLos since the import, and one row deleted by someone
q "UPDATE conventions_convention SET statut = '1. Projet', numero = 'changed',
	numero_pour_recherche = 'kept-by-update', cree_le = '2001-01-01' WHERE id = $root" >/dev/null
q "UPDATE programmes_lot SET nb_logements = -1 WHERE id = $lot" >/dev/null
q "UPDATE programmes_programme SET nom = 'changed' WHERE id = $programme" >/dev/null
q "DELETE FROM conventions_piecejointe WHERE id = $pj" >/dev/null

run_import "--update" 0 --departement 22 --no-progress --update
assert_eq "statut rewritten" "$statut" "$(q "SELECT statut FROM conventions_convention WHERE id = $root")"
assert_eq "numero rewritten" "$numero" "$(q "SELECT numero FROM conventions_convention WHERE id = $root")"
assert_eq "numero_pour_recherche: signal not recomputed" "kept-by-update" \
	"$(q "SELECT numero_pour_recherche FROM conventions_convention WHERE id = $root")"
assert_eq "lot nb_logements rewritten" "$nb" "$(q "SELECT nb_logements FROM programmes_lot WHERE id = $lot")"
assert_eq "programme nom rewritten" "$nom" "$(q "SELECT nom FROM programmes_programme WHERE id = $programme")"
# cree_le: the query value, midnight Europe/Paris of a date (§2.5.1), not the insertion time
assert_eq "cree_le is a midnight in Paris" "00:00:00" \
	"$(q "SELECT to_char(cree_le AT TIME ZONE 'Europe/Paris', 'HH24:MI:SS') FROM conventions_convention WHERE id = $root")"
assert_eq "nothing created twice: conventions" "$conventions" "$(q "SELECT count(*) FROM conventions_convention")"
assert_eq "nothing created twice: references" "$references" "$(q "SELECT count(*) FROM ecoloweb_ecoloreference")"
assert_eq "the deleted pièce jointe is not brought back" "0" \
	"$(q "SELECT count(*) FROM conventions_piecejointe WHERE id = $pj")"
assert_eq "its reference is a tombstone" "t" \
	"$(q "SELECT est_supprime FROM ecoloweb_ecoloreference WHERE apilos_model = 'conventions.PieceJointe' AND apilos_id = $pj")"
assert_contains "summary counts updated rows" "$(cat "$log")" "updated"
updated=$(awk '$1 == "22" && $2 == "convention" { print $7 }' "$log")
assert_eq "every convention counted as updated" "$conventions" "$updated"

before=$(snapshot apilos)
run_import "plain re-run" 0 --departement 22 --no-progress
assert_eq "a plain re-run changes nothing" "$before" "$(snapshot apilos)"
echo "t_update: all checks passed"
