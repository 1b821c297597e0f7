/*
 * worker/entities.c
 *     The definitions of the entity classes (mapping.md §2.3, §2.5).
 */
#include <string.h>

#include "entities.h"
#include "sql_queries.h"

static const col_rule logement_rules[] = {
        {"loyer", COL_R2P}, {"loyer_par_metre_carre", COL_R2P}, {NULL, COL_PLAIN}};
static const col_rule cadastre_rules[] = {{"surface", COL_SURFACE}, {NULL, COL_PLAIN}};
static const col_rule piecejointe_rules[] = {{"cree_le", COL_NOW_IF_NULL}, {NULL, COL_PLAIN}};

/* Columns written by Django's pre_save signals: --update does not recompute them (§3.6). */
static const char *const convention_signals[] = {"numero_pour_recherche", NULL};
static const char *const programme_signals[] = {"numero_operation_pour_recherche",
                                                "date_achevement_compile", NULL};
static const char *const bailleur_signals[] = {"siren", "nature_bailleur", NULL};

static const entity_def defs[ENT_COUNT] = {
        [ENT_ADMINISTRATION] = {.ent = ENT_ADMINISTRATION,
                                .table = "instructeurs_administration",
                                .sql = sql_administrations,
                                .auto_times = true,
                                .has_identity = true,
                                .keep_map = true},
        [ENT_BAILLEUR] = {.ent = ENT_BAILLEUR,
                          .table = "bailleurs_bailleur",
                          .sql = sql_bailleurs,
                          .auto_times = true,
                          .insert_only = bailleur_signals,
                          .has_identity = true,
                          .keep_map = true},
        [ENT_PROGRAMME] = {.ent = ENT_PROGRAMME,
                           .table = "programmes_programme",
                           .sql = sql_programmes,
                           .fks = {{"parent_id", "_parent_key", ENT_PROGRAMME, false},
                                   {"bailleur_id", "_bailleur_key", ENT_BAILLEUR, true},
                                   {"administration_id", "_administration_key", ENT_ADMINISTRATION,
                                    false}},
                           .n_fks = 3,
                           .auto_times = true,
                           .insert_only = programme_signals,
                           .keep_map = true},
        [ENT_CADASTRE] = {.ent = ENT_CADASTRE,
                          .table = "programmes_referencecadastrale",
                          .sql = sql_cadastres,
                          .fks = {{"programme_id", "_programme_key", ENT_PROGRAMME, true}},
                          .n_fks = 1,
                          .rules = cadastre_rules,
                          .auto_times = true},
        [ENT_CONVENTION] = {.ent = ENT_CONVENTION,
                            .table = "conventions_convention",
                            .sql = sql_conventions,
                            .fks = {{"parent_id", "_parent_key", ENT_CONVENTION, false},
                                    {"programme_id", "_programme_key", ENT_PROGRAMME, true}},
                            .n_fks = 2,
                            .auto_times = true,
                            .insert_only = convention_signals,
                            .keep_map = true},
        [ENT_LOT] = {.ent = ENT_LOT,
                     .table = "programmes_lot",
                     .sql = sql_lots,
                     .fks = {{"parent_id", "_parent_key", ENT_LOT, false},
                             {"convention_id", "_convention_key", ENT_CONVENTION, true}},
                     .n_fks = 2,
                     .auto_times = true,
                     .keep_map = true},
        [ENT_LOGEMENT] = {.ent = ENT_LOGEMENT,
                          .table = "programmes_logement",
                          .sql = sql_logements,
                          .fks = {{"lot_id", "_lot_key", ENT_LOT, true}},
                          .n_fks = 1,
                          .rules = logement_rules,
                          .auto_times = true},
        [ENT_REPARTITION] = {.ent = ENT_REPARTITION,
                             .table = "programmes_repartitionsurface",
                             .sql = sql_repartitions,
                             .fks = {{"lot_id", "_lot_key", ENT_LOT, true}},
                             .n_fks = 1},
        [ENT_PIECEJOINTE] = {.ent = ENT_PIECEJOINTE,
                             .table = "conventions_piecejointe",
                             .sql = sql_piecesjointes,
                             .fks = {{"convention_id", "_convention_key", ENT_CONVENTION, true}},
                             .n_fks = 1,
                             .rules = piecejointe_rules},
        [ENT_EVENEMENT] = {.ent = ENT_EVENEMENT,
                           .table = "conventions_evenement",
                           .sql = sql_evenements,
                           .fks = {{"convention_id", "_convention_key", ENT_CONVENTION, true}},
                           .n_fks = 1},
};

const entity_def *entity_def_of(entity e)
{
	return e < ENT_COUNT && defs[e].table ? &defs[e] : NULL;
}

col_kind col_kind_of(const entity_def *def, const char *column)
{
	for (const col_rule *r = def->rules; r && r->column; r++) {
		if (strcmp(r->column, column) == 0)
			return r->kind;
	}
	return COL_PLAIN;
}

bool is_insert_only(const entity_def *def, const char *column)
{
	for (const char *const *c = def->insert_only; c && *c; c++) {
		if (strcmp(*c, column) == 0)
			return true;
	}
	return false;
}
