/*
 * coordinator/dashboard.c
 *     The ncurses dashboard shown while a launch runs on a terminal
 *     (design.md, "What the operator sees"). It is redrawn whole from the
 *     launch on every call — curses sends only what changed — so it keeps
 *     no copy of the départements' state, only the log lines, the scroll
 *     position and the abort confirmation.
 *
 *     Text goes through text_fit() (text_fit.h), which cuts it on display
 *     columns, never inside a UTF-8 sequence; the numbers, bars and counts
 *     come from progress.h.
 */
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1 /* the wide-character API of ncursesw */
#endif

#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

#include "dashboard.h"
#include "entity.h"
#include "launch.h"
#include "progress.h"
#include "table_layout.h"
#include "text_fit.h"

#define PROGRAM_NAME "import_ecoloweb_data"
#define LOG_KEEP 512       /* log lines kept for the bottom pane */
#define LOG_LINE_KEEP 1024 /* bytes kept of each log line */
#define LOG_WRAP_MAX 4     /* screen rows one log line may take */
#define TEXT_MAX 1024      /* wide characters drawn in one call */

/* Color pairs (when the terminal has colors). */
enum { PAIR_NONE = 0, PAIR_GREEN, PAIR_RED, PAIR_YELLOW, PAIR_CYAN };

struct dashboard {
	SCREEN *screen;      /* our curses screen (newterm), deleted at close */
	const launch *l;     /* the launch drawn last: redrawn after a key or a resize */
	double opened;       /* when the dashboard opened (epoch seconds) */
	bool colors;         /* the terminal has colors */
	bool confirming;     /* "Abort the import? (y/n)" is shown */
	bool abort_asked;    /* the operator answered y: say so until the end */
	bool follow;         /* scroll to the first unfinished département */
	size_t first;        /* first département row shown when !follow */
	size_t page;         /* département rows shown at the last draw */
	bool truncated;      /* some département rows were hidden at the last draw */
	char *log[LOG_KEEP]; /* ring of log lines (malloc'd), oldest at log_head */
	size_t log_head, log_n;
};

/* pair_attr returns the attribute of color pair p, or nothing without colors. */
static attr_t pair_attr(const dashboard *d, int p)
{
	return d->colors && p != PAIR_NONE ? (attr_t)COLOR_PAIR(p) : A_NORMAL;
}

/* How put_textn shows that text was cut. */
enum { MARK_NONE, MARK_CUT, MARK_ALWAYS /* the text goes on elsewhere */ };

/*
 * put_textn draws the len bytes of s at (y, x) within width columns,
 * aligned right when right is true, with attribute a. Text that does not
 * fit is cut on a character; with MARK_CUT its last column becomes an
 * ellipsis, with MARK_ALWAYS too even if it fit. Nothing is drawn outside
 * the screen, nor in its bottom-right cell (writing there would scroll).
 * Returns the columns drawn.
 */
static int put_textn(int y, int x, int width, const char *s, size_t len, attr_t a, bool right,
                     int mark)
{
	wchar_t buf[TEXT_MAX];
	const char *rest;
	int rows, cols, used;
	size_t n;

	getmaxyx(stdscr, rows, cols);
	if (y < 0 || y >= rows || x < 0 || x >= cols || width <= 0)
		return 0;
	if (width > cols - x)
		width = cols - x;
	if (y == rows - 1 && x + width >= cols)
		width = cols - x - 1;
	if (width <= 0)
		return 0;
	n = text_fit(s, len, width, buf, TEXT_MAX, &used, &rest);
	if ((rest && mark == MARK_CUT) || mark == MARK_ALWAYS) {
		n = text_fit(s, len, width - 1, buf, TEXT_MAX - 1, &used, &rest);
		buf[n++] = text_ellipsis();
		buf[n] = L'\0';
		used++;
	}
	if (right && used < width)
		x += width - used;
	attron(a);
	mvaddnwstr(y, x, buf, (int)n);
	attroff(a);
	return used;
}

/* put_text draws the string s as put_textn does, marking it when cut if mark is true. */
static int put_text(int y, int x, int width, const char *s, attr_t a, bool right, bool mark)
{
	if (!s)
		return 0;
	return put_textn(y, x, width, s, strlen(s), a, right, mark ? MARK_CUT : MARK_NONE);
}

