/*
 * coordinator/dashboard.h
 *     The operator's live view on a terminal (ncursesw): a title line, one
 *     row per département (state, progress bar, rows written per entity,
 *     rate, ETA, last error), a totals row, the last log lines, and a help
 *     line where the abort confirmation is asked. The coordinator owns the
 *     launch and the event loop; the dashboard only reads the launch and
 *     never blocks, exits or writes anywhere but the terminal.
 *
 *     Every function accepts a NULL dashboard and then does nothing, so the
 *     coordinator may call them whether or not the dashboard could open.
 */
#ifndef ECOLO_DASHBOARD_H
#define ECOLO_DASHBOARD_H

#include "launch.h"

typedef struct dashboard dashboard;

/*
 * dashboard_open starts curses on the terminal (stdout must be a tty, TERM
 * known); NULL if it cannot, and then nothing was changed but the locale.
 * Sets the locale from the environment (LC_NUMERIC stays "C"). The launch
 * is kept to redraw after a key or a resize: it must outlive the dashboard.
 */
dashboard *dashboard_open(const launch *l);

/* dashboard_log keeps a log line (already formatted: time, level, [dep], text) for the bottom pane.
 */
void dashboard_log(dashboard *d, const char *line);

/* dashboard_draw redraws everything from the launch's current state (called by a timer ~4/s and
 * after events). */
void dashboard_draw(dashboard *d, const launch *l);

/* dashboard_resize handles SIGWINCH (endwin/refresh, new size), and redraws. */
void dashboard_resize(dashboard *d);

/*
 * dashboard_key reads pending keys without blocking; returns 'q' when the
 * operator asked to abort (after a y/n confirmation shown in the status
 * line), 0 otherwise. Arrows, PgUp/PgDn and Home scroll the département
 * rows when they do not all fit; Ctrl-L repaints.
 */
int dashboard_key(dashboard *d);

/* dashboard_close ends curses, restoring the terminal, and frees. */
void dashboard_close(dashboard *d);

#endif
