/*
 * worker/row_check.c
 *     See row_check.h.
 */
#include "row_check.h"

#include <stdio.h>
#include <string.h>

#include "strbuf.h"

#define QUOTE_CHARS 60

/* quote_char appends c, escaped when it would break a log line. */
static void quote_char(strbuf *sb, unsigned char c)
{
	char hex[8];

	switch (c) {
	case '\n':
		sb_append(sb, "\\n");
		break;
	case '\r':
		sb_append(sb, "\\r");
		break;
	case '\t':
		sb_append(sb, "\\t");
		break;
	case '\\':
		sb_append(sb, "\\\\");
		break;
	case '\'':
		sb_append(sb, "\\'");
		break;
	default:
		if (c < 0x20 || c == 0x7f) {
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			sb_append(sb, hex);
		} else
			sb_append_char(sb, (char)c);
	}
}

void quote_value(const char *v, char *buf, size_t len)
{
	strbuf sb;
	size_t chars = 0;
	const unsigned char *p;

	if (v == NULL) {
		snprintf(buf, len, "NULL");
		return;
	}
	sb_init(&sb);
	sb_append_char(&sb, '\'');
	for (p = (const unsigned char *)v; *p; p++) {
		bool starts = (*p & 0xC0) != 0x80;
		if (starts && ++chars > QUOTE_CHARS)
			break;
		quote_char(&sb, *p);
	}
	sb_append_char(&sb, '\'');
	if (*p) {
		size_t total = chars;
		for (; *p; p++)
			total += (*p & 0xC0) != 0x80;
		char more[64];
		snprintf(more, sizeof(more), "... (%zu characters)", total);
		sb_append(&sb, more);
	}
	snprintf(buf, len, "%s", sb.data);
	sb_free(&sb);
}

bool row_check(const column_rule *const *rules, char *const *values, int ncols, char *why,
               size_t len)
{
	char reason[256], rule[96], quoted[320];

	for (int i = 0; i < ncols; i++) {
		if (rules[i] == NULL ||
		    column_rule_check(rules[i], values[i], reason, sizeof(reason)))
			continue;
		quote_value(values[i], quoted, sizeof(quoted));
		column_rule_text(rules[i], rule, sizeof(rule));
		snprintf(why, len, "%s = %s: %s (APiLos: %s)", rules[i]->column, quoted, reason,
		         rule);
		return false;
	}
	return true;
}
