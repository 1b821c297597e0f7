/*
 * tests/rules_check.c
 *     The column rules (src/column_rules.c) for the test scripts:
 *
 *       rules_check --list   one line per rule: "table<TAB>column"
 *       rules_check          reads "table<TAB>column<TAB>value" lines in
 *                            COPY text format (\N for NULL), as
 *                            COPY ... TO STDOUT writes them, and prints
 *                            each value a rule refuses; exits 1 if any,
 *                            after "checked N value(s), M refused"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "column_rules.h"

/* unescape decodes one COPY text field in place (the escapes COPY TO writes). */
static void unescape(char *s)
{
	char *out = s;
	static const char from[] = "btnvfr", to[] = "\b\t\n\v\f\r";

	for (; *s; s++) {
		if (*s != '\\' || s[1] == '\0') {
			*out++ = *s;
			continue;
		}
		const char *k = strchr(from, *++s);
		*out++ = k ? to[k - from] : *s;
	}
	*out = '\0';
}

static int list(void)
{
	size_t n;
	const column_rule *r = column_rules_all(&n);

	for (size_t i = 0; i < n; i++)
		printf("%s\t%s\n", r[i].table, r[i].column);
	return 0;
}

int main(int argc, char **argv)
{
	char *line = NULL, why[256];
	size_t cap = 0, checked = 0, refused = 0;

	if (argc == 2 && strcmp(argv[1], "--list") == 0)
		return list();
	while (getline(&line, &cap, stdin) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char *table = line, *column = strchr(table, '\t'), *value;
		if (!column || !(value = strchr(column + 1, '\t'))) {
			fprintf(stderr, "rules_check: not table<TAB>column<TAB>value: %s\n", line);
			return 2;
		}
		*column++ = '\0';
		*value++ = '\0';
		const column_rule *r = column_rule_find(table, column);
		if (!r) {
			fprintf(stderr, "rules_check: no rule for %s.%s\n", table, column);
			return 2;
		}
		bool null = strcmp(value, "\\N") == 0;
		if (!null)
			unescape(value);
		checked++;
		if (!column_rule_check(r, null ? NULL : value, why, sizeof(why))) {
			refused++;
			printf("%s.%s = '%.60s': %s\n", table, column, value, why);
		}
	}
	free(line);
	printf("checked %zu value(s), %zu refused\n", checked, refused);
	return refused ? 1 : 0;
}