/* fill_row paints row y with spaces in attribute a (title bar). */
static void fill_row(int y, attr_t a)
{
	int rows, cols;

	getmaxyx(stdscr, rows, cols);
	if (y < 0 || y >= rows)
		return;
	/* hline draws its character as given: the attribute goes with it */
	mvhline(y, 0, (chtype)' ' | a, y == rows - 1 ? cols - 1 : cols);
}

/* state_attr returns how a state is shown: green done, red failed, yellow running. */
static attr_t state_attr(const dashboard *d, dep_state s)
{
	switch (s) {
	case DEP_COMMITTED:
	case DEP_CHECKED:
		return pair_attr(d, PAIR_GREEN) | A_BOLD;
	case DEP_FAILED:
		return pair_attr(d, PAIR_RED) | A_BOLD;
	case DEP_RUNNING:
		return pair_attr(d, PAIR_YELLOW);
	case DEP_READY:
		return pair_attr(d, PAIR_CYAN);
	case DEP_ROLLED_BACK:
		return A_NORMAL;
	case DEP_PENDING:
		return A_DIM;
	}
	return A_NORMAL;
}

/* put_col draws text in column c of row y, if the column is shown. */
static void put_col(const table_layout *lay, int y, int c, const char *text, attr_t a, bool right)
{
	if (lay->w[c] > 0)
		put_text(y, lay->x[c], lay->w[c], text, a, right, c == COL_ERROR);
}

/* draw_header draws the column titles. */
static void draw_header(const table_layout *lay, int y)
{
	attr_t a = A_BOLD | A_UNDERLINE;

	put_col(lay, y, COL_CODE, "dep", a, false);
	put_col(lay, y, COL_STATE, "state", a, false);
	put_col(lay, y, COL_BAR, "progress", a, false);
	put_col(lay, y, COL_COUNTS, "rows written", a, false);
	put_col(lay, y, COL_RATE, "rate", a, true);
	put_col(lay, y, COL_ETA, "ETA", a, true);
	put_col(lay, y, COL_ERROR, "phase / last error", a, false);
}

/*
 * draw_numbers draws the columns a département row and the totals row
 * share: bar (a spinner when spin and nothing read yet), counts, rate, and
 * ETA when eta_ok, from sums over elapsed seconds.
 */
static void draw_numbers(const table_layout *lay, int y, const row_sums *s, double elapsed,
                         bool started, bool spin, bool eta_ok, double now)
{
	char buf[256];
	double f = progress_sums_fraction(s);

	if (lay->w[COL_BAR]) {
		progress_bar_text(f, spin, now, lay->w[COL_BAR], buf, sizeof(buf));
		put_col(lay, y, COL_BAR, buf, A_NORMAL, false);
	}
	if (lay->w[COL_COUNTS]) {
		progress_counts_text(s, lay->w[COL_COUNTS], buf, sizeof(buf));
		put_col(lay, y, COL_COUNTS, buf, A_NORMAL, false);
	}
	if (!started)
		return;
	if (elapsed >= 0.5) {
		progress_fmt_rate((double)s->all_written / elapsed, buf, sizeof(buf));
		put_col(lay, y, COL_RATE, buf, A_NORMAL, true);
	} else {
		put_col(lay, y, COL_RATE, "-", A_NORMAL, true);
	}
	/* the part still to come, at the pace so far */
	if (eta_ok && f > 0 && f < 1 && elapsed >= 1)
		progress_fmt_eta(elapsed * (1 - f) / f, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "-");
	put_col(lay, y, COL_ETA, buf, A_NORMAL, true);
}

/*
 * draw_phase draws what a running département does: its phase, or that it
 * waits on Ecoloweb for the first row of a class, and for how long.
 */
