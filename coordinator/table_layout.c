/*
 * coordinator/table_layout.c
 *     The dashboard's table without curses (table_layout.h).
 */
#include <string.h>

#include "table_layout.h"

/* table_is_finished tells whether a département has nothing left to do. */
bool table_is_finished(dep_state s)
{
	return s == DEP_COMMITTED || s == DEP_CHECKED || s == DEP_ROLLED_BACK || s == DEP_FAILED;
}

/*
 * table_layout_compute chooses the columns that fit in cols, most useful first
 * (code, state, bar, rate, ETA, counts, last error), then spreads what is
 * left over: the counts first, then the bar, the rest to the last error.
 */
void table_layout_compute(int cols, table_layout *lay)
{
	static const int min_w[COL_N] = {
	        [COL_CODE] = 5, [COL_STATE] = 11, [COL_BAR] = 10,  [COL_COUNTS] = 12,
	        [COL_RATE] = 7, [COL_ETA] = 6,    [COL_ERROR] = 8,
	};
	static const int priority[COL_N] = {COL_CODE, COL_STATE,  COL_BAR,  COL_RATE,
	                                    COL_ETA,  COL_COUNTS, COL_ERROR};
	int used = 0, extra, grow;

	memset(lay, 0, sizeof(*lay));
	for (int i = 0; i < COL_N; i++) {
		int c = priority[i], need = min_w[c] + (used > 0);
		if (used + need <= cols) {
			lay->w[c] = min_w[c];
			used += need;
		}
	}
	extra = cols - used;
	if (lay->w[COL_COUNTS]) {
		grow = extra / 2 < 36 ? extra / 2 : 36;
		lay->w[COL_COUNTS] += grow;
		extra -= grow;
	}
	if (lay->w[COL_BAR]) {
		grow = extra / 2 < 17 ? extra / 2 : 17;
		lay->w[COL_BAR] += grow;
		extra -= grow;
	}
	if (lay->w[COL_ERROR])
		lay->w[COL_ERROR] += extra;
	for (int c = 0, x = 0; c < COL_N; c++) {
		if (lay->w[c] == 0)
			continue;
		lay->x[c] = x;
		x += lay->w[c] + 1;
	}
}

/*
 * table_follow_row returns the first département to show when following: the
 * first one still to finish, else the first that failed, else the first.
 */
size_t table_follow_row(const launch *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (!table_is_finished(l->deps[i].state))
			return i;
	for (size_t i = 0; i < l->n; i++)
		if (l->deps[i].state == DEP_FAILED)
			return i;
	return 0;
}
