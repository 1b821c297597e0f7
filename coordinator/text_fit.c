/*
 * coordinator/text_fit.c
 *     Fitting text into screen columns for the dashboard: decoded with the
 *     locale into wide characters and cut on display columns, never inside
 *     a UTF-8 sequence ("Côtes-d'Armor" or « » in an error message stay
 *     whole), and wrapped between words.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "text_fit.h"

/* text_ellipsis returns the character that marks cut text: … when the locale can show it. */
wchar_t text_ellipsis(void)
{
	return MB_CUR_MAX > 1 ? L'\u2026' : L'~';
}

/*
 * text_fit decodes the len bytes of s (locale multibyte, UTF-8 in
 * practice) into out, at most cap - 1 wide characters, keeping what fits
 * in width display columns. Control characters (a newline in a server
 * message) become
 * spaces, bytes that do not decode '?', unprintable characters '?'.
 * Returns the number of wide characters (out is NUL-ended); *cols gets
 * the columns they take; *rest where the text not kept starts, NULL when
 * everything fit.
 */
size_t text_fit(const char *s, size_t len, int width, wchar_t *out, size_t cap, int *cols,
                const char **rest)
{
	mbstate_t st;
	size_t n = 0;
	int used = 0;

	memset(&st, 0, sizeof(st));
	*rest = NULL;
	while (len > 0) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s, len, &st);
		int w;

		if (k == (size_t)-1 || k == (size_t)-2) {
			memset(&st, 0, sizeof(st));
			wc = L'?';
			k = 1;
		} else if (k == 0) {
			break;
		}
		if (wc < 0x20 || wc == 0x7f)
			wc = L' ';
		w = wcwidth(wc);
		if (w < 0 || (w == 0 && n == 0) || !iswprint(wc)) {
			wc = L'?';
			w = 1;
		}
		if (used + w > width || n + 1 >= cap) {
			*rest = s;
			break;
		}
		out[n++] = wc;
		used += w;
		s += k;
		len -= k;
	}
	out[n] = L'\0';
	*cols = used;
	return n;
}

/*
 * text_wrap splits a line into screen rows of cols columns (the next
 * ones indented by 2), between words when it can, at most max rows: seg[]
 * gets the pieces. Returns their number (at least 1); *more tells that
 * text was left out.
 */
int text_wrap(const char *s, int cols, text_segment *seg, int max, bool *more)
{
	wchar_t buf[TEXT_FIT_MAX];
	size_t len = strlen(s);
	int n = 0, used;

	while (len > 0 && n < max) {
		const char *rest, *end;
		int width = n == 0 ? cols : cols - 2;

		if (width <= 0)
			break;
		text_fit(s, len, width, buf, TEXT_FIT_MAX, &used, &rest);
		end = rest ? rest : s + len;
		if (end == s)
			break; /* a character wider than the row */
		if (rest && rest[-1] != ' ' && rest[0] != ' ') {
			/* in the middle of a word: end at a space in the second half of the row */
			const char *p = rest - 1;
			while (p > s && *p != ' ')
				p--;
			if (*p == ' ' && p - s > (rest - s) / 2)
				end = p;
		}
		seg[n].s = s;
		seg[n].len = (size_t)(end - s);
		n++;
		len -= (size_t)(end - s);
		s = end;
		while (len > 0 && *s == ' ')
			s++, len--; /* a row starts on a word */
	}
	*more = len > 0;
	if (n == 0) {
		seg[0].s = s;
		seg[0].len = 0;
		n = 1;
	}
	return n;
}
