-- piecesjointes.sql: every pièce jointe of the convention, copied for each
-- history row (mapping.md §2.5.10, decisions B18, B19, B31, C3).
-- $1 convention key (history id), $2 capl.
WITH h AS (
	SELECT * FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS h(id, capl, ord)
),
src AS (
	SELECT h.id AS conv, h.ord, pj.*, t.code AS tpj,
		substring(pj.fichier FROM '\.(\w+)$') AS ext
	FROM h
	JOIN ecolo.ecolo_piecejointe pj ON pj.conventionapl_id = h.capl
	JOIN ecolo.ecolo_valeurparamstatic t ON t.id = pj.typepiecejointe_id AND t.subtype = 'TPJ'
),
m AS (
	SELECT src.*, entitegest_id || '/' || conventionapl_id || '/' || id || '.' || ext AS name
	FROM src
)
SELECT
	conv || '-' || id AS _key,
	'ecolo_piecejointe ' || id AS _ecolo,
	conv AS _convention_key,
	CASE tpj
		WHEN '1' THEN 'CONVENTION'
		WHEN '2' THEN 'RECTIFICATION'
		WHEN '3' THEN 'ATTESTATION_PREFECTORALE'
		WHEN '4' THEN 'AVENANT'
		WHEN '5' THEN 'PHOTO'
		ELSE 'AUTRE'
	END AS type,
	name AS fichier,
	fichier AS nom_reel,
	description,
	date::timestamp AT TIME ZONE 'Europe/Paris' AS cree_le,
	NULL::text AS _error,
	CASE
		WHEN ext IS NULL THEN 'fichier ' || quote_nullable(fichier) || ' has no extension: dropped'
		WHEN length(name) > 50 THEN 'fichier name ' || name || ' is longer than 50: dropped'
		WHEN date IS NULL THEN 'date is NULL: cree_le set to the import time'
	END AS _warn,
	ext IS NULL OR length(name) > 50 AS _skip
FROM m
ORDER BY ord, id
