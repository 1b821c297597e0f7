/*
 * src/strbuf.c
 *     A growable byte buffer for COPY data and log lines, and the escaping
 *     of one field for PostgreSQL's COPY text format.
 *
 * Running out of memory while building a batch leaves nothing sensible to
 * do: the buffers are small compared to what the process already holds, so
 * the process aborts (the worker's transaction is then rolled back by the
 * server) instead of making every caller check every append.
 */
#include "strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB_MIN_CAP 64

/* sb_oom reports an allocation failure on stderr and aborts. */
static void sb_oom(size_t wanted)
{
	/* no log_* here: the log module itself builds lines with a strbuf */
	fprintf(stderr, "strbuf: out of memory (%zu bytes)\n", wanted);
	abort();
}

/* sb_reserve makes room for extra more bytes plus the terminating NUL. */
static void sb_reserve(strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *data;

	if (extra > SIZE_MAX - sb->len - 1)
		sb_oom(SIZE_MAX);
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return;
	cap = sb->cap ? sb->cap : SB_MIN_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	data = realloc(sb->data, cap);
	if (!data)
		sb_oom(cap);
	sb->data = data;
	sb->cap = cap;
}

/* sb_init sets sb to an empty buffer that owns no memory yet. */
void sb_init(strbuf *sb)
{
	sb->data = NULL;
	sb->len = 0;
	sb->cap = 0;
}

/* sb_free releases the memory of sb and leaves it empty and reusable. */
void sb_free(strbuf *sb)
{
	free(sb->data);
	sb_init(sb);
}

/* sb_reset empties sb but keeps its memory for the next batch. */
void sb_reset(strbuf *sb)
{
	sb->len = 0;
	if (sb->cap > 0)
		sb->data[0] = '\0';
}

/* sb_append_n appends n bytes of s (which may hold NULs). */
void sb_append_n(strbuf *sb, const char *s, size_t n)
{
	sb_reserve(sb, n);
	if (n > 0)
		memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

/* sb_append appends the NUL-terminated string s. */
void sb_append(strbuf *sb, const char *s)
{
	sb_append_n(sb, s, strlen(s));
}

/* sb_append_char appends one byte. */
void sb_append_char(strbuf *sb, char c)
{
	sb_append_n(sb, &c, 1);
}

/* sb_printf appends printf-formatted text, growing the buffer as needed. */
void sb_printf(strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* first try in the room already there: most lines fit */
	sb_reserve(sb, 0);
	va_start(ap, fmt);
	n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		/* an encoding error: keep the buffer as it was */
		sb->data[sb->len] = '\0';
		return;
	}
	if ((size_t)n >= sb->cap - sb->len) {
		sb_reserve(sb, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

/*
 * sb_copy_field appends value escaped for COPY ... FROM STDIN in text format:
 * backslash, tab, newline and carriage return would otherwise be read as
 * escape, column separator or row end. NULL becomes \N. Fields after the
 * first one are preceded by the tab that separates columns.
 */
void sb_copy_field(strbuf *sb, const char *value, bool first)
{
	const char *p, *run;

	if (!first)
		sb_append_char(sb, '\t');
	if (!value) {
		sb_append_n(sb, "\\N", 2);
		return;
	}
	/* copy runs of plain bytes at once, escape the four special ones */
	run = value;
	for (p = value; *p; p++) {
		const char *esc;

		switch (*p) {
		case '\\':
			esc = "\\\\";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		default:
			continue;
		}
		sb_append_n(sb, run, (size_t)(p - run));
		sb_append_n(sb, esc, 2);
		run = p + 1;
	}
	sb_append_n(sb, run, (size_t)(p - run));
}
