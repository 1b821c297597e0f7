/*
 * src/column_rules.c
 *     See column_rules.h. The table below is the list of rules: one line per
 *     column the importer maps (the columns of the queries in sql/), with
 *     the Django field it is, from APiLos's models at the commit
 *     ../shared/apilos/choices.md names. None of these columns is a
 *     Positive*Field there (PostgreSQL would carry Django's CHECK >= 0).
 *     The columns the importer fills itself (id, uuid, cree_le and
 *     mis_a_jour_le of auto_now, the foreign keys) never come from Ecoloweb.
 */
#include "column_rules.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NULL_OK true
#define REQUIRED false

/* The choices: the stored values (choices.md), not the labels. */
static const char *const natures_bailleur[] = {"Autres bailleurs sociaux non HLM",
                                               "Bailleurs privés", "HLM", "SEM", NULL};
static const char *const sous_natures_bailleur[] = {"ASSOCIATIONS",
                                                    "ANAH",
                                                    "COMMERCIALES",
                                                    "COMMUNE",
                                                    "COOPERATIVE_HLM_SCIC",
                                                    "CROUS",
                                                    "DEPARTEMENT",
                                                    "DRE_DDE_CETE_AC_PREF",
                                                    "EPCI",
                                                    "ETC_PUBLIQUE_LOCAL",
                                                    "ETS_HOSTIPATIERS_PRIVES",
                                                    "FONDATION",
                                                    "FONDATION_HLM",
                                                    "FRONCIERE_LOGEMENT",
                                                    "GIP",
                                                    "MUTUELLE",
                                                    "NONRENSEIGNE",
                                                    "OFFICE_PUBLIC_HLM",
                                                    "PACT_ARIM",
                                                    "PARTICULIERS",
                                                    "SA_HLM_ESH",
                                                    "SACI_CAP",
                                                    "SEM_EPL",
                                                    "UES",
                                                    NULL};
static const char *const statuts[] = {"1. Projet",
                                      "2. Instruction requise",
                                      "3. Corrections requises",
                                      "4. A signer",
                                      "5. Signée",
                                      "5. Publication en cours",
                                      "7. Publié",
                                      "6. Résiliée",
                                      "7. Dénoncée",
                                      "8. Annulée en suivi",
                                      NULL};
static const char *const types_evenement[] = {"DEPOT_BAILLEUR",
                                              "MODIFICATION",
                                              "ECHANGE",
                                              "ENVOI_PREFET",
                                              "RETOUR_PREFET",
                                              "ENVOI_HYPOTHEQUE",
                                              "RETOUR_HYPOTHEQUE",
                                              "ENVOI_RECTIFICATIF_PREFET",
                                              "RETOUR_RECTIFICATIF_PREFET",
                                              "PUBLICATION_HYPOTHEQUE",
                                              "ENVOI_CAF",
                                              "DEPOT_AVENANT",
                                              "INSTRUCTION_AVENANT",
                                              "CORRECTION_AVENANT",
                                              "ENVOI_AVENANT_PREFET",
                                              "SIGNATURE_AVENANT_PREFET",
                                              "ENVOI_AVENANT_HYPOTHEQUE",
                                              "RETOUR_AVENANT_HYPOTHEQUE",
                                              "ENVOI_RECTIFICATIF_AVENANT_PREFET",
                                              "RETOUR_RECTIFICATIF_AVENANT_PREFET",
                                              "PUBLICATION_AVENANT_HYPOTHEQUE",
                                              "EXPIRATION_CONVENTION",
                                              "ENVOI_FIN_DENONCIATION",
                                              "AUTRE",
                                              NULL};
static const char *const typologies[] = {"T1", "T1bis", "T1prime", "T2", "T3",
                                         "T4", "T5",    "T6",      "T7", NULL};
