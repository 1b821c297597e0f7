-- conventions.sql: one APiLos convention per history row (mapping.md §2.5.1).
-- $1..$9: the history rows to import, as parallel arrays (see history.sql):
-- id, capl, cdg, avenant_id, financement, numero, has_parent, programme_ids, pl1.
WITH h AS (
-- \include fragments/history_input.sql
),
-- the bailleurs gestionnaires of the rows, whose contacts are read
contact_bailleurs AS (
	SELECT pl.bailleurgestionnaire_id AS id
	FROM h JOIN ecolo.ecolo_programmelogement pl ON pl.id = h.pl1
),
-- \include fragments/bailleur_contacts.sql
src AS (
	SELECT h.*, c.noreglementaire, c.datedepot, c.datesaisie, c.datemodification,
		g.datehistoriquedebut, g.datehistoriquefin, g.datesignatureprefet AS g_signature,
		g.datesignatureentitegest, g.dateresiliationprefet, g.datepublication,
		g.referencepublication, g.daterefushypotheque, g.motifrefushypotheque,
		a.datesignatureprefet AS a_signature, etat.code AS etat, nl.code AS nature,
		nop.code AS nop, pl.reservationprefnombre,
		bg.raisonsociale || '( ' || coalesce(bg.codesiret, bg.codepersonne) || ')' AS gestionnaire,
		contacts.names AS contacts
	FROM h
	JOIN ecolo.ecolo_conventionapl c ON c.id = h.capl
	JOIN ecolo.ecolo_conventiondonneesgenerales g ON g.id = h.cdg
	LEFT JOIN ecolo.ecolo_avenant a ON a.id = h.avenant_id
	JOIN ecolo.ecolo_valeurparamstatic etat ON etat.id = g.etatconvention_id
	JOIN ecolo.ecolo_naturelogement nl ON nl.id = g.naturelogement_id
	JOIN ecolo.ecolo_programmelogement pl ON pl.id = h.pl1
	LEFT JOIN ecolo.ecolo_valeurparamstatic nop ON nop.id = pl.natureoperation_id
	LEFT JOIN ecolo.ecolo_bailleur bg ON bg.id = pl.bailleurgestionnaire_id
	LEFT JOIN contacts ON contacts.bailleur_id = bg.id
),
m AS (
	SELECT src.*,
		CASE WHEN numero > 0 THEN numero::text ELSE noreglementaire END AS numero_text,
		coalesce(a_signature, g_signature, datesignatureentitegest, datedepot,
		         datehistoriquedebut) AS valide,
		coalesce(nature = '2', false) AS agees,
		coalesce(nature = '3', false) AS handicapes,
		coalesce(nature IN ('2', '3', '4', '5', '7'), false) AS foyer,
		CASE WHEN nature = '7' THEN 'Non renseigné (Ecoloweb)' END AS inclusif,
		coalesce(nature <> '1' AND nop = '5', false) AS variante_2
	FROM src
)
SELECT
	id AS _key,
	'ecolo_conventionapl ' || capl || ', CDG ' || cdg AS _ecolo,
	CASE WHEN has_parent THEN capl || ':' || fin || ':0' END AS _parent_key,
	capl || ':' || numero AS _programme_key,
	numero_text AS numero,
	translate(numero_text, '/- .', '') AS numero_pour_recherche,
	datehistoriquefin AS date_fin_conventionnement,
	CASE
		WHEN etat IN ('ANS', 'ANI') THEN '8. Annulée en suivi'
		WHEN etat = 'DEN' THEN '7. Dénoncée'
		WHEN etat = 'RES' THEN '6. Résiliée'
		WHEN etat = 'INS' AND coalesce(a_signature, g_signature, datesignatureentitegest) IS NULL
			THEN '2. Instruction requise'
		ELSE '5. Signée'
	END AS statut,
	datedepot::timestamp AT TIME ZONE 'Europe/Paris' AS soumis_le,
	coalesce(datesaisie, datedepot, a_signature)::timestamp AT TIME ZONE 'Europe/Paris'
		AS premiere_soumission_le,
	valide AS valide_le,
	valide AS televersement_convention_signee_le,
	true AS type2_lgts_concernes_option1, true AS type2_lgts_concernes_option2,
	true AS type2_lgts_concernes_option3, true AS type2_lgts_concernes_option4,
	true AS type2_lgts_concernes_option5, true AS type2_lgts_concernes_option6,
	true AS type2_lgts_concernes_option7, true AS type2_lgts_concernes_option8,
	dateresiliationprefet AS date_resiliation,
	datepublication AS date_publication_spf,
	datepublication AS date_envoi_spf,
	referencepublication AS reference_spf,
	daterefushypotheque AS date_refus_spf,
	motifrefushypotheque AS motif_refus_spf,
	gestionnaire,
	left(contacts, 255) AS gestionnaire_signataire_nom,
	agees AS attribution_agees_autonomie, agees AS attribution_agees_autre,
	agees AS attribution_agees_desorientees, agees AS attribution_agees_ephad,
	agees AS attribution_agees_petite_unite,
	CASE WHEN agees THEN 'Non renseigné (Ecoloweb)' END AS attribution_agees_autre_detail,
	handicapes AS attribution_handicapes_autre, handicapes AS attribution_handicapes_foyer,
	handicapes AS attribution_handicapes_foyer_de_vie,
	handicapes AS attribution_handicapes_foyer_medicalise,
	CASE WHEN handicapes THEN 'Non renseigné (Ecoloweb)' END
		AS attribution_handicapes_autre_detail,
	inclusif AS attribution_inclusif_activites,
	inclusif AS attribution_inclusif_conditions_admission,
	inclusif AS attribution_inclusif_conditions_specifiques,
	inclusif AS attribution_inclusif_modalites_attribution,
	inclusif AS attribution_inclusif_partenariats,
	CASE WHEN foyer THEN 'Non renseigné (Ecoloweb)' END AS attribution_modalites_choix_personnes,
	CASE WHEN foyer THEN 'Non renseigné (Ecoloweb)' END AS attribution_modalites_reservations,
	CASE WHEN foyer THEN 'Non renseigné (Ecoloweb)' END AS attribution_prestations_facultatives,
	CASE WHEN foyer THEN 'Non renseigné (Ecoloweb)' END AS attribution_prestations_integrees,
	CASE WHEN foyer THEN reservationprefnombre END AS attribution_reservation_prefectorale,
	coalesce(nature <> '1' AND nop = '80', false) AS foyer_residence_variante_1,
	variante_2 AS foyer_residence_variante_2,
	CASE WHEN variante_2 THEN 'Non renseigné (Ecoloweb)' END AS foyer_residence_variante_2_travaux,
	coalesce(nature <> '1' AND nop = '1', false) AS foyer_residence_variante_3,
	coalesce(nature = '6', false) AS attribution_pension_de_famille,
	coalesce(nature = '6', false) AS attribution_residence_accueil,
	coalesce(nature IN ('4', '5', '6'), false) AS attribution_residence_sociale_ordinaire,
	false AS identification_bailleur,
	coalesce(datesaisie, datedepot, a_signature, g_signature, datehistoriquedebut)::timestamp
		AT TIME ZONE 'Europe/Paris' AS _q_cree_le,
	coalesce(datemodification, a_signature, g_signature, datesaisie, datehistoriquedebut)::timestamp
		AT TIME ZONE 'Europe/Paris' AS _q_mis_a_jour_le,
	NULL::text AS _error,
	CASE WHEN length(contacts) > 255
		THEN 'gestionnaire_signataire_nom cut to 255 characters (was ' || length(contacts) || ')'
	END AS _warn,
	false AS _skip
FROM m
ORDER BY ord
