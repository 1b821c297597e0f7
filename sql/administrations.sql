-- administrations.sql: APiLos administrations from ecolo_entitegest
-- (mapping.md §2.5.5, decision B21). $1 = the conventionapl ids of the
-- programmes being created: their entité créatrice, in order of first use.
WITH ids AS (
	SELECT c.entitecreatrice_id AS id, min(x.ord) AS ord
	FROM unnest($1::bigint[]) WITH ORDINALITY AS x(capl, ord)
	JOIN ecolo.ecolo_conventionapl c ON c.id = x.capl
	GROUP BY c.entitecreatrice_id
)
SELECT
	eg.id::text AS _key,
	'ecolo_entitegest ' || eg.id AS _ecolo,
	coalesce(eg.nom || ' (' || eg.code || ')', eg.code) AS nom,
	eg.code,
	ega.ville AS ville_signature,
	ega.ligne1 || ' ' || ega.ligne2 || ' ' || ega.ligne3 || ' ' || ega.ligne4 AS adresse,
	ega.codepostal AS code_postal,
	ega.ville,
	3 AS nb_convention_exemplaires,
	'{département}/{zone}/{mois}/{année}/80.416/' AS prefix_convention,
	statement_timestamp() AS _q_cree_le,
	statement_timestamp() AS _q_mis_a_jour_le,
	NULL::text AS _error,
	CASE WHEN eg.nom IS NULL THEN 'nom is NULL: the code is used as name' END AS _warn,
	false AS _skip
FROM ids
JOIN ecolo.ecolo_entitegest eg ON eg.id = ids.id
LEFT JOIN ecolo.ecolo_entitegestadresse ega ON ega.id = eg.adresse_id
ORDER BY ids.ord
