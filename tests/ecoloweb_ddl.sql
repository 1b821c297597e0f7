CREATE SCHEMA IF NOT EXISTS ecolo;

-- tests/ecoloweb_ddl.sql
--     The project's own definition of the Ecoloweb schema `ecolo`, for test
--     and benchmark databases filled by tools/ecoloweb_gen.
--
-- Written from the facts of doc mapping.md section 6 (tables, columns and
-- types the importer reads, inferred tables of 6.2): every table and column
-- that import_ecoloweb_data or ecoloweb_import_loyers_indices reads exists
-- here with the same type as in a real Ecoloweb database, so the importer's
-- queries run unchanged on both. Columns nobody reads are mostly left out;
-- a few are kept (ordre, version, libelle...) where they carry a real
-- constraint or make rows readable.
--
-- Load with `psql -v ON_ERROR_STOP=1 -f tests/ecoloweb_ddl.sql` into an
-- empty database. There is no DROP on purpose: run by mistake against a real
-- Ecoloweb database, this file fails on the first CREATE TABLE and changes
-- nothing.
--
-- Keys: every table has a bigint primary key `id`. Foreign keys are those of
-- Ecoloweb; the circular one (ecolo_conventionapl.conventioninstruite_id ->
-- ecolo_conventiondonneesgenerales) is added at the end, DEFERRABLE INITIALLY
-- DEFERRED so that one transaction can fill both tables in any order.
-- Like the published Ecoloweb DDL, no foreign-key column has an index (a
-- foreign key alone creates none in PostgreSQL): only primary keys and the
-- unique constraints do. tests/ecoloweb_fk_indexes.sql adds the 40 indexes
-- on foreign-key columns, for the runs that check nothing gets slower with
-- them (ECOLO_FK_INDEXES=1).

-- ---------------------------------------------------------------------------
-- Reference data
-- ---------------------------------------------------------------------------

-- Valeurs paramétrées: one table for many small code lists, told apart by
-- subtype (ECO état, TPJ type de pièce jointe, TAN type d'annexe, TLO type de
-- logement, NOP nature d'opération, civilités, types d'évènement, années...).
CREATE TABLE ecolo.ecolo_valeurparamstatic
(
	id               bigint            NOT NULL
		CONSTRAINT pk_ecolo_valeurparamstatic PRIMARY KEY,
	subtype          varchar(3)        NOT NULL,
	estgeneresysteme boolean,
	code             varchar(12)       NOT NULL,
	ordre            integer,
	libelle          varchar(250),
	version          integer DEFAULT 0 NOT NULL,
	CONSTRAINT uk_ecolo_valeurparamstatic UNIQUE (code, subtype)
);

