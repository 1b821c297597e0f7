/*
 * src/entity.c
 *     Names of the entity classes, for logs, summaries and references.
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
