/*
 * src/entity.c
 *     Names of the entity classes, for logs, summaries and references, and
 *     their counters as JSON (progress lines, the summary).
 */
#include "entity.h"

static const struct {
	const char *name;
	const char *model;
} entities[ENT_COUNT] = {
        [ENT_ADMINISTRATION] = {"administration", "instructeurs.Administration"},
        [ENT_BAILLEUR] = {"bailleur", "bailleurs.Bailleur"},
        [ENT_PROGRAMME] = {"programme", "programmes.Programme"},
        [ENT_CADASTRE] = {"ref_cadastrale", "programmes.ReferenceCadastrale"},
        [ENT_CONVENTION] = {"convention", "conventions.Convention"},
        [ENT_LOT] = {"lot", "programmes.Lot"},
        [ENT_LOGEMENT] = {"logement", "programmes.Logement"},
        [ENT_REPARTITION] = {"repartition", "programmes.RepartitionSurface"},
        [ENT_PIECEJOINTE] = {"piece_jointe", "conventions.PieceJointe"},
        [ENT_EVENEMENT] = {"evenement", "conventions.Evenement"},
        [ENT_AVENANT_TYPE] = {"avenant_type", 0},
};

const char *entity_name(entity e)
{
	return e < ENT_COUNT ? entities[e].name : "?";
}

const char *entity_model(entity e)
{
	return e < ENT_COUNT ? entities[e].model : 0;
}

/* entity_counts_json: see entity.h. */
json_t *entity_counts_json(const entity_counts *counts)
{
	json_t *all = json_object();

	for (int e = 0; all && e < ENT_COUNT; e++) {
		const entity_counts *c = &counts[e];
		json_t *one = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "read",
		                        (json_int_t)c->read, "created", (json_int_t)c->created,
		                        "matched", (json_int_t)c->matched, "skipped",
		                        (json_int_t)c->skipped, "updated", (json_int_t)c->updated,
		                        "errors", (json_int_t)c->errors);
		if (json_object_set_new(all, entity_name((entity)e), one) != 0) {
			json_decref(all);
			all = NULL;
		}
	}
	return all;
}
