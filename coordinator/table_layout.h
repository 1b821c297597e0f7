/*
 * coordinator/table_layout.h
 *     The dashboard's table without curses: which columns fit on a width,
 *     and which département rows to show.
 */
#ifndef ECOLO_TABLE_LAYOUT_H
#define ECOLO_TABLE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "launch.h"

/* Table columns, in display order. */
enum { COL_CODE, COL_STATE, COL_BAR, COL_COUNTS, COL_RATE, COL_ETA, COL_ERROR, COL_N };

/* Where each column sits on the current width; w == 0: not shown. */
typedef struct table_layout {
	int x[COL_N];
	int w[COL_N];
} table_layout;

/*
 * table_layout_compute chooses the columns that fit in cols, most useful
 * first, then spreads what is left over.
 */
void table_layout_compute(int cols, table_layout *lay);

/* table_is_finished tells whether a département has nothing left to do. */
bool table_is_finished(dep_state s);

/*
 * table_follow_row returns the first département to show when following:
 * the first one still to finish, else the first that failed, else the first.
 */
size_t table_follow_row(const launch *l);

#endif
