#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_nasty_text.sh
#     Valid but nasty text is imported byte for byte (issue 12): tabs,
#     newlines, CR, backslashes, \N and \. (COPY's own markers), quotes,
#     SQL-looking text, format strings, non-Latin letters, emoji with
#     joiners, leading and trailing spaces, the word NULL. Every free-text
#     column of the Ecoloweb source that the mapping carries into APiLos
#     (bailleur and administration names and addresses, contacts, programme
#     names, addresses and numbers, commune names, logement designations,
#     publication references and motives, pièces jointes,
#     event descriptions) gets, in each round, one payload in all its rows,
#     tagged with the column's number. After the import of département 22:
#     the tag is found in the APiLos column the mapping writes it to, and
#     every occurrence of the tag there is followed by the exact payload.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
[ -x "$prog" ] || fail "program not built: $prog"

servers_start || fail "cannot start the test servers"
load_generated ecolo_tpl --departements 22 --conventions 8 --seed 5
load_apilos_schema apilos_tpl
export REDIS_URL
REDIS_URL=$(servers_redis_url)
unset SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
log=$TEST_SERVERS_DIR/nasty.log

# source table.column -> APiLos table.column (mapping.md §2.5)[, a suffix the
# mapping needs: a pièce jointe's file without an extension is dropped]
COLUMNS=(
	"ecolo_bailleur.raisonsociale bailleurs_bailleur.nom"
	"ecolo_adressebailleur.ligne1 bailleurs_bailleur.adresse"
	"ecolo_adressebailleur.ligne4 bailleurs_bailleur.adresse"
	"ecolo_contactbailleur.nom bailleurs_bailleur.signataire_nom"
	"ecolo_contactbailleur.prenom conventions_convention.gestionnaire_signataire_nom"
	"ecolo_entitegest.nom instructeurs_administration.nom"
	"ecolo_entitegestadresse.ligne2 instructeurs_administration.adresse"
	"ecolo_entitegestadresse.ville instructeurs_administration.ville_signature"
	"ecolo_programmeadresse.ligne1 programmes_programme.adresse"
	"ecolo_programmeadresse.ligne3 programmes_programme.adresse"
	"ecolo_commune.libelle programmes_programme.ville"
	"ecolo_logement.numerobatiment programmes_logement.designation"
	"ecolo_logement.numerologement programmes_logement.designation"
	"ecolo_programmelogement.description programmes_programme.nom"
	"ecolo_programmelogement.financementreferencedossier programmes_programme.numero_operation"
	"ecolo_conventiondonneesgenerales.referencepublication conventions_convention.reference_spf"
	"ecolo_conventiondonneesgenerales.motifrefushypotheque conventions_convention.motif_refus_spf"
	"ecolo_piecejointe.fichier conventions_piecejointe.nom_reel .pdf"
	"ecolo_evenement.description conventions_evenement.description"
)

PAYLOADS=(
	$'tab\there\tand there'
	$'line one\nline two\n'
	$'carriage\rreturn\r\n'
	'back\slash \\ double\\'
	'\N'
	'\.'
	'\\N and \t are not escapes'
	$'quote \' double " back `tick`'
	"'); DROP TABLE programmes_lot; --"
	'%s %n %x %% $1 :name'
	'Ελληνικά Кириллица 中文 العربية עברית'
	'emoji 🏠🔑 and a family 👩‍👩‍👧 é é'
	'  leading and trailing  '
	'NULL'
)

