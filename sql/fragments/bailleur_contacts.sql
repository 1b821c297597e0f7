-- the contacts of each bailleur of contact_bailleurs(id), aggregated once
-- (ecolo_contactbailleur has no index on bailleur_id: an equality join,
-- never a scan per row)
contacts AS (
	SELECT ct.bailleur_id, string_agg(civ.libelle || ' ' || ct.prenom || ' ' || ct.nom, ', '
	                                  ORDER BY ct.id) AS names
	FROM ecolo.ecolo_contactbailleur ct
	JOIN ecolo.ecolo_valeurparamstatic civ ON civ.id = ct.civilite_id
	WHERE ct.bailleur_id IN (SELECT id FROM contact_bailleurs)
	GROUP BY ct.bailleur_id
),
