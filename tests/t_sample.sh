#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_sample.sh
#     Integration test on the real Ecoloweb extract (../shared/ecoloweb-sample):
#     imports département 33 then 29 into an empty APiLos database and checks
#     the documented results of mapping.md (section 1.10, the fixture examples
#     of 2.5.x and appendix B) column by column with explicit SQL, then the
#     independent oracle (tests/oracle.py), then that a second run creates
#     nothing and that --dry_run writes nothing.
#
#     The expected values below are the spec's documented outputs, not sample
#     rows; where a documented value would repeat sample text that must not
#     be copied into the project (bailleur names), it is read from the source
#     database at test time instead.
#
#     Skipped (exit 77) when the sample folder is absent.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

[ -d "$SHARED/ecoloweb-sample" ] || skip "the Ecoloweb sample is absent ($SHARED/ecoloweb-sample)"
prog=$top_builddir/import_ecoloweb_data
oracle=$top_srcdir/tests/oracle.py
[ -x "$prog" ] || fail "program not built: $prog"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed by tests/oracle.py"

servers_start || fail "cannot start the test servers"
SRC=$(servers_url ecoloweb)
DST=$(servers_url apilos)
DST2=$(servers_url apilos2)
load_sample ecoloweb
load_apilos_schema apilos
REDIS_URL=$(servers_redis_url)
export ECOLO_DATABASE_URL=$SRC DATABASE_URL=$DST REDIS_URL
unset SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
log=$TEST_SERVERS_DIR/import.log


# q SQL: one value from the APiLos database
q() { psql_q "$DST" "$*"; }
# src_q SQL: one value from the Ecoloweb database
src_q() { psql_q "$SRC" "$*"; }

# ref_join MODEL ALIAS: join clause from table alias to its reference
ref_join() {
	printf "JOIN ecoloweb_ecoloreference r ON r.apilos_model = '%s' AND r.apilos_id = %s.id" "$1" "$2"
}
# keys_of MODEL ID_EXPR: Ecolo keys of the row of MODEL whose id is ID_EXPR
keys_of() {
	printf "(SELECT string_agg(x.ecolo_id, ',' ORDER BY x.ecolo_id COLLATE \"C\") FROM ecoloweb_ecoloreference x WHERE x.apilos_model = '%s' AND x.apilos_id = %s)" "$1" "$2"
}
ts() {  # timestamptz as 'YYYY-MM-DD HH:MIZ' (UTC), NULL as 'NULL'
	printf "coalesce(to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI\"Z\"'), 'NULL')" "$1"
}
nv() {  # any value as text, NULL as 'NULL'
	printf "coalesce((%s)::text, 'NULL')" "$1"
}


date_utc=$(date -u +%F)
date_paris=$(TZ=Europe/Paris date +%F)
run_start=$(q "SELECT now()")

# --- 1. import 33 then 29 -------------------------------------------------
run_import "import 33" 0 --departement 33 --no-progress
run_import "import 29" 0 --departement 29 --no-progress

# --- 2. conventions (1.10, appendix B) --------------------------------------
assert_eq "convention keys of 33" \
	"421328:PLAI:0 421328:PLAI:1 421328:PLAI:2 421328:PLUS:0 421328:PLUS:1 421328:PLUS:2 423085:PLAI:1 423085:PLAI:2 423085:PLUS:0 423085:PLUS:1 423085:PLUS:2" \
	"$(q "SELECT string_agg(ecolo_id, ' ' ORDER BY ecolo_id COLLATE \"C\") FROM ecoloweb_ecoloreference WHERE apilos_model = 'conventions.Convention' AND departement = '33'")"
assert_eq "convention keys of 29" "456142:PLAI:0" \
	"$(q "SELECT string_agg(ecolo_id, ' ' ORDER BY ecolo_id COLLATE \"C\") FROM ecoloweb_ecoloreference WHERE apilos_model = 'conventions.Convention' AND departement = '29'")"
assert_eq "conventions: 12 rows" 12 "$(q "SELECT count(*) FROM conventions_convention")"