static void draw_phase(const dashboard *d, const table_layout *lay, int y, const dep_run *r)
{
	char buf[96], waited[16];

	if (r->wait_since <= 0) {
		put_col(lay, y, COL_ERROR, r->phase, A_DIM, false);
		return;
	}
	progress_fmt_eta(mono_s() - r->wait_since, waited, sizeof(waited));
	snprintf(buf, sizeof(buf), "waiting on Ecoloweb: %s %s", r->phase, waited);
	put_col(lay, y, COL_ERROR, buf, pair_attr(d, PAIR_YELLOW), false);
}

/* draw_dep draws the row of one département. */
static void draw_dep(const dashboard *d, const table_layout *lay, int y, const dep_run *r,
                     double now)
{
	row_sums s;
	bool active = r->state == DEP_RUNNING || r->state == DEP_READY;
	/* no ETA while a source query is silent: the rate so far says nothing of it */
	bool eta_ok = active && r->wait_since <= 0;
	double end = r->ended > 0 ? r->ended : now;

	memset(&s, 0, sizeof(s));
	progress_sums_add(&s, r);
	put_col(lay, y, COL_CODE, r->code, A_BOLD, false);
	put_col(lay, y, COL_STATE, dep_state_name(r->state), state_attr(d, r->state), false);
	if (r->state == DEP_PENDING)
		return;
	if (s.main_read == 0 && (r->state == DEP_COMMITTED || r->state == DEP_CHECKED))
		s.main_read = s.main_done = 1; /* nothing to import: done all the same */
	draw_numbers(lay, y, &s, r->started > 0 ? end - r->started : 0, r->started > 0, active,
	             eta_ok, now);
	if (r->last_error[0])
		put_col(lay, y, COL_ERROR, r->last_error, pair_attr(d, PAIR_RED), false);
	else if (active && r->phase[0])
		draw_phase(d, lay, y, r);
}

/* launch_start returns when the launch began: l->started, its first worker, or the opening. */
static double launch_start(const dashboard *d, const launch *l)
{
	double t = l->started > 0 && l->started < d->opened ? l->started : d->opened;

	for (size_t i = 0; i < l->n; i++)
		if (l->deps[i].started > 0 && l->deps[i].started < t)
			t = l->deps[i].started;
	return t;
}

/* draw_total draws the totals row: how many finished, sums, overall rate and ETA. */
static void draw_total(const dashboard *d, const launch *l, const table_layout *lay, int y,
                       double now)
{
	row_sums s;
	size_t finished = 0, failed = 0, pending = 0;
	bool active = false, started = false, all_done = l->n > 0;
	double last_end = 0;
	char buf[64];

	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < l->n; i++) {
		const dep_run *r = &l->deps[i];
		progress_sums_add(&s, r);
		finished += table_is_finished(r->state);
		failed += r->state == DEP_FAILED;
		active |= r->state == DEP_RUNNING || r->state == DEP_READY;
		pending += r->state == DEP_PENDING;
		started |= r->started > 0;
		all_done &= table_is_finished(r->state);
		if (r->ended > last_end)
			last_end = r->ended;
	}
	double start = launch_start(d, l);
	double end = all_done && last_end > 0 ? last_end : now;

	put_col(lay, y, COL_CODE, "total", A_BOLD, false);
	snprintf(buf, sizeof(buf), "%zu/%zu done", finished, l->n);
	put_col(lay, y, COL_STATE, buf, A_BOLD, false);
	/* no ETA while départements wait: their rows are not even counted yet */
	draw_numbers(lay, y, &s, end - start, started, started && (active || pending),
	             active && !pending, now);
	if (failed) {
		snprintf(buf, sizeof(buf), "%zu failed", failed);
		put_col(lay, y, COL_ERROR, buf, pair_attr(d, PAIR_RED) | A_BOLD, false);
	}
}