/*
 * "PLI" is not one of APiLos's Financement choices, but mapping.md (1.2,
 * FIN) decides that a PLI lot is written with it, as APiLos's own import
 * does: the one value outside the choices, on purpose.
 */
static const char *const financements[] = {
        "PLUS", "PLUS_CD", "PLAI",       "PLAI_ADP", "PLAI_FTM", "PLAI_RE", "PLUS-PLAI",
        "PLS",  "PALULOS", "PALU_AV_21", "PALUCOM",  "PALU_COM", "PALU_RE", "SANS_FINANCEMENT",
        "LLS",  "LLTS",    "LLTSA",      "PLS_DOM",  "SALLS_R",  "SALLS_P", "SECD_VIE",
        "RENO", "PLI",     NULL};
static const char *const types_habitat[] = {"MIXTE", "INDIVIDUEL", "COLLECTIF", NULL};
static const char *const types_piece_jointe[] = {
        "CONVENTION", "RECTIFICATION", "ATTESTATION_PREFECTORALE", "AVENANT", "PHOTO", "AUTRE",
        NULL};
static const char *const types_operation[] = {"SANSOBJET",
                                              "NEUF",
                                              "VEFA",
                                              "ACQUIS",
                                              "ACQUISAMELIORATION",
                                              "REHABILITATION",
                                              "ACQUISSANSTRAVAUX",
                                              "SANSTRAVAUX",
                                              "USUFRUIT",
                                              NULL};
static const char *const natures_logement[] = {"LOGEMENTSORDINAIRES",
                                               "AUTRE",
                                               "HEBERGEMENT",
                                               "RESISDENCESOCIALE",
                                               "PENSIONSDEFAMILLE",
                                               "RESIDENCEDACCUEIL",
                                               "RESIDENCEUNIVERSITAIRE",
                                               "RHVS",
                                               NULL};
static const char *const types_habitat_repartition[] = {"INDIVIDUEL", "COLLECTIF", NULL};