# conv KEY: parent|numero|numero_pour_recherche|statut|valide_le|soumis_le|
#           premiere_soumission_le|date_fin_conventionnement|
#           date_publication_spf|reference_spf
conv() {
	q "SELECT coalesce($(keys_of conventions.Convention c.parent_id), '-')
		|| '|' || $(nv c.numero) || '|' || $(nv c.numero_pour_recherche)
		|| '|' || c.statut || '|' || $(nv c.valide_le)
		|| '|' || $(ts c.soumis_le) || '|' || $(ts c.premiere_soumission_le)
		|| '|' || $(nv c.date_fin_conventionnement)
		|| '|' || $(nv c.date_publication_spf) || '|' || $(nv c.reference_spf)
		FROM conventions_convention c $(ref_join conventions.Convention c)
		WHERE r.ecolo_id = '$1'"
}
assert_eq "convention 421328:PLAI:0" \
	"-|33 2 1998-11 85-1231 2100|3321998118512312100|5. Signée|1998-11-26|1998-11-25 23:00Z|2006-05-11 22:00Z|2017-06-27|2000-06-05|2000P Volume 4992" \
	"$(conv 421328:PLAI:0)"
assert_eq "convention 421328:PLAI:1" \
	"421328:PLAI:0|1|1|5. Signée|2017-06-28|1998-11-25 23:00Z|2006-05-11 22:00Z|2021-03-17|2000-06-05|2000P Volume 4992" \
	"$(conv 421328:PLAI:1)"
assert_eq "convention 421328:PLAI:2" \
	"421328:PLAI:0|2|2|5. Signée|2021-03-18|1998-11-25 23:00Z|2006-05-11 22:00Z|NULL|2000-06-05|2000P Volume 4992" \
	"$(conv 421328:PLAI:2)"
# same iterations, other financement: same values, parent in PLUS
assert_eq "convention 421328:PLUS:0" \
	"-|33 2 1998-11 85-1231 2100|3321998118512312100|5. Signée|1998-11-26|1998-11-25 23:00Z|2006-05-11 22:00Z|2017-06-27|2000-06-05|2000P Volume 4992" \
	"$(conv 421328:PLUS:0)"
assert_eq "convention 421328:PLUS:1" \
	"421328:PLUS:0|1|1|5. Signée|2017-06-28|1998-11-25 23:00Z|2006-05-11 22:00Z|2021-03-17|2000-06-05|2000P Volume 4992" \
	"$(conv 421328:PLUS:1)"
assert_eq "convention 421328:PLUS:2" \
	"421328:PLUS:0|2|2|5. Signée|2021-03-18|1998-11-25 23:00Z|2006-05-11 22:00Z|NULL|2000-06-05|2000P Volume 4992" \
	"$(conv 421328:PLUS:2)"
assert_eq "convention 423085:PLAI:1 (no root: no parent)" \
	"-|1|1|5. Signée|2017-07-17|1993-06-15 22:00Z|2006-05-11 22:00Z|2021-03-10|1998-11-03|1998 D N° 16252 VOLUME 1998 P N° 8450" \
	"$(conv 423085:PLAI:1)"
assert_eq "convention 423085:PLUS:0" \
	"-|33/2/061993/851231/1/033012/1333|33206199385123110330121333|5. Signée|1993-06-16|1993-06-15 22:00Z|2006-05-11 22:00Z|2017-07-16|1998-11-03|1998P Volume 8450" \
	"$(conv 423085:PLUS:0)"
assert_eq "convention 456142:PLAI:0 (29)" \
	"-|29 3 08 2009 5600|2930820095600|5. Signée|2006-11-17|2006-11-16 23:00Z|2011-06-19 22:00Z|NULL|2010-08-30|Dépôt N° 7948 Vol.  2010  P N° 5506" \
	"$(conv 456142:PLAI:0)"