/* draw_title draws the first line: program, launch, date, flags, elapsed time. */
static void draw_title(const dashboard *d, const launch *l, int y, int cols, double now)
{
	const options *o = l->opts;
	char left[256], right[48];
	long t = (long)(now - launch_start(d, l));
	attr_t a = A_REVERSE | A_BOLD;
	int w;

	if (t < 0)
		t = 0;
	if (l->interrupted)
		a |= pair_attr(d, PAIR_RED);
	snprintf(left, sizeof(left), "%s  launch %s  run %s%s%s%s", PROGRAM_NAME, l->launch_id,
	         l->run_date, o && o->dry_run ? "  [dry run]" : "",
	         o && o->update ? "  [update]" : "", l->interrupted ? "  INTERRUPTED" : "");
	snprintf(right, sizeof(right), "elapsed %ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	fill_row(y, a);
	w = (int)strlen(right);
	if (cols >= w + 12) {
		put_text(y, cols - w, w, right, a, false, false);
		put_text(y, 0, cols - w - 1, left, a, false, true);
	} else {
		put_text(y, 0, cols, left, a, false, true);
	}
}

/* draw_status draws the bottom line: the abort question, what is going on, or the keys. */
static void draw_status(const dashboard *d, const launch *l, int y, int cols)
{
	if (d->confirming) {
		fill_row(y, A_REVERSE);
		put_text(y, 0, cols, "Abort the import? (y/n)", A_REVERSE | A_BOLD, false, true);
	} else if (d->abort_asked || l->interrupted || l->aborting) {
		put_text(y, 0, cols, "aborting: rolling back, waiting for the workers...",
		         pair_attr(d, PAIR_RED) | A_BOLD, false, true);
	} else {
		put_text(y, 0, cols,
		         d->truncated ? "q: abort   up/down pgup/pgdn: scroll   home: follow"
		                      : "q: abort",
		         A_DIM, false, true);
	}
}

/*
 * draw_table draws header, département rows and totals in rows [y, y + h).
 * When they do not all fit, a window of them is shown and one line says
 * "+N more".
 */
static void draw_table(dashboard *d, const launch *l, int y, int h, int cols, double now)
{
	table_layout lay;
	size_t slots, shown, first;

	table_layout_compute(cols, &lay);
	d->truncated = false;
	d->page = 0;
	if (h <= 0)
		return;
	if (h == 1) {
		draw_total(d, l, &lay, y, now);
		d->truncated = l->n > 0;
		return;
	}
	/* a tiny screen shows a département rather than column titles */
	bool header = h >= 4 || l->n + 2 <= (size_t)h;
	if (header)
		draw_header(&lay, y);
	draw_total(d, l, &lay, y + h - 1, now);
	slots = (size_t)(h - 1 - header);
	if (l->n <= slots) {
		shown = l->n;
		first = 0;
	} else {
		d->truncated = true;
		shown = slots > 0 ? slots - 1 : 0; /* one line for "+N more" */
		first = d->follow ? table_follow_row(l) : d->first;
		if (first + shown > l->n)
			first = l->n - shown;
		d->first = first;
	}
	d->page = shown;
	for (size_t i = 0; i < shown; i++)
		draw_dep(d, &lay, y + header + (int)i, &l->deps[first + i], now);
	if (shown < l->n && slots > 0) {
		char buf[128];
		size_t above = first, below = l->n - first - shown;
		snprintf(buf, sizeof(buf), "+%zu more (%zu above, %zu below)", l->n - shown, above,
		         below);
		put_text(y + header + (int)shown, 0, cols, buf, A_DIM, false, true);
	}
}

/* log_line returns the i-th oldest log line kept. */
static const char *log_line(const dashboard *d, size_t i)
{
	return d->log[(d->log_head + i) % LOG_KEEP];
}

/*
 * log_view returns where a log line is drawn from: without its date
 * ("2026-11-26T"; the title has the date) when it starts with one.
 */
static const char *log_view(const char *line)
{
	static const char pattern[] = "dddd-dd-ddT";

	for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
		char p = pattern[i], c = line[i];
		if (p == 'd' ? (c < '0' || c > '9') : c != p)
			return line;
	}
	return line + sizeof(pattern) - 1;
}

/* log_attr returns how a log line is shown, from its level. */
static attr_t log_attr(const dashboard *d, const char *line)
{
	char head[48];

	snprintf(head, sizeof(head), "%s", line); /* the level is near the start */
	if (strstr(head, " ERROR "))
		return pair_attr(d, PAIR_RED);
	if (strstr(head, " WARN "))
		return pair_attr(d, PAIR_YELLOW);
	if (strstr(head, " DEBUG "))
		return A_DIM;
	return A_NORMAL;
}

