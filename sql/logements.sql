-- logements.sql: APiLos logements of the lots being imported (mapping.md
-- §2.5.6, decision B4). $1 lot key (history id), $2 programme_ids of the
-- lot's (CDG, financement). A logement goes to the first lot that reaches it.
-- The programme ids are unnested into rows so that the join on
-- l.programmelogement_id is a plain equality: hashed when that column has no
-- index (the published DDL has none), an index lookup when it has one.
WITH h AS (
	SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS h(id, programme_ids, ord)
),
-- A logement is reached through its programme only: the first lot that
-- reaches the programme gets all its logements, decided on the few programme
-- rows rather than on the many logement rows.
hp AS (
	SELECT DISTINCT ON (x.pl::bigint) h.id, h.ord, x.pl::bigint AS pl
	FROM h CROSS JOIN LATERAL unnest(string_to_array(h.programme_ids, ',')) AS x(pl)
	ORDER BY x.pl::bigint, h.ord
),
-- the programme's plafond, read once per programme, not once per logement
-- (MATERIALIZED: the planner would otherwise move that join after the one
-- with the logements, as it underestimates the programme rows)
hpp AS MATERIALIZED (
	SELECT hp.*, pl.montantplafondloyerindinitial AS plafond
	FROM hp
	JOIN ecolo.ecolo_programmelogement pl ON pl.id = hp.pl
),
src AS (
	SELECT hpp.id AS lot, hpp.ord, hpp.plafond, l.*, tlo.code AS tlo
	FROM hpp
	JOIN ecolo.ecolo_logement l ON l.programmelogement_id = hpp.pl
	JOIN ecolo.ecolo_valeurparamstatic tlo ON tlo.id = l.typelogement_id
),
m AS (
	SELECT src.*,
		round(surfacecorrigee::numeric, 2) AS s_corrigee,
		round(surfaceutile::numeric, 2) AS s_utile,
		round(surfacehabitable::numeric, 2) AS s_habitable,
		round(surfaceannexe::numeric, 2) AS s_annexe,
		round(coefficientmodulation::text::numeric, 4) AS coef,
		-- milliseconds within Python's years 1..9999: to_timestamp fails
		-- (the whole query) beyond PostgreSQL's own range
		CASE WHEN datecreation BETWEEN -62135596800000 AND 253402300799999
			THEN (to_timestamp(datecreation / 1000) AT TIME ZONE 'UTC') AT TIME ZONE 'Europe/Paris'
		END AS created
	FROM src
)
SELECT
	id::text AS _key,
	'ecolo_logement ' || id AS _ecolo,
	lot AS _lot_key,
	coalesce(numerobatiment || ' ' || noescalier || ' ' || etage || ' ' || numerologement, '')
		AS designation,
	CASE WHEN tlo IN ('ST1', 'T1') THEN 'T1' WHEN tlo IN ('T1B', 'T1P') THEN 'T1bis' ELSE tlo END
		AS typologie,
	s_corrigee AS surface_corrigee,
	s_utile AS surface_utile,
	s_habitable AS surface_habitable,
	s_annexe AS surface_annexes,
	s_annexe AS surface_annexes_retenue,
	coef AS coeficient,
	montantloyer AS loyer,
	plafond AS loyer_par_metre_carre,
	created AS _q_cree_le,
	created AS _q_mis_a_jour_le,
	CASE
		WHEN greatest(abs(s_corrigee), abs(s_utile), abs(s_habitable), abs(s_annexe)) >= 1e10
			THEN 'surface: value out of numeric(12,2) (corrigee ' || surfacecorrigee
			     || ', utile ' || surfaceutile || ', habitable ' || surfacehabitable
			     || ', annexe ' || surfaceannexe || ')'
		WHEN abs(coef) >= 1e8 THEN
			'coeficient: value ' || coefficientmodulation || ' does not fit numeric(12,4)'
		WHEN created IS NULL AND datecreation IS NOT NULL THEN
			'cree_le: datecreation ' || datecreation || ' ms is outside years 1..9999'
	END AS _error,
	NULL::text AS _warn,
	false AS _skip
FROM m
ORDER BY ord, id
