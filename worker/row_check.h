/*
 * worker/row_check.h
 *     A row's values against the rules of their APiLos columns
 *     (src/column_rules.h), with the message that names what is wrong.
 */
#ifndef ECOLO_ROW_CHECK_H
#define ECOLO_ROW_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "column_rules.h"

/*
 * row_check checks values[i] against rules[i] for the ncols columns
 * (a NULL rule: a column that is not APiLos's). At the first value a rule
 * refuses, false and why = "<APiLos column> = <quoted value>: <reason>
 * (APiLos: <rule>)".
 */
bool row_check(const column_rule *const *rules, char *const *values, int ncols, char *why,
               size_t len);

/*
 * quote_value writes v between quotes for a one-line message: control
 * characters and backslashes escaped, cut after 60 characters with the
 * full length said. NULL is written NULL.
 */
void quote_value(const char *v, char *buf, size_t len);

#endif