/* draw_log draws the newest log lines that fit in rows [y, y + h), under a rule. */
static void draw_log(const dashboard *d, int y, int h, int cols)
{
	text_segment seg[LOG_WRAP_MAX];
	size_t first, i;
	int need = 0, skip, row;
	bool more;

	if (h <= 0)
		return;
	/* a line-drawing rule where the charset has one (tmux shows ACS as 'q' in the C locale) */
	mvhline(y, 0, MB_CUR_MAX > 1 ? ACS_HLINE : (chtype)'-', cols);
	put_text(y, 2, cols - 2, " log ", A_BOLD, false, false);
	y++, h--;
	/* newest first, find the oldest line that still shows */
	for (first = d->log_n; first > 0 && need < h; first--)
		need += text_wrap(log_view(log_line(d, first - 1)), cols, seg, LOG_WRAP_MAX, &more);
	skip = need > h ? need - h : 0; /* rows of the oldest line left out: its end */
	row = y;
	for (i = first; i < d->log_n; i++) {
		const char *line = log_line(d, i);
		int n = text_wrap(log_view(line), cols, seg, LOG_WRAP_MAX, &more);
		attr_t a = log_attr(d, line);

		if (i == first && skip > 0) {
			n -= skip;
			more = true;
		}
		for (int k = 0; k < n; k++, row++) {
			int x = k == 0 ? 0 : 2;
			put_textn(row, x, cols - x, seg[k].s, seg[k].len, a, false,
			          k == n - 1 && more ? MARK_ALWAYS : MARK_NONE);
		}
	}
}

/* draw_all lays the screen out from the launch l and refreshes it. */
static void draw_all(dashboard *d, const launch *l)
{
	int rows, cols, middle, table_rows, table_full, log_rows = 0;
	double now = now_s();

	getmaxyx(stdscr, rows, cols);
	erase();
	if (rows <= 0 || cols <= 0) {
		refresh();
		return;
	}
	if (rows == 1) { /* the question must show above all */
		if (d->confirming)
			draw_status(d, l, 0, cols);
		else
			draw_title(d, l, 0, cols - 1, now); /* not the bottom-right cell */
		refresh();
		return;
	}
	draw_title(d, l, 0, cols, now);
	draw_status(d, l, rows - 1, cols);
	middle = rows - 2;
	table_full = (int)(l->n < (size_t)middle ? l->n : (size_t)middle) + 2;
	/* the whole table first, then at least a rule and two log lines */
	if (middle >= table_full + 2) {
		table_rows = table_full;
		log_rows = middle - table_rows;
	} else if (middle >= 3 + 3) {
		log_rows = 3;
		table_rows = middle - log_rows;
	} else {
		table_rows = middle;
	}
	draw_table(d, l, 1, table_rows, cols, now);
	draw_log(d, 1 + table_rows, log_rows, cols);
	refresh();
}

dashboard *dashboard_open(const launch *l)
{
	const char *term = getenv("TERM");
	struct sigaction old_int, old_term;
	dashboard *d;

	if (!isatty(STDOUT_FILENO) || !term || !*term || strcmp(term, "dumb") == 0)
		return NULL;
	/* wide characters need the locale's charset; numbers stay C (SQL, JSON) */
	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	fflush(stdout);
	sigaction(SIGINT, NULL, &old_int);
	sigaction(SIGTERM, NULL, &old_term);
	/* newterm, not initscr: initscr exits when the terminal is unknown */
	d->screen = newterm(NULL, stdout, stdin);
	/*
	 * curses catches SIGINT and SIGTERM when they are at their default, to
	 * restore the terminal and _exit(1): that would skip the coordinator's
	 * ABORT and lie about the exit status (130/143). Give them back.
	 * SIGTSTP (restores the terminal on ^Z) and SIGWINCH (KEY_RESIZE) keep
	 * the curses handlers unless the coordinator set its own.
	 */
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (!d->screen) {
		free(d);
		return NULL;
	}
	set_term(d->screen);
	cbreak(); /* keys at once; Ctrl-C still sends SIGINT */
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	if (has_colors() && start_color() == OK) {
		short bg = use_default_colors() == OK ? -1 : COLOR_BLACK;
		init_pair(PAIR_GREEN, COLOR_GREEN, bg);
		init_pair(PAIR_RED, COLOR_RED, bg);
		init_pair(PAIR_YELLOW, COLOR_YELLOW, bg);
		init_pair(PAIR_CYAN, COLOR_CYAN, bg);
		d->colors = true;
	}
	d->opened = now_s();
	d->follow = true;
	d->l = l;
	if (l)
		draw_all(d, l);
	return d;
}

