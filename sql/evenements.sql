-- evenements.sql: évènements of the conventions (mapping.md §2.5.11,
-- decisions B17, B25, B32, C4), attached to the first root history row of
-- each conventionapl. $1 convention key (history id, numero 0), $2 capl.
WITH h AS (
	SELECT * FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS h(id, capl, ord)
),
first_root AS (
	SELECT DISTINCT ON (capl) id, capl, ord FROM h ORDER BY capl, ord
),
src AS (
	SELECT r.id AS conv, r.ord, e.*,
		CASE t.code
			WHEN '1' THEN 'DEPOT_BAILLEUR' WHEN '2' THEN 'MODIFICATION'
			WHEN '3' THEN 'ECHANGE' WHEN '4' THEN 'ENVOI_PREFET'
			WHEN '5' THEN 'RETOUR_PREFET' WHEN '6' THEN 'ENVOI_HYPOTHEQUE'
			WHEN '7' THEN 'RETOUR_HYPOTHEQUE' WHEN '8' THEN 'ENVOI_RECTIFICATIF_PREFET'
			WHEN '9' THEN 'RETOUR_RECTIFICATIF_PREFET' WHEN '10' THEN 'PUBLICATION_HYPOTHEQUE'
			WHEN '11' THEN 'ENVOI_CAF' WHEN '12' THEN 'DEPOT_AVENANT'
			WHEN '13' THEN 'INSTRUCTION_AVENANT' WHEN '14' THEN 'CORRECTION_AVENANT'
			WHEN '15' THEN 'ENVOI_AVENANT_PREFET' WHEN '16' THEN 'SIGNATURE_AVENANT_PREFET'
			WHEN '17' THEN 'ENVOI_AVENANT_HYPOTHEQUE' WHEN '18' THEN 'RETOUR_AVENANT_HYPOTHEQUE'
			WHEN '19' THEN 'ENVOI_RECTIFICATIF_AVENANT_PREFET'
			WHEN '20' THEN 'RETOUR_RECTIFICATIF_AVENANT_PREFET'
			WHEN '21' THEN 'PUBLICATION_AVENANT_HYPOTHEQUE'
			WHEN '25' THEN 'EXPIRATION_CONVENTION' WHEN '26' THEN 'ENVOI_FIN_DENONCIATION'
			WHEN '36' THEN 'AUTRE'
		END AS type_evenement,
		t.code AS type_code
	FROM first_root r
	JOIN ecolo.ecolo_evenement e ON e.conventionapl_id = r.capl
	JOIN ecolo.ecolo_valeurparamstatic t ON t.id = e.typeevenement_id
	WHERE t.estgeneresysteme = false
)
SELECT
	id::text AS _key,
	'ecolo_evenement ' || id AS _ecolo,
	conv AS _convention_key,
	type_evenement,
	coalesce(date, (now() AT TIME ZONE 'Europe/Paris')::date) AS survenu_le,
	description,
	'' AS pieces_jointes,
	NULL::text AS _error,
	CASE WHEN type_evenement IS NULL
		THEN 'type code ' || quote_nullable(type_code) || ' is not an APiLos type: skipped'
	END AS _warn,
	type_evenement IS NULL AS _skip
FROM src
ORDER BY ord, id