static const column_rule rules[] = {
        {"instructeurs_administration", "nom", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"instructeurs_administration", "code", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"instructeurs_administration", "ville_signature", RULE_VARCHAR, 255, 0, NULL_OK, NULL},
        {"instructeurs_administration", "adresse", RULE_TEXT, 0, 0, NULL_OK, NULL},
        {"instructeurs_administration", "code_postal", RULE_VARCHAR, 5, 0, NULL_OK, NULL},
        {"instructeurs_administration", "ville", RULE_VARCHAR, 255, 0, NULL_OK, NULL},
        {"instructeurs_administration", "nb_convention_exemplaires", RULE_INTEGER, 0, 0, REQUIRED,
         NULL},
        {"instructeurs_administration", "prefix_convention", RULE_VARCHAR, 255, 0, NULL_OK, NULL},
        {"bailleurs_bailleur", "nom", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"bailleurs_bailleur", "siret", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"bailleurs_bailleur", "siren", RULE_VARCHAR, 255, 0, NULL_OK, NULL},
        {"bailleurs_bailleur", "signataire_nom", RULE_VARCHAR, 255, 0, NULL_OK, NULL},
        {"bailleurs_bailleur", "nature_bailleur", RULE_CHOICE, 255, 0, REQUIRED, natures_bailleur},
        {"bailleurs_bailleur", "sous_nature_bailleur", RULE_CHOICE, 25, 0, REQUIRED,
         sous_natures_bailleur},
        {"bailleurs_bailleur", "adresse", RULE_VARCHAR, 255, 0, NULL_OK, NULL},
        {"bailleurs_bailleur", "code_postal", RULE_VARCHAR, 5, 0, NULL_OK, NULL},
        {"bailleurs_bailleur", "ville", RULE_VARCHAR, 255, 0, NULL_OK, NULL},
        {"programmes_referencecadastrale", "section", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"programmes_referencecadastrale", "numero", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"programmes_referencecadastrale", "lieudit", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"programmes_referencecadastrale", "surface", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"programmes_referencecadastrale", "autre", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"conventions_convention", "numero", RULE_VARCHAR, 255, 0, NULL_OK, NULL},
        {"conventions_convention", "numero_pour_recherche", RULE_VARCHAR, 255, 0, NULL_OK, NULL},
        {"conventions_convention", "date_fin_conventionnement", RULE_DATE, 0, 0, NULL_OK, NULL},
        {"conventions_convention", "statut", RULE_CHOICE, 25, 0, REQUIRED, statuts},
        {"conventions_convention", "soumis_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"conventions_convention", "premiere_soumission_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"conventions_convention", "valide_le", RULE_DATE, 0, 0, NULL_OK, NULL},
        {"conventions_convention", "televersement_convention_signee_le", RULE_DATE, 0, 0, NULL_OK,
         NULL},
        {"conventions_convention", "type2_lgts_concernes_option1", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "type2_lgts_concernes_option2", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "type2_lgts_concernes_option3", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "type2_lgts_concernes_option4", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "type2_lgts_concernes_option5", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "type2_lgts_concernes_option6", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "type2_lgts_concernes_option7", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "type2_lgts_concernes_option8", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "date_resiliation", RULE_DATE, 0, 0, NULL_OK, NULL},
        {"conventions_convention", "date_publication_spf", RULE_DATE, 0, 0, NULL_OK, NULL},
        {"conventions_convention", "date_envoi_spf", RULE_DATE, 0, 0, NULL_OK, NULL},
        {"conventions_convention", "reference_spf", RULE_VARCHAR, 50, 0, NULL_OK, NULL},
        {"conventions_convention", "date_refus_spf", RULE_DATE, 0, 0, NULL_OK, NULL},
        {"conventions_convention", "motif_refus_spf", RULE_VARCHAR, 1000, 0, NULL_OK, NULL},
        {"conventions_convention", "gestionnaire", RULE_VARCHAR, 255, 0, NULL_OK, NULL},
        {"conventions_convention", "gestionnaire_signataire_nom", RULE_VARCHAR, 255, 0, NULL_OK,
         NULL},
        {"conventions_convention", "attribution_agees_autonomie", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "attribution_agees_autre", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"conventions_convention", "attribution_agees_desorientees", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "attribution_agees_ephad", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"conventions_convention", "attribution_agees_petite_unite", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "attribution_agees_autre_detail", RULE_VARCHAR, 255, 0, NULL_OK,
         NULL},
        {"conventions_convention", "attribution_handicapes_autre", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "attribution_handicapes_foyer", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "attribution_handicapes_foyer_de_vie", RULE_BOOLEAN, 0, 0,
         REQUIRED, NULL},
        {"conventions_convention", "attribution_handicapes_foyer_medicalise", RULE_BOOLEAN, 0, 0,
         REQUIRED, NULL},
        {"conventions_convention", "attribution_handicapes_autre_detail", RULE_VARCHAR, 255, 0,
         NULL_OK, NULL},
        {"conventions_convention", "attribution_inclusif_activites", RULE_VARCHAR, 50000, 0,
         NULL_OK, NULL},
        {"conventions_convention", "attribution_inclusif_conditions_admission", RULE_VARCHAR, 50000,
         0, NULL_OK, NULL},
        {"conventions_convention", "attribution_inclusif_conditions_specifiques", RULE_VARCHAR,
         50000, 0, NULL_OK, NULL},
        {"conventions_convention", "attribution_inclusif_modalites_attribution", RULE_VARCHAR,
         50000, 0, NULL_OK, NULL},
        {"conventions_convention", "attribution_inclusif_partenariats", RULE_VARCHAR, 50000, 0,
         NULL_OK, NULL},
        {"conventions_convention", "attribution_modalites_choix_personnes", RULE_VARCHAR, 50000, 0,
         NULL_OK, NULL},
        {"conventions_convention", "attribution_modalites_reservations", RULE_VARCHAR, 50000, 0,
         NULL_OK, NULL},
        {"conventions_convention", "attribution_prestations_facultatives", RULE_VARCHAR, 50000, 0,
         NULL_OK, NULL},
        {"conventions_convention", "attribution_prestations_integrees", RULE_VARCHAR, 50000, 0,
         NULL_OK, NULL},
        {"conventions_convention", "attribution_reservation_prefectorale", RULE_INTEGER, 0, 0,
         NULL_OK, NULL},
        {"conventions_convention", "foyer_residence_variante_1", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "foyer_residence_variante_2", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "foyer_residence_variante_2_travaux", RULE_VARCHAR, 5000, 0,
         NULL_OK, NULL},
        {"conventions_convention", "foyer_residence_variante_3", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "attribution_pension_de_famille", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "attribution_residence_accueil", RULE_BOOLEAN, 0, 0, REQUIRED,
         NULL},
        {"conventions_convention", "attribution_residence_sociale_ordinaire", RULE_BOOLEAN, 0, 0,
         REQUIRED, NULL},
        {"conventions_convention", "identification_bailleur", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"conventions_evenement", "type_evenement", RULE_CHOICE, 50, 0, REQUIRED, types_evenement},
        {"conventions_evenement", "survenu_le", RULE_DATE, 0, 0, REQUIRED, NULL},
        {"conventions_evenement", "description", RULE_TEXT, 0, 0, NULL_OK, NULL},
        {"conventions_evenement", "pieces_jointes", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_logement", "designation", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"programmes_logement", "typologie", RULE_CHOICE, 25, 0, REQUIRED, typologies},
        {"programmes_logement", "surface_corrigee", RULE_NUMERIC, 12, 2, NULL_OK, NULL},
        {"programmes_logement", "surface_utile", RULE_NUMERIC, 12, 2, NULL_OK, NULL},
        {"programmes_logement", "surface_habitable", RULE_NUMERIC, 12, 2, NULL_OK, NULL},
        {"programmes_logement", "surface_annexes", RULE_NUMERIC, 12, 2, NULL_OK, NULL},
        {"programmes_logement", "surface_annexes_retenue", RULE_NUMERIC, 12, 2, NULL_OK, NULL},
        {"programmes_logement", "coeficient", RULE_NUMERIC, 12, 4, NULL_OK, NULL},
        {"programmes_logement", "loyer", RULE_NUMERIC, 12, 2, NULL_OK, NULL},
        {"programmes_logement", "loyer_par_metre_carre", RULE_NUMERIC, 12, 2, NULL_OK, NULL},
        {"programmes_lot", "financement", RULE_CHOICE, 25, 0, REQUIRED, financements},
        {"programmes_lot", "nb_logements", RULE_INTEGER, 0, 0, NULL_OK, NULL},
        {"programmes_lot", "type_habitat", RULE_CHOICE, 25, 0, REQUIRED, types_habitat},
        {"programmes_lot", "edd_volumetrique", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "edd_classique", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "annexe_caves", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "annexe_soussols", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "annexe_remises", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "annexe_ateliers", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "annexe_sechoirs", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "annexe_celliers", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "annexe_resserres", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "annexe_combles", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "annexe_balcons", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "annexe_loggias", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "annexe_terrasses", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "lgts_mixite_sociale_negocies", RULE_INTEGER, 0, 0, REQUIRED, NULL},
        {"programmes_lot", "loyer_derogatoire", RULE_NUMERIC, 6, 2, NULL_OK, NULL},
        {"programmes_lot", "surface_habitable_totale", RULE_NUMERIC, 12, 2, NULL_OK, NULL},
        {"programmes_lot", "surface_locaux_collectifs_residentiels", RULE_NUMERIC, 12, 2, REQUIRED,
         NULL},
        {"programmes_lot", "foyer_residence_nb_garage_parking", RULE_INTEGER, 0, 0, NULL_OK, NULL},
        {"conventions_piecejointe", "type", RULE_CHOICE, 24, 0, NULL_OK, types_piece_jointe},
        {"conventions_piecejointe", "fichier", RULE_VARCHAR, 50, 0, NULL_OK, NULL},
        {"conventions_piecejointe", "nom_reel", RULE_VARCHAR, 255, 0, NULL_OK, NULL},
        {"conventions_piecejointe", "description", RULE_VARCHAR, 1000, 0, NULL_OK, NULL},
        {"conventions_piecejointe", "cree_le", RULE_DATETIME, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "nom", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"programmes_programme", "numero_operation", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"programmes_programme", "numero_operation_pour_recherche", RULE_VARCHAR, 255, 0, REQUIRED,
         NULL},
        {"programmes_programme", "seconde_vie", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "adresse", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "code_postal", RULE_VARCHAR, 5, 0, REQUIRED, NULL},
        {"programmes_programme", "ville", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"programmes_programme", "code_insee_commune", RULE_VARCHAR, 10, 0, REQUIRED, NULL},
        {"programmes_programme", "code_insee_departement", RULE_VARCHAR, 10, 0, REQUIRED, NULL},
        {"programmes_programme", "code_insee_region", RULE_VARCHAR, 10, 0, REQUIRED, NULL},
        {"programmes_programme", "surface_utile_totale", RULE_NUMERIC, 10, 2, NULL_OK, NULL},
        {"programmes_programme", "surface_corrigee_totale", RULE_NUMERIC, 10, 2, NULL_OK, NULL},
        {"programmes_programme", "type_operation", RULE_CHOICE, 25, 0, REQUIRED, types_operation},
        {"programmes_programme", "nature_logement", RULE_CHOICE, 25, 0, REQUIRED, natures_logement},
        {"programmes_programme", "anru", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "anah", RULE_BOOLEAN, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "autres_locaux_hors_convention", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "vendeur", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "acquereur", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "reference_notaire", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "reference_publication_acte", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "acte_de_propriete", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "effet_relatif", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "certificat_adressage", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "reference_cadastrale", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "edd_volumetrique", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "mention_publication_edd_volumetrique", RULE_TEXT, 0, 0, REQUIRED,
         NULL},
        {"programmes_programme", "edd_classique", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "mention_publication_edd_classique", RULE_TEXT, 0, 0, REQUIRED,
         NULL},
        {"programmes_programme", "edd_stationnements", RULE_TEXT, 0, 0, REQUIRED, NULL},
        {"programmes_programme", "permis_construire", RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"programmes_programme", "date_achevement_previsible", RULE_DATE, 0, 0, NULL_OK, NULL},
        {"programmes_programme", "date_achat", RULE_DATE, 0, 0, NULL_OK, NULL},
        {"programmes_programme", "date_achevement", RULE_DATE, 0, 0, NULL_OK, NULL},
        {"programmes_programme", "departement_residence_argement_gestionnaire_intermediation",
         RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"programmes_programme", "ville_signature_residence_agrement_gestionnaire_intermediation",
         RULE_VARCHAR, 255, 0, REQUIRED, NULL},
        {"programmes_programme", "date_achevement_compile", RULE_DATE, 0, 0, NULL_OK, NULL},
        {"programmes_repartitionsurface", "typologie", RULE_CHOICE, 25, 0, REQUIRED, typologies},
        {"programmes_repartitionsurface", "type_habitat", RULE_CHOICE, 25, 0, REQUIRED,
         types_habitat_repartition},
        {"programmes_repartitionsurface", "quantite", RULE_INTEGER, 0, 0, REQUIRED, NULL},

        /* auto_now_add and auto_now: the query's _q_cree_le and _q_mis_a_jour_le, NULL for now() */
        {"instructeurs_administration", "cree_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"instructeurs_administration", "mis_a_jour_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"bailleurs_bailleur", "cree_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"bailleurs_bailleur", "mis_a_jour_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"programmes_programme", "cree_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"programmes_programme", "mis_a_jour_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"programmes_referencecadastrale", "cree_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"programmes_referencecadastrale", "mis_a_jour_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"conventions_convention", "cree_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"conventions_convention", "mis_a_jour_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"programmes_lot", "cree_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"programmes_lot", "mis_a_jour_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"programmes_logement", "cree_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
        {"programmes_logement", "mis_a_jour_le", RULE_DATETIME, 0, 0, NULL_OK, NULL},
};

#define N_RULES (sizeof(rules) / sizeof(rules[0]))

const column_rule *column_rule_find(const char *table, const char *column)
{
	for (size_t i = 0; i < N_RULES; i++) {
		if (strcmp(rules[i].table, table) == 0 && strcmp(rules[i].column, column) == 0)
			return &rules[i];
	}
	return NULL;
}

const column_rule *column_rules_all(size_t *n)
{
	*n = N_RULES;
	return rules;
}

/* utf8_length counts the characters of s (PostgreSQL hands valid UTF-8 only). */
static size_t utf8_length(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* check_length: a CharField's max_length. */
static bool check_length(const column_rule *r, const char *v, char *why, size_t len)
{
	size_t n = utf8_length(v);

	if (n <= (size_t)r->n)
		return true;
	snprintf(why, len, "%zu characters, more than the %d of its max_length", n, r->n);
	return false;
}

/* check_choice: one of the stored values of the field's choices. */
static bool check_choice(const column_rule *r, const char *v, char *why, size_t len)
{
	for (const char *const *c = r->choices; *c; c++) {
		if (strcmp(*c, v) == 0)
			return true;
	}
	snprintf(why, len, "not one of APiLos's choices for this field");
	return false;
}

/*
 * check_numeric: a finite decimal whose integer part, once rounded to
 * scale places as PostgreSQL rounds it (half away from zero), has at most
 * n - scale digits. The text may carry an exponent (a double's output).
 */
static bool check_numeric(const column_rule *r, const char *v, char *why, size_t len)
{
	char digits[64];
	size_t nd = 0;
	long point = 0, exp10 = 0;
	bool seen_point = false, any = false;
	const char *p = v + (*v == '-' || *v == '+');

	for (; isdigit((unsigned char)*p) || (*p == '.' && !seen_point); p++) {
		if (*p == '.') {
			seen_point = true;
			continue;
		}
		any = true;
		if (nd == 0 && *p == '0') {
			point -= seen_point; /* a leading zero: only its place counts */
			continue;
		}
		if (nd + 1 >= sizeof(digits))
			break;
		digits[nd++] = *p;
		point += !seen_point;
	}
	if (any && (*p == 'e' || *p == 'E')) {
		char *end;
		errno = 0;
		exp10 = strtol(p + 1, &end, 10);
		p = errno == 0 && end != p + 1 ? end : p;
	}
	if (!any || *p != '\0') {
		snprintf(why, len, "not a finite decimal number");
		return false;
	}
	if (nd > 0 && exp10 > -1000 && exp10 < 1000)
		point += exp10;
	else if (nd > 0) {
		snprintf(why, len, "exponent out of range");
		return false;
	}
	/* rounding at scale places may carry into a new integer digit */
	long cut = point + r->scale;
	if (cut >= 0 && (size_t)cut < nd && digits[cut] >= '5') {
		long k = cut - 1;
		while (k >= 0 && digits[k] == '9')
			k--;
		point += k < 0;
	}
	if (nd == 0 || point <= r->n - r->scale)
		return true;
	snprintf(why, len,
	         "%ld digits before the decimal point, more than the %d of "
	         "max_digits %d, decimal_places %d",
	         point, r->n - r->scale, r->n, r->scale);
	return false;
}

/* check_integer: within a 32-bit IntegerField. */
static bool check_integer(const char *v, char *why, size_t len)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (end == v || *end != '\0' || errno == ERANGE || x < -2147483648LL || x > 2147483647LL) {
		snprintf(why, len, "not an integer within -2147483648..2147483647");
		return false;
	}
	return true;
}

/*
 * check_year reads the ISO date at the start of v (PostgreSQL's DateStyle
 * ISO: "YYYY-MM-DD", more digits past 9999, " BC" at the end before year
 * 1) and keeps it within Python's years 1..9999. edge_days > 0 also
 * refuses the first and last day (a datetime moved by a time zone).
 */
static bool check_year(const char *v, bool edge_days, char *why, size_t len)
{
	size_t ny = strspn(v, "0123456789");
	int month = 0, day = 0;

	if (ny == 0 || v[ny] != '-' || sscanf(v + ny, "-%2d-%2d", &month, &day) != 2) {
		snprintf(why, len, "not an ISO date (infinity, or another DateStyle)");
		return false;
	}
	if (strstr(v, " BC") || ny != 4 || strncmp(v, "0000", 4) == 0) {
		snprintf(why, len, "year %.*s%s is outside 1..9999 (Python's dates)", (int)ny, v,
		         strstr(v, " BC") ? " BC" : "");
		return false;
	}
	if (edge_days && ((strncmp(v, "0001", 4) == 0 && month == 1 && day == 1) ||
	                  (strncmp(v, "9999", 4) == 0 && month == 12 && day == 31))) {
		snprintf(why, len, "too close to the limits of Python's datetime for a time zone");
		return false;
	}
	return true;
}

/* check_value: the rule of r's kind on a value that is not NULL. */
static bool check_value(const column_rule *r, const char *v, char *why, size_t len)
{
	switch (r->kind) {
	case RULE_TEXT:
		return true;
	case RULE_VARCHAR:
		return check_length(r, v, why, len);
	case RULE_CHOICE:
		return check_choice(r, v, why, len) && check_length(r, v, why, len);
	case RULE_NUMERIC:
		return check_numeric(r, v, why, len);
	case RULE_INTEGER:
		return check_integer(v, why, len);
	case RULE_BOOLEAN:
		if ((v[0] == 't' || v[0] == 'f') && v[1] == '\0')
			return true;
		snprintf(why, len, "not a boolean (t or f)");
		return false;
	case RULE_DATE:
		return check_year(v, false, why, len);
	case RULE_DATETIME:
		return check_year(v, true, why, len);
	}
	return true;
}

bool column_rule_check(const column_rule *r, const char *value, char *why, size_t len)
{
	if (value == NULL) {
		if (r->null_ok)
			return true;
		snprintf(why, len, "NULL, but APiLos requires a value");
		return false;
	}
	return check_value(r, value, why, len);
}

void column_rule_text(const column_rule *r, char *buf, size_t len)
{
	const char *null = r->null_ok ? "" : ", NOT NULL";

	switch (r->kind) {
	case RULE_TEXT:
		snprintf(buf, len, "text%s", null);
		break;
	case RULE_VARCHAR:
		snprintf(buf, len, "varchar(%d)%s", r->n, null);
		break;
	case RULE_CHOICE:
		snprintf(buf, len, "varchar(%d) with choices%s", r->n, null);
		break;
	case RULE_NUMERIC:
		snprintf(buf, len, "numeric(%d,%d)%s", r->n, r->scale, null);
		break;
	case RULE_INTEGER:
		snprintf(buf, len, "integer%s", null);
		break;
	case RULE_BOOLEAN:
		snprintf(buf, len, "boolean%s", null);
		break;
	case RULE_DATE:
		snprintf(buf, len, "date, years 1..9999%s", null);
		break;
	case RULE_DATETIME:
		snprintf(buf, len, "timestamptz, years 1..9999%s", null);
		break;
	}
}