# parents of every convention (1.10: "parent exists" column, Step E)
cparent() {
	q "SELECT coalesce($(keys_of conventions.Convention c.parent_id), '-')
		FROM conventions_convention c $(ref_join conventions.Convention c)
		WHERE r.ecolo_id = '$1'"
}
for k in 421328:PLAI:0 421328:PLUS:0 423085:PLAI:1 423085:PLAI:2 423085:PLUS:0 456142:PLAI:0; do
	assert_eq "convention $k: no parent" "-" "$(cparent "$k")"
done
assert_eq "convention 423085:PLUS:1: parent" 423085:PLUS:0 "$(cparent 423085:PLUS:1)"
assert_eq "convention 423085:PLUS:2: parent" 423085:PLUS:0 "$(cparent 423085:PLUS:2)"
assert_eq "convention 423085:PLAI:2: numero" 2 \
	"$(q "SELECT c.numero FROM conventions_convention c $(ref_join conventions.Convention c) WHERE r.ecolo_id = '423085:PLAI:2'")"
# valide_le = televersement_convention_signee_le; date_envoi_spf = date_publication_spf
assert_eq "televersement_convention_signee_le = valide_le" 0 \
	"$(q "SELECT count(*) FROM conventions_convention WHERE televersement_convention_signee_le IS DISTINCT FROM valide_le OR date_envoi_spf IS DISTINCT FROM date_publication_spf")"
# nature 1 everywhere: attribution/variante booleans false, texts NULL, no gestionnaire
assert_eq "attributions of nature 1" 0 "$(q "SELECT count(*) FROM conventions_convention WHERE
	attribution_agees_autonomie OR attribution_agees_ephad OR attribution_agees_desorientees
	OR attribution_agees_petite_unite OR attribution_agees_autre OR attribution_handicapes_foyer
	OR attribution_handicapes_foyer_de_vie OR attribution_handicapes_foyer_medicalise
	OR attribution_handicapes_autre OR foyer_residence_variante_1 OR foyer_residence_variante_2
	OR foyer_residence_variante_3 OR attribution_residence_sociale_ordinaire
	OR attribution_pension_de_famille OR attribution_residence_accueil
	OR attribution_agees_autre_detail IS NOT NULL OR attribution_handicapes_autre_detail IS NOT NULL
	OR attribution_inclusif_activites IS NOT NULL OR attribution_modalites_reservations IS NOT NULL
	OR attribution_reservation_prefectorale IS NOT NULL OR foyer_residence_variante_2_travaux IS NOT NULL
	OR gestionnaire IS NOT NULL OR commentaires IS NOT NULL
	OR NOT (type2_lgts_concernes_option1 AND type2_lgts_concernes_option8)
	OR identification_bailleur")"

# --- 3. programmes (2.5.3, appendix B) --------------------------------------
assert_eq "programme keys" \
	"421328:0 421328:1 421328:2 423085:0 423085:1 423085:2 456142:0" \
	"$(q "SELECT string_agg(ecolo_id, ' ' ORDER BY ecolo_id COLLATE \"C\") FROM ecoloweb_ecoloreference WHERE apilos_model = 'programmes.Programme'")"
assert_eq "programmes: 7 rows" 7 "$(q "SELECT count(*) FROM programmes_programme")"
# prog KEY: parent|bailleur keys|administration keys|departement of the reference
prog() {
	q "SELECT coalesce($(keys_of programmes.Programme p.parent_id), '-')
		|| '|' || coalesce($(keys_of bailleurs.Bailleur p.bailleur_id), '-')
		|| '|' || coalesce($(keys_of instructeurs.Administration p.administration_id), '-')
		|| '|' || r.departement
		FROM programmes_programme p $(ref_join programmes.Programme p)
		WHERE r.ecolo_id = '$1'"
}
assert_eq "programme 421328:0" "-|100452|100033|33" "$(prog 421328:0)"
assert_eq "programme 421328:1" "421328:0|100452|100033|33" "$(prog 421328:1)"
assert_eq "programme 421328:2" "421328:0|100385|100033|33" "$(prog 421328:2)"
assert_eq "programme 423085:0" "-|100452|100033|33" "$(prog 423085:0)"
assert_eq "programme 423085:1 (hs = PLAI row: no parent)" "-|100452|100033|33" "$(prog 423085:1)"
assert_eq "programme 423085:2" "-|100385|100033|33" "$(prog 423085:2)"
# 29: bailleur = owner of pl 625748 (pl1 of 456142:PLAI:0), administration =
# entité créatrice of conventionapl 456142, read from the source
b29=$(src_q "SELECT bailleurproprietaire_id FROM ecolo.ecolo_programmelogement WHERE id = 625748")
a29=$(src_q "SELECT entitecreatrice_id FROM ecolo.ecolo_conventionapl WHERE id = 456142")
assert_eq "programme 456142:0" "-|$b29|$a29|29" "$(prog 456142:0)"