# the source columns' lengths: a payload is cut to fit, tag included
declare -A len_of=()
for pair in "${COLUMNS[@]}"; do
	read -r src _ <<<"$pair"
	len_of[$src]=$(psql_q ecolo_tpl "SELECT coalesce(character_maximum_length, 100000)
		FROM information_schema.columns WHERE table_schema = 'ecolo'
		AND table_name = '${src%%.*}' AND column_name = '${src#*.}'")
	[ -n "${len_of[$src]}" ] || fail "no column $src in the Ecoloweb DDL"
done

# nasty_value I R SRC SUFFIX: column I's value in round R, "<I>#<payload><suffix>",
# the payload cut to fit SRC's length, in $value (not $(...): it would drop
# the trailing newlines)
nasty_value() {
	local v="$1#${PAYLOADS[($1 + $2) % ${#PAYLOADS[@]}]}"
	value="${v:0:$((${len_of[$3]} - ${#4}))}$4"
}

cases=0
for ((r = 0; r < ${#PAYLOADS[@]}; r++)); do
	psql_q postgres "DROP DATABASE IF EXISTS src" >/dev/null
	psql_q postgres "DROP DATABASE IF EXISTS dst" >/dev/null
	psql_q postgres "CREATE DATABASE src TEMPLATE ecolo_tpl" >/dev/null || fail "create src"
	psql_q postgres "CREATE DATABASE dst TEMPLATE apilos_tpl" >/dev/null || fail "create dst"
	# an address is its four lines joined, NULL when one is NULL (mapping):
	# every line set, so that the payload's line is carried
	for t in ecolo_adressebailleur ecolo_entitegestadresse ecolo_programmeadresse; do
		psql_q src "UPDATE ecolo.$t SET ligne1 = coalesce(ligne1, 'l1'),
			ligne2 = coalesce(ligne2, 'l2'), ligne3 = coalesce(ligne3, 'l3'),
			ligne4 = coalesce(ligne4, 'l4')" >/dev/null || fail "address lines of $t"
	done
	# column i gets payload (i + r) mod n, behind its tag "<i>#": the values
	# as psql variables v<i> (psql quotes :'v<i>' itself), one session
	vars=() sets='' checks=''
	for i in "${!COLUMNS[@]}"; do
		read -r src dst suffix <<<"${COLUMNS[i]}"
		nasty_value "$i" "$r" "$src" "$suffix"
		vars+=(-v "v$i=$value" -v "t$i=$i#")
		sets+="UPDATE ecolo.${src%%.*} SET ${src#*.} = :'v$i';"$'\n'
		# per column: rows holding the tag, and those where the whole value follows it
		checks+="SELECT $i, count(*) FILTER (WHERE strpos(${dst#*.}, :'t$i') > 0),
			count(*) FILTER (WHERE strpos(${dst#*.}, :'v$i') > 0) FROM ${dst%%.*};"$'\n'
	done
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d src "${vars[@]}" \
		<<<"$sets" >/dev/null || fail "round $r: setting the payloads"
	rc=0
	ECOLO_DATABASE_URL=$(servers_url src) DATABASE_URL=$(servers_url dst) \
		"$prog" --departement 22 --no-progress >"$log" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		grep "ERROR" "$log" | head -n 20 | sed 's/^/  | /' >&2
		fail "round $r: the import exited $rc"
	fi
	while read -r i found exact; do
		read -r src dst _ <<<"${COLUMNS[i]}"
		[ "${found:-0}" -gt 0 ] || fail "round $r: $src: its text is nowhere in $dst"
		[ "$found" = "$exact" ] || {
			psql -X -q -d dst -v tag="$i#" \
				<<<"SELECT ${dst#*.} FROM ${dst%%.*} WHERE strpos(${dst#*.}, :'tag') > 0 LIMIT 3" >&2
			fail "round $r: $src -> $dst: $((found - exact)) of $found value(s) not byte for byte"
		}
		cases=$((cases + 1))
	done < <(psql -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 -d dst "${vars[@]}" <<<"$checks")
done
assert_eq "every column checked in every round" "$((${#PAYLOADS[@]} * ${#COLUMNS[@]}))" "$cases"
printf 'ok: %s payloads x %s columns: %s cases, every one byte for byte\n' \
	"${#PAYLOADS[@]}" "${#COLUMNS[@]}" "$cases"
