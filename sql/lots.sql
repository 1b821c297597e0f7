-- lots.sql: one APiLos lot per history row (mapping.md §2.5.2).
-- $1..$9: the history rows to import, as in conventions.sql.
WITH h AS (
-- \include fragments/history_input.sql
),
-- nb_logements sums the lot's programmes; annexes and parking come from the
-- annexes of its first programme. Both are computed once for all lots,
-- through equality joins (no per-lot subquery: ecolo_annexe has no index on
-- programmelogement_id).
hp AS (
	SELECT h.ord, x.pl::bigint AS pl
	FROM h CROSS JOIN LATERAL unnest(string_to_array(h.programme_ids, ',')) AS x(pl)
),
nb AS (
	SELECT hp.ord,
		sum(coalesce(p.logementsnombretotal,
		             coalesce(p.logementsnombreindtotal, 0)
		             + coalesce(p.logementsnombrecoltotal, 0))) AS nb_logements
	FROM hp
	JOIN ecolo.ecolo_programmelogement p ON p.id = hp.pl
	GROUP BY hp.ord
),
an AS (
	SELECT an.programmelogement_id AS pl1,
		array_agg(DISTINCT t.code) AS annexes,
		(array_agg(an.nombre ORDER BY an.id) FILTER (WHERE t.code = '2'))[1] AS parking
	FROM ecolo.ecolo_annexe an
	JOIN ecolo.ecolo_valeurparamstatic t ON t.id = an.typeannexe_id AND t.subtype = 'TAN'
	WHERE an.programmelogement_id IN (SELECT pl1 FROM h)
	GROUP BY an.programmelogement_id
),
src AS (
	SELECT h.*, nl.code AS nature, pl.estderogationloyer, pl.surfacehabitable,
		pl.montantplafondloyerindinitial AS plafond_ind,
		pl.montantplafondloyercolinitial AS plafond_col, pl.financementdate,
		coalesce(pl.logementsnombreindtotal, 0) AS ind,
		coalesce(pl.logementsnombrecoltotal, 0) AS col,
		nb.nb_logements, an.annexes, an.parking
	FROM h
	JOIN ecolo.ecolo_conventiondonneesgenerales g ON g.id = h.cdg
	JOIN ecolo.ecolo_naturelogement nl ON nl.id = g.naturelogement_id
	JOIN ecolo.ecolo_programmelogement pl ON pl.id = h.pl1
	LEFT JOIN nb ON nb.ord = h.ord
	LEFT JOIN an ON an.pl1 = h.pl1
),
m AS (
	SELECT src.*,
		CASE WHEN estderogationloyer THEN
			round(CASE WHEN ind > 0 THEN plafond_ind WHEN col > 0 THEN plafond_col END
			      ::text::numeric, 2)
		END AS derogatoire
	FROM src
)
SELECT
	id AS _key,
	'ecolo_programmelogement ' || pl1 AS _ecolo,
	CASE WHEN has_parent THEN capl || ':' || fin || ':0' END AS _parent_key,
	id AS _convention_key,
	fin AS financement,
	nb_logements,
	CASE WHEN ind > 0 AND col > 0 THEN 'MIXTE' WHEN ind > 0 THEN 'INDIVIDUEL' ELSE 'COLLECTIF' END
		AS type_habitat,
	'' AS edd_volumetrique, '' AS edd_classique,
	coalesce('7' = ANY (annexes), false) AS annexe_caves,
	false AS annexe_soussols,
	coalesce('8' = ANY (annexes), false) AS annexe_remises,
	false AS annexe_ateliers, false AS annexe_sechoirs, false AS annexe_celliers,
	false AS annexe_resserres, false AS annexe_combles, false AS annexe_balcons,
	false AS annexe_loggias,
	coalesce('5' = ANY (annexes), false) AS annexe_terrasses,
	0 AS lgts_mixite_sociale_negocies,
	derogatoire AS loyer_derogatoire,
	round(surfacehabitable::numeric, 2) AS surface_habitable_totale,
	0 AS surface_locaux_collectifs_residentiels,
	CASE WHEN nature <> '1' THEN parking END AS foyer_residence_nb_garage_parking,
	coalesce(financementdate::timestamp AT TIME ZONE 'Europe/Paris', statement_timestamp())
		AS _q_cree_le,
	coalesce(financementdate::timestamp AT TIME ZONE 'Europe/Paris', statement_timestamp())
		AS _q_mis_a_jour_le,
	CASE
		WHEN abs(derogatoire) >= 10000 THEN
			'loyer_derogatoire: value ' || derogatoire || ' does not fit numeric(6,2)'
		WHEN abs(round(surfacehabitable::numeric, 2)) >= 1e10 THEN
			'surface_habitable_totale: value ' || surfacehabitable || ' does not fit numeric(12,2)'
		WHEN nb_logements > 2147483647 THEN
			'nb_logements: value ' || nb_logements || ' does not fit integer'
	END AS _error,
	NULL::text AS _warn,
	false AS _skip
FROM m
ORDER BY ord