assert_eq "programme 421328:0 columns" \
	"20 RUE DE LA RÉPUBLIQUE - 3 - PLAI|Bègles|33130||NEUF|1998-11-27|2000-11-26|1998-11-27|true|true|33039|33|72|LOGEMENTSORDINAIRES" \
	"$(q "SELECT p.nom || '|' || p.ville || '|' || p.code_postal || '|' || p.adresse
		|| '|' || p.type_operation || '|' || $(nv p.date_achevement)
		|| '|' || $(nv p.date_achevement_previsible) || '|' || $(nv p.date_achevement_compile)
		|| '|' || $(nv "p.surface_utile_totale = 202") || '|' || $(nv "p.surface_corrigee_totale = 0")
		|| '|' || p.code_insee_commune || '|' || p.code_insee_departement
		|| '|' || p.code_insee_region || '|' || p.nature_logement
		FROM programmes_programme p $(ref_join programmes.Programme p) WHERE r.ecolo_id = '421328:0'")"

# --- 4. lots (2.5.2) ----------------------------------------------------------
# lot KEY: convention|parent|financement|nb_logements|type_habitat|caves|
#          terrasses|remises|loyer_derogatoire|surface_habitable_totale = ?|garage
lot() {
	q "SELECT coalesce($(keys_of conventions.Convention l.convention_id), '-')
		|| '|' || coalesce($(keys_of programmes.Lot l.parent_id), '-')
		|| '|' || l.financement || '|' || $(nv l.nb_logements) || '|' || l.type_habitat
		|| '|' || l.annexe_caves || '|' || l.annexe_terrasses || '|' || l.annexe_remises
		|| '|' || $(nv l.loyer_derogatoire) || '|' || $(nv "l.surface_habitable_totale = $2")
		|| '|' || $(nv l.foyer_residence_nb_garage_parking)
		FROM programmes_lot l $(ref_join programmes.Lot l) WHERE r.ecolo_id = '$1'"
}
assert_eq "lot 421328:PLUS:0" "421328:PLUS:0|-|PLUS|10|COLLECTIF|false|false|false|NULL|true|NULL" \
	"$(lot 421328:PLUS:0 621.02)"
assert_eq "lot 421328:PLUS:1" "421328:PLUS:1|421328:PLUS:0|PLUS|10|COLLECTIF|false|false|false|NULL|true|NULL" \
	"$(lot 421328:PLUS:1 621.02)"
assert_eq "lots: 12 rows" 12 "$(q "SELECT count(*) FROM programmes_lot")"

# --- 5. bailleur 100452 and administration 100033 (2.5.4, 2.5.5) -------------
bnom=$(src_q "SELECT raisonsociale FROM ecolo.ecolo_bailleur WHERE id = 100452")
[ -n "$bnom" ] || fail "bailleur 100452 not found in the sample"
assert_eq "bailleur 100452" \
	"$bnom|xxxx33902xxxxx|xxxx03302|SA_HLM_ESH|HLM|NULL|33300|BORDEAUX|NULL|33" \
	"$(q "SELECT b.nom || '|' || b.siret || '|' || $(nv b.siren) || '|' || b.sous_nature_bailleur
		|| '|' || b.nature_bailleur || '|' || $(nv b.adresse) || '|' || $(nv b.code_postal)
		|| '|' || $(nv b.ville) || '|' || $(nv b.signataire_nom) || '|' || r.departement
		FROM bailleurs_bailleur b $(ref_join bailleurs.Bailleur b) WHERE r.ecolo_id = '100452'")"
