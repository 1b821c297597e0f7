-- tests/ecoloweb_fk_indexes.sql
--     Optional indexes on the foreign-key columns of the project's Ecoloweb
--     schema (tests/ecoloweb_ddl.sql). The published Ecoloweb DDL has none,
--     and a read-only replica cannot be given any: tests and benchmarks run
--     without them by default (tests/lib/common.sh loads this file only when
--     ECOLO_FK_INDEXES=1), so that every source query is checked to stay
--     linear on the real shape, and with them to check that nothing gets
--     slower when they exist.

CREATE INDEX ix_ecolo_typefinancement_famillefinancement
	ON ecolo.ecolo_typefinancement (famillefinancement_id);
CREATE INDEX ix_ecolo_departement_region ON ecolo.ecolo_departement (region_id);
CREATE INDEX ix_ecolo_commune_departement ON ecolo.ecolo_commune (departement_id);
CREATE INDEX ix_ecolo_codepostal_codeinsee ON ecolo.ecolo_codepostal (codeinsee, id);
CREATE INDEX ix_ecolo_entitegest_adresse ON ecolo.ecolo_entitegest (adresse_id);
CREATE INDEX ix_ecolo_bailleur_sousnaturebailleur ON ecolo.ecolo_bailleur (sousnaturebailleur_id);
CREATE INDEX ix_ecolo_bailleur_adresse ON ecolo.ecolo_bailleur (adresse_id);
CREATE INDEX ix_ecolo_bailleur_departement ON ecolo.ecolo_bailleur (departement_id);
CREATE INDEX ix_ecolo_contactbailleur_bailleur ON ecolo.ecolo_contactbailleur (bailleur_id);
CREATE INDEX ix_ecolo_contactbailleur_civilite ON ecolo.ecolo_contactbailleur (civilite_id);
CREATE INDEX ix_ecolo_conventionapl_entitecreatrice ON ecolo.ecolo_conventionapl (entitecreatrice_id);
CREATE INDEX ix_ecolo_conventionapl_entitemodification ON ecolo.ecolo_conventionapl (entitemodification_id);
CREATE INDEX ix_ecolo_conventionapl_conventioninstruite ON ecolo.ecolo_conventionapl (conventioninstruite_id);
CREATE INDEX ix_ecolo_avenant_conventionapl ON ecolo.ecolo_avenant (conventionapl_id);
CREATE INDEX ix_ecolo_avenant_entitegest ON ecolo.ecolo_avenant (entitegest_id);
CREATE INDEX ix_ecolo_cdg_conventionapl ON ecolo.ecolo_conventiondonneesgenerales (conventionapl_id);
CREATE INDEX ix_ecolo_cdg_avenant ON ecolo.ecolo_conventiondonneesgenerales (avenant_id);
CREATE INDEX ix_ecolo_cdg_etatconvention ON ecolo.ecolo_conventiondonneesgenerales (etatconvention_id);
CREATE INDEX ix_ecolo_cdg_naturelogement ON ecolo.ecolo_conventiondonneesgenerales (naturelogement_id);
CREATE INDEX ix_ecolo_programmelogement_cdg ON ecolo.ecolo_programmelogement (conventiondonneesgenerales_id);
CREATE INDEX ix_ecolo_programmelogement_commune ON ecolo.ecolo_programmelogement (commune_id);
CREATE INDEX ix_ecolo_programmelogement_typefinancement ON ecolo.ecolo_programmelogement (typefinancement_id);
CREATE INDEX ix_ecolo_programmelogement_natureoperation ON ecolo.ecolo_programmelogement (natureoperation_id);
CREATE INDEX ix_ecolo_programmelogement_bailleurproprietaire ON ecolo.ecolo_programmelogement (bailleurproprietaire_id);
CREATE INDEX ix_ecolo_programmelogement_bailleurgestionnaire ON ecolo.ecolo_programmelogement (bailleurgestionnaire_id);
CREATE INDEX ix_ecolo_programmeadresse_programmelogement ON ecolo.ecolo_programmeadresse (programmelogement_id);
CREATE INDEX ix_ecolo_logement_programmelogement ON ecolo.ecolo_logement (programmelogement_id);
CREATE INDEX ix_ecolo_logement_typelogement ON ecolo.ecolo_logement (typelogement_id);
CREATE INDEX ix_ecolo_annexe_programmelogement ON ecolo.ecolo_annexe (programmelogement_id);
CREATE INDEX ix_ecolo_annexe_typeannexe ON ecolo.ecolo_annexe (typeannexe_id);
CREATE INDEX ix_ecolo_infocadastrale_programmelogement ON ecolo.ecolo_infocadastrale (programmelogement_id);
CREATE INDEX ix_ecolo_infostypelogement_programmelogement ON ecolo.ecolo_infostypelogement (programmelogement_id);
CREATE INDEX ix_ecolo_infostypelogement_typelogement ON ecolo.ecolo_infostypelogement (typelogement_id);
CREATE INDEX ix_ecolo_piecejointe_conventionapl ON ecolo.ecolo_piecejointe (conventionapl_id);
CREATE INDEX ix_ecolo_piecejointe_typepiecejointe ON ecolo.ecolo_piecejointe (typepiecejointe_id);
CREATE INDEX ix_ecolo_evenement_conventionapl ON ecolo.ecolo_evenement (conventionapl_id);
CREATE INDEX ix_ecolo_evenement_typeevenement ON ecolo.ecolo_evenement (typeevenement_id);
CREATE INDEX ix_ecolo_indiceloyer_annee ON ecolo.ecolo_indiceloyer (annee_id);
CREATE INDEX ix_ecolo_indiceredevance_annee ON ecolo.ecolo_indiceredevance (annee_id);
CREATE INDEX ix_ecolo_indiceredevance_naturelogement ON ecolo.ecolo_indiceredevance (naturelogement_id);
