/*
 * src/strbuf.h
 *     A growable byte buffer, used to build COPY data and log lines.
 */
#ifndef ECOLO_STRBUF_H
#define ECOLO_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf {
	char *data; /* always NUL-terminated when cap > 0 */
	size_t len;
	size_t cap;
} strbuf;

void sb_init(strbuf *sb);
void sb_free(strbuf *sb);
void sb_reset(strbuf *sb);
void sb_append(strbuf *sb, const char *s);
void sb_append_n(strbuf *sb, const char *s, size_t n);
void sb_append_char(strbuf *sb, char c);
void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * sb_copy_field appends value escaped for COPY text format (\N for NULL),
 * preceded by a tab unless first is true.
 */
void sb_copy_field(strbuf *sb, const char *value, bool first);

#endif