assert_eq "administration 100033" \
	"DDTM Gironde (DD033)|DD033|BORDEAUX|BORDEAUX|33000|NULL|3|{département}/{zone}/{mois}/{année}/80.416/|33" \
	"$(q "SELECT a.nom || '|' || a.code || '|' || $(nv a.ville_signature) || '|' || $(nv a.ville)
		|| '|' || $(nv a.code_postal) || '|' || $(nv a.adresse) || '|' || a.nb_convention_exemplaires
		|| '|' || $(nv a.prefix_convention) || '|' || r.departement
		FROM instructeurs_administration a $(ref_join instructeurs.Administration a) WHERE r.ecolo_id = '100033'")"

# --- 6. pièces jointes of 421328:PLUS:0 (2.5.10, appendix B) ------------------
assert_eq "pièces jointes of 421328:PLUS:0" \
	"421328:PLUS:0-524036|CONVENTION|100033/421328/524036.pdf|CV.pdf|1998-11-25 23:00Z
421328:PLUS:0-524040|AVENANT|100033/421328/524040.pdf|Conv2100-Av1.pdf|2017-06-27 22:00Z
421328:PLUS:0-530278|AVENANT|100033/421328/530278.pdf|Conv2100_Av2.pdf|2019-09-23 22:00Z" \
	"$(q "SELECT r.ecolo_id || '|' || $(nv p.type) || '|' || $(nv p.fichier) || '|' || $(nv p.nom_reel)
		|| '|' || $(ts p.cree_le) || '|' || coalesce($(keys_of conventions.Convention p.convention_id), '-')
		FROM conventions_piecejointe p $(ref_join conventions.PieceJointe p)
		WHERE r.ecolo_id LIKE '421328:PLUS:0-%' ORDER BY r.ecolo_id COLLATE \"C\"" |
		sed 's/|421328:PLUS:0$//')"
assert_eq "pièces jointes of every 421328 convention" "6 18" \
	"$(q "SELECT count(DISTINCT split_part(ecolo_id, '-', 1)) || ' ' || count(*) FROM ecoloweb_ecoloreference WHERE apilos_model = 'conventions.PieceJointe' AND ecolo_id LIKE '421328:%'")"

# --- 7. références cadastrales of programme 421328:0 (B5, appendix B) --------
assert_eq "références cadastrales of 421328:0" "668224|AK|194||0.0 ha 11.0 a 3.0 ca|" \
	"$(q "SELECT r.ecolo_id || '|' || c.section || '|' || c.numero || '|' || c.lieudit
		|| '|' || c.surface || '|' || c.autre
		FROM programmes_referencecadastrale c $(ref_join programmes.ReferenceCadastrale c)
		WHERE c.programme_id = (SELECT apilos_id FROM ecoloweb_ecoloreference
			WHERE apilos_model = 'programmes.Programme' AND ecolo_id = '421328:0')")"