CREATE TABLE ecolo.ecolo_naturelogement
(
	id      bigint            NOT NULL
		CONSTRAINT pk_ecolo_naturelogement PRIMARY KEY,
	code    varchar(12)       NOT NULL
		CONSTRAINT uk_ecolo_naturelogement UNIQUE,
	ordre   integer,
	libelle varchar(250),
	version integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_famillefinancement
(
	id      bigint            NOT NULL
		CONSTRAINT pk_ecolo_famillefinancement PRIMARY KEY,
	code    varchar(12)       NOT NULL
		CONSTRAINT uk_ecolo_famillefinancement UNIQUE,
	ordre   integer,
	libelle varchar(250),
	version integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_typefinancement
(
	id                    bigint            NOT NULL
		CONSTRAINT pk_ecolo_typefinancement PRIMARY KEY,
	code                  varchar(12)       NOT NULL
		CONSTRAINT uk_ecolo_typefinancement UNIQUE,
	ordre                 integer,
	libelle               varchar(250),
	famillefinancement_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_typefinancement_famillefinancement
			REFERENCES ecolo.ecolo_famillefinancement,
	version               integer DEFAULT 0 NOT NULL
);

-- Régions keep their pre-2016 INSEE codes (72 Aquitaine, 94 Corse...).
CREATE TABLE ecolo.ecolo_region
(
	id        bigint            NOT NULL
		CONSTRAINT pk_ecolo_region PRIMARY KEY,
	codeinsee varchar(2)        NOT NULL
		CONSTRAINT uk_ecolo_region UNIQUE,
	libelle   varchar(30),
	version   integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_departement
(
	id        bigint            NOT NULL
		CONSTRAINT pk_ecolo_departement PRIMARY KEY,
	codeinsee varchar(3)        NOT NULL
		CONSTRAINT uk_ecolo_departement UNIQUE,
	libelle   varchar(40),
	region_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_departement_region REFERENCES ecolo.ecolo_region,
	version   integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_commune
(
	id             bigint            NOT NULL
		CONSTRAINT pk_ecolo_commune PRIMARY KEY,
	code           varchar(5)        NOT NULL
		CONSTRAINT uk_ecolo_commune UNIQUE,
	libelle        varchar(50),
	departement_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_commune_departement
			REFERENCES ecolo.ecolo_departement,
	version        integer DEFAULT 0 NOT NULL
);

-- Postal codes by commune INSEE code: no foreign key (joined on the text
-- code), a commune may have none or several (the lowest id is used).
CREATE TABLE ecolo.ecolo_codepostal
(
	id         bigint      NOT NULL
		CONSTRAINT pk_ecolo_codepostal PRIMARY KEY,
	codeinsee  varchar(5)  NOT NULL,
	codepostal varchar(5)  NOT NULL,
	libelle    varchar(50)
);

-- ---------------------------------------------------------------------------
-- Administrations (entités gestionnaires) and bailleurs
-- ---------------------------------------------------------------------------

CREATE TABLE ecolo.ecolo_entitegestadresse
(
	id         bigint            NOT NULL
		CONSTRAINT pk_ecolo_entitegestadresse PRIMARY KEY,
	ligne1     varchar(38),
	ligne2     varchar(38),
	ligne3     varchar(38),
	ligne4     varchar(38),
	codepostal varchar(5),
	ville      varchar(32),
	version    integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_entitegest
(
	id         bigint            NOT NULL
		CONSTRAINT pk_ecolo_entitegest PRIMARY KEY,
	code       varchar(15)       NOT NULL
		CONSTRAINT uk_ecolo_entitegest UNIQUE,
	nom        varchar(38),
	adresse_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_entitegest_adresse
			REFERENCES ecolo.ecolo_entitegestadresse,
	version    integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_sousnaturebailleur
(
	id      bigint            NOT NULL
		CONSTRAINT pk_ecolo_sousnaturebailleur PRIMARY KEY,
	code    varchar(12)       NOT NULL
		CONSTRAINT uk_ecolo_sousnaturebailleur UNIQUE,
	ordre   integer,
	libelle varchar(250),
	version integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_adressebailleur
(
	id         bigint            NOT NULL
		CONSTRAINT pk_ecolo_adressebailleur PRIMARY KEY,
	ligne1     varchar(38),
	ligne2     varchar(38),
	ligne3     varchar(38),
	ligne4     varchar(38),
	codepostal varchar(5),
	ville      varchar(32),
	version    integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_bailleur
(
	id                    bigint            NOT NULL
		CONSTRAINT pk_ecolo_bailleur PRIMARY KEY,
	codesiren             varchar(9),
	codesiret             varchar(14),
	codepersonne          varchar(10),
	raisonsociale         varchar(50),
	datemodif             date,
	sousnaturebailleur_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_bailleur_sousnaturebailleur
			REFERENCES ecolo.ecolo_sousnaturebailleur,
	adresse_id            bigint
		CONSTRAINT fk_ecolo_bailleur_adresse
			REFERENCES ecolo.ecolo_adressebailleur,
	departement_id        bigint            NOT NULL
		CONSTRAINT fk_ecolo_bailleur_departement
			REFERENCES ecolo.ecolo_departement,
	version               integer DEFAULT 0 NOT NULL,
	CONSTRAINT uk_ecolo_bailleur UNIQUE (codesiren, codesiret, codepersonne)
);

CREATE TABLE ecolo.ecolo_contactbailleur
(
	id          bigint            NOT NULL
		CONSTRAINT pk_ecolo_contactbailleur PRIMARY KEY,
	nom         varchar(100),
	prenom      varchar(50),
	bailleur_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_contactbailleur_bailleur
			REFERENCES ecolo.ecolo_bailleur,
	civilite_id bigint
		CONSTRAINT fk_ecolo_contactbailleur_civilite
			REFERENCES ecolo.ecolo_valeurparamstatic,
	version     integer DEFAULT 0 NOT NULL
);

-- ---------------------------------------------------------------------------
-- Conventions, avenants, iterations (CDG)
-- ---------------------------------------------------------------------------

CREATE TABLE ecolo.ecolo_conventionapl
(
	id                     bigint            NOT NULL
		CONSTRAINT pk_ecolo_conventionapl PRIMARY KEY,
	noreglementaire        varchar(50),
	noordre                varchar(10),
	libelle                varchar(50),
	datedepot              date,
	datesaisie             date,
	datemodification       date,
	conventioninstruite_id bigint,
	entitecreatrice_id     bigint            NOT NULL
		CONSTRAINT fk_ecolo_conventionapl_entitecreatrice
			REFERENCES ecolo.ecolo_entitegest,
	entitemodification_id  bigint
		CONSTRAINT fk_ecolo_conventionapl_entitemodification
			REFERENCES ecolo.ecolo_entitegest,
	version                integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_avenant
(
	id                  bigint            NOT NULL
		CONSTRAINT pk_ecolo_avenant PRIMARY KEY,
	numero              integer           NOT NULL,
	datedepot           date,
	datesignatureprefet date,
	description         varchar(250),
	conventionapl_id    bigint            NOT NULL
		CONSTRAINT fk_ecolo_avenant_conventionapl
			REFERENCES ecolo.ecolo_conventionapl,
	entitegest_id       bigint            NOT NULL
		CONSTRAINT fk_ecolo_avenant_entitegest
			REFERENCES ecolo.ecolo_entitegest,
	version             integer DEFAULT 0 NOT NULL,
	CONSTRAINT uk_ecolo_avenant UNIQUE (numero, conventionapl_id)
);

-- One row per iteration of a convention (initial period, renewals, avenants).
CREATE TABLE ecolo.ecolo_conventiondonneesgenerales
(
	id                      bigint               NOT NULL
		CONSTRAINT pk_ecolo_conventiondonneesgenerales PRIMARY KEY,
	datehistoriquedebut     date                 NOT NULL,
	datehistoriquefin       date,
	datesignatureentitegest date,
	datesignatureprefet     date,
	dateresiliationprefet   date,
	datepublication         date,
	referencepublication    varchar(50),
	conventionapl_id        bigint               NOT NULL
		CONSTRAINT fk_ecolo_conventiondonneesgenerales_conventionapl
			REFERENCES ecolo.ecolo_conventionapl,
	etatconvention_id       bigint               NOT NULL
		CONSTRAINT fk_ecolo_conventiondonneesgenerales_etatconvention
			REFERENCES ecolo.ecolo_valeurparamstatic,
	naturelogement_id       bigint               NOT NULL
		CONSTRAINT fk_ecolo_conventiondonneesgenerales_naturelogement
			REFERENCES ecolo.ecolo_naturelogement,
	avenant_id              bigint
		CONSTRAINT fk_ecolo_conventiondonneesgenerales_avenant
			REFERENCES ecolo.ecolo_avenant,
	estcourante             boolean DEFAULT true NOT NULL,
	version                 integer DEFAULT 0    NOT NULL,
	daterefushypotheque     date,
	motifrefushypotheque    varchar(1000),
	CONSTRAINT uk_ecolo_conventiondonneesgenerales
		UNIQUE (datehistoriquedebut, conventionapl_id)
);

-- ---------------------------------------------------------------------------
-- Programmes (one row per CDG and financement line) and their children
-- ---------------------------------------------------------------------------

CREATE TABLE ecolo.ecolo_programmelogement
(
	id                            bigint            NOT NULL
		CONSTRAINT pk_ecolo_programmelogement PRIMARY KEY,
	description                   varchar(50),
	ordre                         integer           NOT NULL,
	datemiseservice               date,
	surfacehabitable              real,
	surfacecorrigee               real,
	surfaceutile                  real,
	logementsnombretotal          integer,
	logementsnombreindtotal       integer,
	logementsnombrecoltotal       integer,
	reservationprefnombre         integer,
	estderogationloyer            boolean,
	financementdate               date,
	financementreferencedossier   varchar(20),
	montantplafondloyerindinitial double precision,
	montantplafondloyercolinitial double precision,
	datemisechantier              date,
	conventiondonneesgenerales_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_programmelogement_conventiondonneesgenerales
			REFERENCES ecolo.ecolo_conventiondonneesgenerales,
	typefinancement_id            bigint            NOT NULL
		CONSTRAINT fk_ecolo_programmelogement_typefinancement
			REFERENCES ecolo.ecolo_typefinancement,
	natureoperation_id            bigint
		CONSTRAINT fk_ecolo_programmelogement_natureoperation
			REFERENCES ecolo.ecolo_valeurparamstatic,
	commune_id                    bigint            NOT NULL
		CONSTRAINT fk_ecolo_programmelogement_commune
			REFERENCES ecolo.ecolo_commune,
	bailleurgestionnaire_id       bigint
		CONSTRAINT fk_ecolo_programmelogement_bailleurgestionnaire
			REFERENCES ecolo.ecolo_bailleur,
	bailleurproprietaire_id       bigint            NOT NULL
		CONSTRAINT fk_ecolo_programmelogement_bailleurproprietaire
			REFERENCES ecolo.ecolo_bailleur,
	version                       integer DEFAULT 0 NOT NULL,
	CONSTRAINT uk_ecolo_programmelogement UNIQUE (ordre, conventiondonneesgenerales_id)
);

CREATE TABLE ecolo.ecolo_programmeadresse
(
	id                   bigint            NOT NULL
		CONSTRAINT pk_ecolo_programmeadresse PRIMARY KEY,
	ligne1               varchar(38),
	ligne2               varchar(38),
	ligne3               varchar(38),
	ligne4               varchar(38),
	codepostal           varchar(5),
	ville                varchar(32),
	datecreation         bigint  DEFAULT 0 NOT NULL,
	programmelogement_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_programmeadresse_programmelogement
			REFERENCES ecolo.ecolo_programmelogement,
	version              integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_logement
(
	id                    bigint            NOT NULL
		CONSTRAINT pk_ecolo_logement PRIMARY KEY,
	numerobatiment        varchar(5),
	noescalier            varchar(5),
	etage                 varchar(5),
	numerologement        varchar(5),
	surfacehabitable      real,
	surfaceannexe         real,
	surfaceutile          real,
	surfacecorrigee       real,
	coefficientmodulation real,
	montantloyer          real,
	programmelogement_id  bigint            NOT NULL
		CONSTRAINT fk_ecolo_logement_programmelogement
			REFERENCES ecolo.ecolo_programmelogement,
	typelogement_id       bigint            NOT NULL
		CONSTRAINT fk_ecolo_logement_typelogement
			REFERENCES ecolo.ecolo_valeurparamstatic,
	datecreation          bigint  DEFAULT 0 NOT NULL,
	version               integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_annexe
(
	id                   bigint            NOT NULL
		CONSTRAINT pk_ecolo_annexe PRIMARY KEY,
	nombre               integer,
	montantloyerinitial  real,
	typeannexe_id        bigint            NOT NULL
		CONSTRAINT fk_ecolo_annexe_typeannexe
			REFERENCES ecolo.ecolo_valeurparamstatic,
	programmelogement_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_annexe_programmelogement
			REFERENCES ecolo.ecolo_programmelogement,
	datecreation         bigint  DEFAULT 0 NOT NULL,
	version              integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_infocadastrale
(
	id                   bigint            NOT NULL
		CONSTRAINT pk_ecolo_infocadastrale PRIMARY KEY,
	section              varchar(2)        NOT NULL,
	parcelle             varchar(10)       NOT NULL,
	superficie           double precision,
	programmelogement_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_infocadastrale_programmelogement
			REFERENCES ecolo.ecolo_programmelogement,
	version              integer DEFAULT 0 NOT NULL,
	CONSTRAINT uk_ecolo_infocadastrale UNIQUE (section, parcelle, programmelogement_id)
);

CREATE TABLE ecolo.ecolo_infostypelogement
(
	id                   bigint            NOT NULL
		CONSTRAINT pk_ecolo_infostypelogement PRIMARY KEY,
	nblogtind            integer,
	nblogtcol            integer,
	programmelogement_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_infostypelogement_programmelogement
			REFERENCES ecolo.ecolo_programmelogement,
	typelogement_id      bigint            NOT NULL
		CONSTRAINT fk_ecolo_infostypelogement_typelogement
			REFERENCES ecolo.ecolo_valeurparamstatic,
	version              integer DEFAULT 0 NOT NULL
);

-- ---------------------------------------------------------------------------
-- Pièces jointes and évènements of a convention
-- ---------------------------------------------------------------------------

CREATE TABLE ecolo.ecolo_piecejointe
(
	id                 bigint            NOT NULL
		CONSTRAINT pk_ecolo_piecejointe PRIMARY KEY,
	fichier            varchar(50),
	description        varchar(1000),
	date               date,
	conventionapl_id   bigint            NOT NULL
		CONSTRAINT fk_ecolo_piecejointe_conventionapl
			REFERENCES ecolo.ecolo_conventionapl,
	typepiecejointe_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_piecejointe_typepiecejointe
			REFERENCES ecolo.ecolo_valeurparamstatic,
	entitegest_id      bigint            NOT NULL
		CONSTRAINT fk_ecolo_piecejointe_entitegest
			REFERENCES ecolo.ecolo_entitegest,
	version            integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_evenement
(
	id               bigint            NOT NULL
		CONSTRAINT pk_ecolo_evenement PRIMARY KEY,
	date             date,
	description      varchar(1000),
	conventionapl_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_evenement_conventionapl
			REFERENCES ecolo.ecolo_conventionapl,
	typeevenement_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_evenement_typeevenement
			REFERENCES ecolo.ecolo_valeurparamstatic,
	version          integer DEFAULT 0 NOT NULL
);

-- ---------------------------------------------------------------------------
-- Indices of rent and fee evolution (read by ecoloweb_import_loyers_indices,
-- mapping.md appendix A). annee_id points to a valeur paramétrée whose
-- libellé is the year.
-- ---------------------------------------------------------------------------

CREATE TABLE ecolo.ecolo_indiceloyer
(
	id              bigint            NOT NULL
		CONSTRAINT pk_ecolo_indiceloyer PRIMARY KEY,
	annee_id        bigint            NOT NULL
		CONSTRAINT fk_ecolo_indiceloyer_annee
			REFERENCES ecolo.ecolo_valeurparamstatic,
	irl2evol        double precision,
	irl1evol        double precision,
	iccaugmentation double precision,
	version         integer DEFAULT 0 NOT NULL
);

CREATE TABLE ecolo.ecolo_indiceredevance
(
	id                bigint            NOT NULL
		CONSTRAINT pk_ecolo_indiceredevance PRIMARY KEY,
	annee_id          bigint            NOT NULL
		CONSTRAINT fk_ecolo_indiceredevance_annee
			REFERENCES ecolo.ecolo_valeurparamstatic,
	naturelogement_id bigint            NOT NULL
		CONSTRAINT fk_ecolo_indiceredevance_naturelogement
			REFERENCES ecolo.ecolo_naturelogement,
	indicevariation   double precision,
	version           integer DEFAULT 0 NOT NULL
);

-- ---------------------------------------------------------------------------
-- The circular foreign key, last: a convention points to the iteration under
-- instruction, which itself points back to the convention.
-- ---------------------------------------------------------------------------

ALTER TABLE ecolo.ecolo_conventionapl
	ADD CONSTRAINT fk_ecolo_conventionapl_conventioninstruite
		FOREIGN KEY (conventioninstruite_id)
		REFERENCES ecolo.ecolo_conventiondonneesgenerales
		DEFERRABLE INITIALLY DEFERRED;
