/*
 * worker/identity_rules.h
 *     How a bailleur or an administration is recognised in APiLos
 *     (mapping.md §3.4 step 3): the query's field looked up in a column of
 *     the table, rule after rule. Pure data, unit-tested.
 */
#ifndef ECOLO_IDENTITY_RULES_H
#define ECOLO_IDENTITY_RULES_H

#include "entity.h"

/* An identity rule: the row's value of field is looked up in the table's column. */
typedef struct identity_rule {
	const char *field;
	const char *column;
	int slot;            /* index in ctx->identity */
	const char *warning; /* logged when this rule matches, or NULL */
} identity_rule;

/*
 * identity_rules_of returns the rules of entity class e, ended by a rule
 * whose field is NULL, or NULL when e has none.
 */
const identity_rule *identity_rules_of(entity e);

/*
 * identity_missing_field returns the first field of e's rules that is not
 * among the n query columns, or NULL: every rule must find its field, or
 * the later ones would never run.
 */
const char *identity_missing_field(entity e, char *const *columns, int n);

#endif