# --- 8. avenant-type links (2.5.12) ---------------------------------------------
assert_eq "avenant-type links" \
	"421328:PLAI:1 421328:PLAI:2 421328:PLUS:1 421328:PLUS:2 423085:PLUS:1 423085:PLUS:2" \
	"$(q "SELECT string_agg(r.ecolo_id || CASE WHEN t.nom = 'commentaires' THEN '' ELSE '(' || t.nom || ')' END,
		' ' ORDER BY r.ecolo_id COLLATE \"C\")
		FROM conventions_convention_avenant_types l
		JOIN conventions_avenanttype t ON t.id = l.avenanttype_id
		JOIN ecoloweb_ecoloreference r ON r.apilos_model = 'conventions.Convention'
			AND r.apilos_id = l.convention_id")"

# --- 9. nothing else exists in the fixture; references ------------------------
assert_eq "no logements, répartitions, évènements, stationnements" "0|0|0|0" \
	"$(q "SELECT (SELECT count(*) FROM programmes_logement) || '|' || (SELECT count(*) FROM programmes_repartitionsurface)
		|| '|' || (SELECT count(*) FROM conventions_evenement) || '|' || (SELECT count(*) FROM programmes_typestationnement)")"
assert_eq "references of 29" \
	"conventions.Convention:456142:PLAI:0 programmes.Lot:456142:PLAI:0 programmes.Programme:456142:0" \
	"$(q "SELECT string_agg(apilos_model || ':' || ecolo_id, ' ' ORDER BY apilos_model COLLATE \"C\", ecolo_id COLLATE \"C\")
		FROM ecoloweb_ecoloreference WHERE departement = '29'
		AND apilos_model IN ('conventions.Convention', 'programmes.Lot', 'programmes.Programme')")"
# what 29 needed: its convention, lot, programme, pièces jointes, cadastre,
# bailleur and administration; everything else was written by the run of 33
assert_eq "departement of every reference" 0 \
	"$(q "SELECT count(*) FROM ecoloweb_ecoloreference WHERE departement NOT IN ('33', '29')
		OR (departement = '29') <> (
			apilos_model IN ('conventions.Convention', 'programmes.Lot', 'programmes.Programme',
				'conventions.PieceJointe') AND ecolo_id LIKE '456142:%'
			OR apilos_model = 'bailleurs.Bailleur' AND ecolo_id = '$b29'
			OR apilos_model = 'instructeurs.Administration' AND ecolo_id = '$a29'
			OR apilos_model = 'programmes.ReferenceCadastrale' AND apilos_id IN (
				SELECT c.id FROM programmes_referencecadastrale c JOIN ecoloweb_ecoloreference p
				ON p.apilos_model = 'programmes.Programme' AND p.apilos_id = c.programme_id
				WHERE p.ecolo_id = '456142:0'))")"
assert_eq "est_supprime false everywhere" 0 \
	"$(q "SELECT count(*) FROM ecoloweb_ecoloreference WHERE est_supprime")"
assert_eq "importe_le is the run date" 0 \
	"$(q "SELECT count(*) FROM ecoloweb_ecoloreference WHERE importe_le IS NULL OR importe_le NOT IN ('$date_utc', '$date_paris')")"

# --- 10. the independent oracle ---------------------------------------------------
oracle_out=$(python3 "$oracle" --source "$SRC" --target "$DST" --departement 33 29 \
	--run-date "$date_utc,$date_paris" --run-start "$run_start" --several-runs 2>&1)
orc=$?
printf '%s\n' "$oracle_out" | sed 's/^/  oracle: /'
assert_eq "oracle (33, 29)" 0 "$orc"

# --- 11. a second run creates nothing and changes nothing ---------------------
before=$(snapshot "$DST")
run_import "second import 33" 0 --departement 33 --no-progress
run_import "second import 29" 0 --departement 29 --no-progress
after=$(snapshot "$DST")
if [ "$before" != "$after" ]; then
	diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed 's/^/  /' >&2
fi
assert_eq "second run: every table unchanged" "$before" "$after"

# --- 12. --dry_run writes nothing ---------------------------------------------------
load_apilos_schema apilos2
before=$(snapshot "$DST2")
DATABASE_URL=$DST2
run_import "dry run 33" 0 --departement 33 --dry_run --no-progress
DATABASE_URL=$DST
after=$(snapshot "$DST2")
assert_eq "dry run: every table unchanged" "$before" "$after"
assert_eq "dry run: no reference, no convention" "0|0" \
	"$(psql_q "$DST2" "SELECT (SELECT count(*) FROM ecoloweb_ecoloreference) || '|' || (SELECT count(*) FROM conventions_convention)")"

echo "t_sample: all checks passed"
