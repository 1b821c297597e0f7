-- bailleurs.sql: APiLos bailleurs from ecolo_bailleur (mapping.md §2.5.4,
-- decisions B3, B20, C8). $1 = the pl1 of the programmes being created:
-- their owner bailleur, in order of first use.
WITH ids AS (
	SELECT pl.bailleurproprietaire_id AS id, min(x.ord) AS ord
	FROM unnest($1::bigint[]) WITH ORDINALITY AS x(pl1, ord)
	JOIN ecolo.ecolo_programmelogement pl ON pl.id = x.pl1
	GROUP BY pl.bailleurproprietaire_id
),
-- the bailleurs whose contacts are read
contact_bailleurs AS (SELECT id FROM ids),
-- \include fragments/bailleur_contacts.sql
src AS (
	SELECT ids.ord, b.id, b.raisonsociale, b.datemodif, snb.code AS snb,
		nullif(trim(b.codesiret), '') AS siret, nullif(trim(b.codesiren), '') AS siren,
		nullif(trim(b.codepersonne), '') AS personne,
		ab.ligne1 || ' ' || ab.ligne2 || ' ' || ab.ligne3 || ' ' || ab.ligne4 AS adresse,
		ab.codepostal, ab.ville, contacts.names AS contacts
	FROM ids
	JOIN ecolo.ecolo_bailleur b ON b.id = ids.id
	JOIN ecolo.ecolo_sousnaturebailleur snb ON snb.id = b.sousnaturebailleur_id
	LEFT JOIN ecolo.ecolo_adressebailleur ab ON ab.id = b.adresse_id
	LEFT JOIN contacts ON contacts.bailleur_id = b.id
),
codes AS (
	SELECT src.*,
		coalesce(CASE
			WHEN raisonsociale = 'ANAH' THEN 'XXXXXXXXXXXXXX'
			WHEN snb = '611' AND coalesce(personne, siret, siren) IS NOT NULL
				THEN coalesce(personne, siret, siren)
			WHEN coalesce(siret, siren, personne) IS NOT NULL
				THEN coalesce(siret, siren, personne)
			ELSE left(upper(regexp_replace(raisonsociale, '[^a-zA-Z0-9]+', '', 'g')), 14)
		END, '') AS siret_out,
		coalesce(siren, CASE WHEN siret ~ '^[0-9]{14}$' THEN left(siret, 9) END) AS siren_id,
		CASE
			WHEN raisonsociale = 'ANAH' THEN 'ANAH'
			WHEN snb IN ('110', '112', '130') THEN 'COOPERATIVE_HLM_SCIC'
			WHEN snb = '114' THEN 'OFFICE_PUBLIC_HLM'
			WHEN snb = '120' THEN 'SA_HLM_ESH'
			WHEN snb = '140' THEN 'SACI_CAP'
			WHEN snb = '210' THEN 'SEM_EPL'
			WHEN snb = '312' THEN 'COMMUNE'
			WHEN snb IN ('314', '325', '335') THEN 'ETC_PUBLIQUE_LOCAL'
			WHEN snb = '316' THEN 'ETS_HOSTIPATIERS_PRIVES'
			WHEN snb IN ('320', '333') THEN 'EPCI'
			WHEN snb = '321' THEN 'FONDATION_HLM'
			WHEN snb IN ('322', '323', '324', '327', '329') THEN 'ASSOCIATIONS'
			WHEN snb = '326' THEN 'COMMERCIALES'
			WHEN snb = '328' THEN 'FRONCIERE_LOGEMENT'
			WHEN snb = '330' THEN 'GIP'
			WHEN snb = '331' THEN 'FONDATION'
			WHEN snb = '332' THEN 'MUTUELLE'
			WHEN snb = '334' THEN 'DEPARTEMENT'
			WHEN snb = '336' THEN 'PACT_ARIM'
			WHEN snb = '337' THEN 'CROUS'
			WHEN snb = '338' THEN 'DRE_DDE_CETE_AC_PREF'
			WHEN snb = '611' THEN 'PARTICULIERS'
			ELSE 'NONRENSEIGNE'
		END AS sous_nature
	FROM src
)
SELECT
	id::text AS _key,
	'ecolo_bailleur ' || id AS _ecolo,
	coalesce(CASE WHEN raisonsociale = 'ANAH' THEN 'Personne(s) physique(s)' ELSE raisonsociale END,
	         '') AS nom,
	siret_out AS siret,
	-- the pre_save signal: an empty siren comes from the siret
	coalesce(siren_id, CASE WHEN siret_out ~ '^[0-9]{14}$' THEN left(siret_out, 9)
	                        ELSE siret_out END) AS siren,
	siren_id AS _identity_siren,
	left(contacts, 255) AS signataire_nom,
	CASE
		WHEN sous_nature IN ('COOPERATIVE_HLM_SCIC', 'OFFICE_PUBLIC_HLM', 'SA_HLM_ESH') THEN 'HLM'
		WHEN sous_nature = 'SEM_EPL' THEN 'SEM'
		WHEN sous_nature = 'PARTICULIERS' THEN 'Bailleurs privés'
		ELSE 'Autres bailleurs sociaux non HLM'
	END AS nature_bailleur,
	sous_nature AS sous_nature_bailleur,
	adresse,
	codepostal AS code_postal,
	ville,
	datemodif::timestamp AT TIME ZONE 'Europe/Paris' AS _q_cree_le,
	datemodif::timestamp AT TIME ZONE 'Europe/Paris' AS _q_mis_a_jour_le,
	NULL::text AS _error,
	CASE WHEN length(contacts) > 255
		THEN 'signataire_nom cut to 255 characters (was ' || length(contacts) || ')'
	END AS _warn,
	false AS _skip
FROM codes
ORDER BY ord
