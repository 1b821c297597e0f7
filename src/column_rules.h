/*
 * src/column_rules.h
 *     What APiLos accepts in each column the importer maps, as its Django
 *     models say (../shared/apilos/schema.sql and choices.md): a value
 *     PostgreSQL takes can still break APiLos when it reads it back (a year
 *     past 9999, a choice it does not know). A row that breaks a rule is an
 *     unmappable row (mapping.md §7 C5): reported, never written.
 */
#ifndef ECOLO_COLUMN_RULES_H
#define ECOLO_COLUMN_RULES_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
	RULE_TEXT,     /* TextField: any text */
	RULE_VARCHAR,  /* CharField: at most n characters */
	RULE_CHOICE,   /* CharField with choices: one of them (and at most n characters) */
	RULE_NUMERIC,  /* DecimalField: max_digits n, decimal_places scale, finite */
	RULE_INTEGER,  /* IntegerField: -2147483648 .. 2147483647 */
	RULE_BOOLEAN,  /* BooleanField: t or f */
	RULE_DATE,     /* DateField: years 1 to 9999 (Python's date) */
	RULE_DATETIME, /* DateTimeField: years 1 to 9999, a day inside for the time zone */
} rule_kind;

typedef struct column_rule {
	const char *table;  /* the APiLos table */
	const char *column; /* its column */
	rule_kind kind;
	int n;                      /* max_length, or max_digits */
	int scale;                  /* decimal_places */
	bool null_ok;               /* null=True in the model */
	const char *const *choices; /* RULE_CHOICE: the stored values, NULL-terminated */
} column_rule;

/* column_rule_find returns the rule of table.column, or NULL when the importer maps no such column.
 */
const column_rule *column_rule_find(const char *table, const char *column);

/* column_rules_all returns every rule (n of them), in the order of the mapping. */
const column_rule *column_rules_all(size_t *n);

/*
 * column_rule_check tells whether value (PostgreSQL's text output, NULL
 * for SQL NULL) keeps r. When it does not, why says which rule it breaks,
 * e.g. "year 20150 is past 9999 (Python dates stop there)".
 */
bool column_rule_check(const column_rule *r, const char *value, char *why, size_t len);

/* column_rule_text describes r for messages and --help: "varchar(255), NOT NULL". */
void column_rule_text(const column_rule *r, char *buf, size_t len);

#endif
