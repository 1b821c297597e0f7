-- programmes.sql: the APiLos programmes <capl>:<numero> (mapping.md §2.5.3).
-- $1 key, $2 capl, $3 numero, and the source history row hs (smallest
-- financement of that iteration): $4 financement, $5 cdg, $6 pl1,
-- $7 has_parent (hs has a root row).
WITH p AS (
	SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::text[], $5::bigint[],
	                     $6::bigint[], $7::bool[])
		WITH ORDINALITY AS p(key, capl, numero, fin, cdg, pl1, has_parent, ord)
),
-- the first address of each programme and the first postal code of each
-- commune, chosen once for all rows (equality joins: the foreign-key
-- columns of the source may have no index)
pa AS (
	SELECT DISTINCT ON (a.programmelogement_id) a.*
	FROM ecolo.ecolo_programmeadresse a
	WHERE a.programmelogement_id IN (SELECT pl1 FROM p)
	ORDER BY a.programmelogement_id, a.id
),
cp AS (
	SELECT DISTINCT ON (x.codeinsee) x.codeinsee, x.codepostal
	FROM ecolo.ecolo_codepostal x
	WHERE x.codeinsee IN (
		SELECT com.code
		FROM p
		JOIN ecolo.ecolo_programmelogement pl ON pl.id = p.pl1
		JOIN ecolo.ecolo_commune com ON com.id = pl.commune_id)
	ORDER BY x.codeinsee, x.id
),
src AS (
	SELECT p.*, pl.description, pl.financementreferencedossier, pl.financementdate,
		pl.datemiseservice, pl.datemisechantier, pl.surfaceutile, pl.surfacecorrigee,
		pl.bailleurproprietaire_id, c.entitecreatrice_id,
		coalesce(pl.logementsnombretotal, coalesce(pl.logementsnombreindtotal, 0)
		                                  + coalesce(pl.logementsnombrecoltotal, 0)) AS n,
		com.code AS commune, com.libelle AS commune_libelle, d.codeinsee AS dep,
		r.codeinsee AS region, nl.code AS nature, nop.libelle AS nop,
		g.datehistoriquedebut, pa.ligne1, pa.ligne2, pa.ligne3, pa.ligne4,
		pa.codepostal AS pa_codepostal, cp.codepostal AS cp_codepostal
	FROM p
	JOIN ecolo.ecolo_conventiondonneesgenerales g ON g.id = p.cdg
	JOIN ecolo.ecolo_naturelogement nl ON nl.id = g.naturelogement_id
	JOIN ecolo.ecolo_programmelogement pl ON pl.id = p.pl1
	JOIN ecolo.ecolo_conventionapl c ON c.id = p.capl
	JOIN ecolo.ecolo_commune com ON com.id = pl.commune_id
	JOIN ecolo.ecolo_departement d ON d.id = com.departement_id
	JOIN ecolo.ecolo_region r ON r.id = d.region_id
	LEFT JOIN ecolo.ecolo_valeurparamstatic nop ON nop.id = pl.natureoperation_id
	LEFT JOIN pa ON pa.programmelogement_id = pl.id
	LEFT JOIN cp ON cp.codeinsee = com.code
),
m AS (
	SELECT src.*,
		coalesce(CASE
			WHEN description <> '' THEN description
			WHEN ligne1 <> '' THEN ligne1 || ' - ' || n || ' - ' || fin
			WHEN ligne2 <> '' THEN ligne2 || ' - ' || n || ' - ' || fin
			WHEN ligne3 <> '' THEN ligne3 || ' - ' || n || ' - ' || fin
			ELSE commune_libelle || ' - ' || n || ' - ' || fin
		END, '') AS nom,
		coalesce(financementreferencedossier, '') AS numero_operation,
		round(surfaceutile::text::numeric, 2) AS surface_utile,
		round(surfacecorrigee::text::numeric, 2) AS surface_corrigee
	FROM src
)
SELECT
	key AS _key,
	'ecolo_programmelogement ' || pl1 AS _ecolo,
	CASE WHEN has_parent THEN capl || ':0' END AS _parent_key,
	bailleurproprietaire_id::text AS _bailleur_key,
	entitecreatrice_id::text AS _administration_key,
	nom,
	numero_operation,
	translate(numero_operation, '/- .', '') AS numero_operation_pour_recherche,
	false AS seconde_vie,
	coalesce(ligne1 || ' ' || ligne2 || ' ' || ligne3 || ' ' || ligne4, '') AS adresse,
	coalesce(cp_codepostal, pa_codepostal, commune, '') AS code_postal,
	coalesce(commune_libelle, '') AS ville,
	coalesce(commune, '') AS code_insee_commune,
	coalesce(dep, '') AS code_insee_departement,
	coalesce(region, '') AS code_insee_region,
	surface_utile AS surface_utile_totale,
	surface_corrigee AS surface_corrigee_totale,
	CASE nop
		WHEN 'Acquisition seule' THEN 'ACQUIS'
		WHEN 'Neuf ou construction' THEN 'NEUF'
		WHEN 'Acquisition/amélioration' THEN 'ACQUISAMELIORATION'
		WHEN 'Amélioration' THEN 'REHABILITATION'
		WHEN 'Parc existant' THEN 'USUFRUIT'
		ELSE 'SANSOBJET'
	END AS type_operation,
	CASE nature
		WHEN '1' THEN 'LOGEMENTSORDINAIRES'
		WHEN '6' THEN 'RESISDENCESOCIALE'
		ELSE 'AUTRE'
	END AS nature_logement,
	false AS anru, false AS anah,
	'' AS autres_locaux_hors_convention, '' AS vendeur, '' AS acquereur,
	'' AS reference_notaire, '' AS reference_publication_acte, '' AS acte_de_propriete,
	'' AS effet_relatif, '' AS certificat_adressage, '' AS reference_cadastrale,
	'' AS edd_volumetrique, '' AS mention_publication_edd_volumetrique,
	'' AS edd_classique, '' AS mention_publication_edd_classique,
	'' AS edd_stationnements, '' AS permis_construire,
	datemiseservice AS date_achevement_previsible,
	financementdate AS date_achat,
	datehistoriquedebut AS date_achevement,
	'' AS departement_residence_argement_gestionnaire_intermediation,
	'' AS ville_signature_residence_agrement_gestionnaire_intermediation,
	coalesce(datehistoriquedebut, datemiseservice) AS date_achevement_compile,
	coalesce(datemisechantier, datehistoriquedebut)::timestamp AT TIME ZONE 'Europe/Paris'
		AS _q_cree_le,
	coalesce(datemisechantier, datehistoriquedebut)::timestamp AT TIME ZONE 'Europe/Paris'
		AS _q_mis_a_jour_le,
	CASE
		WHEN abs(surface_utile) >= 1e8 THEN
			'surface_utile_totale: value ' || surfaceutile || ' does not fit numeric(10,2)'
		WHEN abs(surface_corrigee) >= 1e8 THEN
			'surface_corrigee_totale: value ' || surfacecorrigee || ' does not fit numeric(10,2)'
	END AS _error,
	NULL::text AS _warn,
	false AS _skip
FROM m
ORDER BY ord
