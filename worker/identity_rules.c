/*
 * worker/identity_rules.c
 *     The identity rules of bailleurs and administrations (identity_rules.h).
 */
#include <string.h>

#include "identity_rules.h"

static const identity_rule bailleur_identity[] = {
        {"_identity_siren", "siren", 0, NULL},
        {"siret", "siret", 1, "no SIREN match, reusing the bailleur with the same siret (B9)"},
        {"siren", "siren", 0, "reusing the bailleur with the same derived siren"},
        {NULL, NULL, 0, NULL}};
static const identity_rule administration_identity[] = {{"code", "code", 2, NULL},
                                                        {NULL, NULL, 0, NULL}};

const identity_rule *identity_rules_of(entity e)
{
	if (e == ENT_BAILLEUR)
		return bailleur_identity;
	if (e == ENT_ADMINISTRATION)
		return administration_identity;
	return NULL;
}

const char *identity_missing_field(entity e, char *const *columns, int n)
{
	const identity_rule *rules = identity_rules_of(e);

	for (const identity_rule *r = rules; r && r->field; r++) {
		int i = 0;
		while (i < n && strcmp(columns[i], r->field) != 0)
			i++;
		if (i == n)
			return r->field;
	}
	return NULL;
}
