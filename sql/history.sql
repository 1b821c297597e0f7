-- history.sql: the convention history H of one département (mapping.md §1),
-- computed read-only. $1 = département INSEE code ('33', '2A', '971').
-- One row per (conventionapl, financement, numero), ordered as imported,
-- and one per (CDG, financement) pair left out, its reason in excluded.
WITH
-- conventions that may belong to $1: one of their CDGs has a programme there
capl_d AS (
	SELECT DISTINCT coalesce(a.conventionapl_id, g.conventionapl_id) AS capl
	FROM ecolo.ecolo_departement d
	JOIN ecolo.ecolo_commune com ON com.departement_id = d.id
	JOIN ecolo.ecolo_programmelogement pl ON pl.commune_id = com.id
	JOIN ecolo.ecolo_conventiondonneesgenerales g ON g.id = pl.conventiondonneesgenerales_id
	LEFT JOIN ecolo.ecolo_avenant a ON a.id = g.avenant_id
	WHERE d.codeinsee = $1
),
-- A1: the latest non-ANI non-avenant iteration is the root (numero 0)
root AS (
	SELECT DISTINCT ON (g.conventionapl_id)
		g.conventionapl_id AS capl, g.id AS cdg, NULL::bigint AS avenant_id, 0 AS numero,
		1 AS n_cdg
	FROM ecolo.ecolo_conventiondonneesgenerales g
	JOIN ecolo.ecolo_valeurparamstatic e ON e.id = g.etatconvention_id
	WHERE g.avenant_id IS NULL AND e.code <> 'ANI'
	  AND g.conventionapl_id IN (SELECT capl FROM capl_d)
	ORDER BY g.conventionapl_id, g.datehistoriquedebut DESC
),
-- A2: every avenant numbered > 0, with its latest CDG (B33 when several);
-- the CDGs of all avenants are grouped once (no per-avenant subquery: the
-- source has no index on avenant_id)
aven_d AS (
	SELECT a.id, a.conventionapl_id, a.numero
	FROM ecolo.ecolo_avenant a
	WHERE a.numero > 0 AND a.conventionapl_id IN (SELECT capl FROM capl_d)
),
aven_cdg AS (
	SELECT g.avenant_id, count(*) AS n_cdg,
		(array_agg(g.id ORDER BY g.datehistoriquedebut DESC, g.id DESC))[1] AS cdg
	FROM ecolo.ecolo_conventiondonneesgenerales g
	WHERE g.avenant_id IN (SELECT id FROM aven_d)
	GROUP BY g.avenant_id
),
aven AS (
	SELECT a.conventionapl_id AS capl, ac.cdg, a.id AS avenant_id, a.numero,
		coalesce(ac.n_cdg, 0) AS n_cdg
	FROM aven_d a
	LEFT JOIN aven_cdg ac ON ac.avenant_id = a.id
),
-- A3: an iteration without CDG takes the CDG of the convention's first iteration
iter AS (
	SELECT i.capl, i.avenant_id, i.numero, i.n_cdg,
		coalesce(i.cdg, first_value(i.cdg) OVER (
			PARTITION BY i.capl ORDER BY i.numero, i.avenant_id NULLS FIRST)) AS cdg
	FROM (SELECT * FROM root UNION ALL SELECT * FROM aven) i
),
-- 1.2: financement of each programme-logement row of those CDGs
fin_pl AS (
	SELECT pl.id, pl.conventiondonneesgenerales_id AS cdg, pl.bailleurproprietaire_id AS owner,
		com.code AS commune, d.codeinsee AS departement,
		CASE WHEN tf.code IN ('18', '22', '93') THEN 'SANS_FINANCEMENT' ELSE ff.code END AS fin
	FROM ecolo.ecolo_programmelogement pl
	JOIN ecolo.ecolo_typefinancement tf ON tf.id = pl.typefinancement_id
	JOIN ecolo.ecolo_famillefinancement ff ON ff.id = tf.famillefinancement_id
	JOIN ecolo.ecolo_commune com ON com.id = pl.commune_id
	JOIN ecolo.ecolo_departement d ON d.id = com.departement_id
	WHERE pl.conventiondonneesgenerales_id IN (SELECT cdg FROM iter)
),
-- B/C: one pair per (CDG, financement); valid when one commune and one owner
pair AS (
	SELECT cdg, fin,
		array_agg(id ORDER BY id) AS programme_ids, min(id) AS pl1,
		min(departement) AS departement,
		count(DISTINCT commune) AS n_communes, count(DISTINCT owner) AS n_owners
	FROM fin_pl
	GROUP BY cdg, fin
),
cand AS (
	SELECT i.capl, i.cdg, i.avenant_id, i.numero, i.n_cdg, p.fin, p.programme_ids, p.pl1,
		p.departement
	FROM iter i
	JOIN pair p ON p.cdg = i.cdg
	WHERE p.n_communes = 1 AND p.n_owners = 1
),
-- 1.6 (B15): one département per convention, that of its row with the
-- smallest financement and greatest numero; an avenant row has a parent when
-- its (convention, financement) has a root. Window functions over cand, not
-- joins of cand with itself: one sort, whatever the planner estimates.
ranked AS (
	SELECT c.*,
		first_value(c.departement) OVER (
			PARTITION BY c.capl ORDER BY c.fin COLLATE "C", c.numero DESC) AS conv_departement,
		bool_or(c.numero = 0) OVER (PARTITION BY c.capl, c.fin) AS has_root
	FROM cand c
)
SELECT * FROM (
SELECT c.capl || ':' || c.fin || ':' || c.numero AS id,
	c.cdg, c.capl, c.avenant_id, c.fin, c.numero,
	c.numero > 0 AND c.has_root AS has_parent,
	array_to_string(c.programme_ids, ',') AS programme_ids,
	c.pl1, c.n_cdg, NULL::text AS excluded
FROM ranked c
WHERE c.conv_departement = $1
UNION ALL
-- 1.8: the pairs left out (several communes or owner bailleurs), one row
-- each for the report, in the département of their first programme
SELECT DISTINCT i.capl || ':' || p.fin, p.cdg, i.capl, NULL::bigint, p.fin, NULL::integer, false,
	NULL::text, NULL::bigint, 0,
	'its programmes span ' || p.n_communes || ' commune(s) and ' || p.n_owners
		|| ' owner bailleur(s)'
FROM iter i
JOIN pair p ON p.cdg = i.cdg
WHERE (p.n_communes > 1 OR p.n_owners > 1) AND p.departement = $1
) h
ORDER BY h.capl, h.fin COLLATE "C", h.numero
