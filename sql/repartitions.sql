-- repartitions.sql: répartitions de surface of the lots being imported
-- (mapping.md §2.5.8, decisions B10, C1). $1 lot key, $2 pl1 of the lot.
-- Rows mapping to one (typologie, type_habitat) are summed; a key goes to
-- the first lot that reaches it.
WITH h AS (
	SELECT * FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS h(id, pl1, ord)
),
first_lot AS (
	SELECT DISTINCT ON (pl1) id, pl1, ord FROM h ORDER BY pl1, ord
),
counts AS (
	SELECT f.id AS lot, f.ord, f.pl1,
		CASE WHEN tlo.code IN ('ST1', 'T1') THEN 'T1'
		     WHEN tlo.code IN ('T1B', 'T1P') THEN 'T1bis' ELSE tlo.code END AS typologie,
		x.type_habitat, x.n
	FROM first_lot f
	JOIN ecolo.ecolo_infostypelogement il ON il.programmelogement_id = f.pl1
	JOIN ecolo.ecolo_valeurparamstatic tlo ON tlo.id = il.typelogement_id
	CROSS JOIN LATERAL (VALUES ('INDIVIDUEL', il.nblogtind), ('COLLECTIF', il.nblogtcol))
		AS x(type_habitat, n)
	WHERE x.n > 0
),
sums AS (
	SELECT lot, ord, pl1, typologie, type_habitat, sum(n) AS quantite
	FROM counts
	GROUP BY lot, ord, pl1, typologie, type_habitat
)
SELECT
	pl1 || ':' || typologie || ':' || type_habitat AS _key,
	'ecolo_infostypelogement of ecolo_programmelogement ' || pl1 AS _ecolo,
	lot AS _lot_key,
	typologie,
	type_habitat,
	quantite,
	CASE WHEN quantite > 2147483647 THEN 'quantite: value ' || quantite || ' does not fit integer'
	END AS _error,
	NULL::text AS _warn,
	false AS _skip
FROM sums
ORDER BY ord, typologie, type_habitat
