-- cadastres.sql: références cadastrales of the programmes being created
-- (mapping.md §2.5.9, decisions B5, C2). $1 programme key, $2 pl1, $3 cdg.
-- An ecolo_infocadastrale row goes to the first programme that reaches it.
WITH p AS (
	SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
		WITH ORDINALITY AS p(key, pl1, cdg, ord)
),
src AS (
	SELECT DISTINCT ON (ic.id) p.key, p.ord, ic.id, ic.section, ic.parcelle, ic.superficie,
		pl.description, g.datehistoriquedebut, pl.datemisechantier,
		substring(ic.parcelle FROM '[0-9]+') AS digits
	FROM p
	JOIN ecolo.ecolo_infocadastrale ic ON ic.programmelogement_id = p.pl1
	JOIN ecolo.ecolo_programmelogement pl ON pl.id = p.pl1
	JOIN ecolo.ecolo_conventiondonneesgenerales g ON g.id = p.cdg
	ORDER BY ic.id, p.ord
)
SELECT
	id::text AS _key,
	'ecolo_infocadastrale ' || id AS _ecolo,
	key AS _programme_key,
	coalesce(section, '') AS section,
	coalesce(nullif(ltrim(digits, '0'), ''), '0') AS numero,
	coalesce(description, '') AS lieudit,
	superficie AS surface,
	'' AS autre,
	coalesce(datemisechantier, datehistoriquedebut)::timestamp AT TIME ZONE 'Europe/Paris'
		AS _q_cree_le,
	coalesce(datemisechantier, datehistoriquedebut)::timestamp AT TIME ZONE 'Europe/Paris'
		AS _q_mis_a_jour_le,
	NULL::text AS _error,
	CASE WHEN digits IS NULL THEN 'parcelle ' || quote_nullable(parcelle) || ' has no digit' END
		AS _warn,
	digits IS NULL AS _skip
FROM src
ORDER BY ord, id