void dashboard_log(dashboard *d, const char *line)
{
	char *copy;
	size_t n;

	if (!d || !line)
		return;
	n = strnlen(line, LOG_LINE_KEEP - 1);
	copy = malloc(n + 1);
	if (!copy)
		return; /* the line is lost from the screen, the launch goes on */
	memcpy(copy, line, n);
	copy[n] = '\0';
	while (n > 0 && (copy[n - 1] == '\n' || copy[n - 1] == '\r'))
		copy[--n] = '\0';
	if (d->log_n < LOG_KEEP) {
		d->log[(d->log_head + d->log_n) % LOG_KEEP] = copy;
		d->log_n++;
	} else {
		free(d->log[d->log_head]);
		d->log[d->log_head] = copy;
		d->log_head = (d->log_head + 1) % LOG_KEEP;
	}
}

void dashboard_draw(dashboard *d, const launch *l)
{
	if (!d || !l)
		return;
	d->l = l;
	draw_all(d, l);
}

void dashboard_resize(dashboard *d)
{
	struct winsize ws;

	if (!d)
		return;
	/* the terminal's new size, read from the tty; else let curses find it again */
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		resizeterm(ws.ws_row, ws.ws_col);
	} else {
		endwin();
		refresh();
	}
	clearok(curscr, TRUE);
	if (d->l)
		draw_all(d, d->l);
}

/* scroll_by moves the département window by delta rows and stops following. */
static void scroll_by(dashboard *d, long delta)
{
	size_t n = d->l ? d->l->n : 0;
	long first = (long)d->first + delta;

	if (!d->truncated)
		return;
	if (first < 0)
		first = 0;
	if ((size_t)first + d->page > n)
		first = n > d->page ? (long)(n - d->page) : 0;
	d->first = (size_t)first;
	d->follow = false;
}

int dashboard_key(dashboard *d)
{
	int ch, result = 0;
	bool redraw = false;

	if (!d)
		return 0;
	while (result == 0 && (ch = getch()) != ERR) {
		if (ch == KEY_RESIZE) { /* curses' own SIGWINCH handler resized it */
			redraw = true;
			continue;
		}
		if (ch == 12) { /* Ctrl-L */
			clearok(curscr, TRUE);
			redraw = true;
			continue;
		}
		if (d->confirming) {
			if (ch == 'y' || ch == 'Y') {
				d->confirming = false;
				d->abort_asked = true;
				result = 'q';
				redraw = true;
			} else if (ch == 'n' || ch == 'N' || ch == 27) {
				d->confirming = false;
				redraw = true;
			}
			continue; /* anything else: the question stays */
		}
		switch (ch) {
		case 'q':
		case 'Q':
			if (!d->abort_asked)
				d->confirming = true;
			break;
		case KEY_UP:
			scroll_by(d, -1);
			break;
		case KEY_DOWN:
			scroll_by(d, 1);
			break;
		case KEY_PPAGE:
			scroll_by(d, -(long)(d->page > 1 ? d->page - 1 : 1));
			break;
		case KEY_NPAGE:
			scroll_by(d, (long)(d->page > 1 ? d->page - 1 : 1));
			break;
		case KEY_HOME:
			d->follow = true;
			break;
		default:
			continue;
		}
		redraw = true;
	}
	if (redraw && d->l)
		draw_all(d, d->l);
	return result;
}

void dashboard_close(dashboard *d)
{
	if (!d)
		return;
	endwin();
	delscreen(d->screen);
	fflush(stdout);
	for (size_t i = 0; i < d->log_n; i++)
		free(d->log[(d->log_head + i) % LOG_KEEP]);
	free(d);
}
