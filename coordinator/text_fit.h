/*
 * coordinator/text_fit.h
 *     Fitting text into screen columns (the dashboard's), with no curses:
 *     unit-tested on its own.
 */
#ifndef ECOLO_TEXT_FIT_H
#define ECOLO_TEXT_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>

#define TEXT_FIT_MAX 1024 /* wide characters one call fits */

/* text_ellipsis returns the character that marks cut text: … when the locale can show it. */
wchar_t text_ellipsis(void);

/*
 * text_fit decodes the len bytes of s (locale multibyte, UTF-8 in
 * practice) into out, at most cap - 1 wide characters, keeping what fits in
 * width display columns. Control characters become spaces, bytes that do
 * not decode and unprintable characters '?'. Returns the number of wide
 * characters (out is NUL-ended); *cols gets the columns they take; *rest
 * where the text not kept starts, NULL when everything fit.
 */
size_t text_fit(const char *s, size_t len, int width, wchar_t *out, size_t cap, int *cols,
                const char **rest);

/* A piece of a line drawn on one screen row. */
typedef struct text_segment {
	const char *s;
	size_t len;
} text_segment;

/*
 * text_wrap splits the line s into screen rows of cols columns (the next
 * ones indented by 2), between words when it can, at most max rows: seg[]
 * gets the pieces. Returns their number (at least 1); *more tells that
 * text was left out.
 */
int text_wrap(const char *s, int cols, text_segment *seg, int max, bool *more);

#endif
