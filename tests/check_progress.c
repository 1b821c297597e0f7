/*
 * tests/check_progress.c
 *     Unit tests (Check) of what the dashboard shows, without curses: the
 *     progress of a département and of the launch, numbers, rates and
 *     durations in a few columns, the bar, the counts line
 *     (coordinator/progress.c), text cut on display columns and wrapped
 *     (coordinator/text_fit.c), the table's columns and the row followed
 *     (coordinator/table_layout.c).
 */
#include <check.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "progress.h"
#include "table_layout.h"
#include "text_fit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* launch.c names the prepared transactions with verdict.c's verdict_gid: not tested here */
void verdict_gid(char *buf, size_t len, const char *launch_id, const char *dep);
void verdict_gid(char *buf, size_t len, const char *launch_id, const char *dep)
{
	snprintf(buf, len, "test-%s-%s", launch_id, dep);
}

/* ------------------------------------------------------------------ */
/* numbers, rates, durations                                          */

START_TEST(test_fmt_count)
{
	static const struct {
		uint64_t v;
		const char *want;
	} cases[] = {{0, "0"}, {999999, "999999"}, {1000000, "1.0M"}, {1234567, "1.2M"}};
	char buf[32];

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		progress_fmt_count(cases[i].v, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].want);
	}
}
END_TEST

START_TEST(test_fmt_rate)
{
	static const struct {
		double r;
		const char *want;
	} cases[] = {{0, "0/s"},       {850, "850/s"},  {999.4, "999/s"},   {999.5, "1.0k/s"},
	             {9800, "9.8k/s"}, {9950, "10k/s"}, {120000, "120k/s"}, {1.2e6, "1.2M/s"}};
	char buf[32];

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		progress_fmt_rate(cases[i].r, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].want);
		ck_assert_uint_le(strlen(buf), 7);
	}
}
END_TEST

START_TEST(test_fmt_eta)
{
	static const struct {
		double s;
		const char *want;
	} cases[] = {{0, "0s"},        {45, "45s"},        {59.4, "59s"},
	             {59.6, "1m00s"},  {725, "12m05s"},    {3600, "1h00m"},
	             {11220, "3h07m"}, {359999, "99h59m"}, {360000, ">99h"}};
	char buf[32];

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		progress_fmt_eta(cases[i].s, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].want);
		ck_assert_uint_le(strlen(buf), 6);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* progress and sums                                                  */

/* running returns a département in phase, its conventions planned and read. */
static dep_run running(const char *phase, uint32_t planned, entity e, uint32_t read)
{
	dep_run r;

	memset(&r, 0, sizeof(r));
	r.state = DEP_RUNNING;
	snprintf(r.phase, sizeof(r.phase), "%s", phase);
	r.planned[ENT_CONVENTION].read = planned;
	r.counts[e].read = read;
	return r;
}

START_TEST(test_progress_of_dep)
{
	dep_run r;

	memset(&r, 0, sizeof(r));
	ck_assert(progress_of_dep(&r) == 0); /* pending */
	r.state = DEP_COMMITTED;
	ck_assert(progress_of_dep(&r) == 1);
	r.state = DEP_FAILED;
	ck_assert(progress_of_dep(&r) == 1); /* finished, whichever way */
	/* half of the planned lots read: in the middle of the lots' phase */
	r = running("lot", 100, ENT_LOT, 50);
	ck_assert_double_eq_tol(progress_of_dep(&r), (ENT_LOT + 0.5) / ENT_COUNT, 1e-9);
	/* more read than planned (avenants): the phase counts whole, never more */
	r = running("convention", 10, ENT_CONVENTION, 30);
	ck_assert_double_eq_tol(progress_of_dep(&r), (ENT_CONVENTION + 1.0) / ENT_COUNT, 1e-9);
	/* a phase whose query has not answered yet has not begun */
	r = running("logement", 10, ENT_LOGEMENT, 0);
	r.wait_since = 12.5;
	ck_assert_double_eq_tol(progress_of_dep(&r), (double)ENT_LOGEMENT / ENT_COUNT, 1e-9);
	r.wait_since = 0;
	ck_assert_double_eq_tol(progress_of_dep(&r), (ENT_LOGEMENT + 0.5) / ENT_COUNT, 1e-9);
	/* an unknown phase (connecting, the history) is the start */
	r = running("history", 10, ENT_CONVENTION, 0);
	ck_assert(progress_of_dep(&r) == 0);
}
END_TEST

START_TEST(test_sums)
{
	row_sums s;
	dep_run a = running("lot", 100, ENT_LOT, 50), b;

	memset(&s, 0, sizeof(s));
	ck_assert(progress_sums_fraction(&s) == -1); /* nothing tells yet */
	a.counts[ENT_CONVENTION].read = 100;
	a.counts[ENT_CONVENTION].created = 60;
	a.counts[ENT_CONVENTION].skipped = 30;
	a.counts[ENT_CONVENTION].errors = 10;
	a.counts[ENT_BAILLEUR].read = 7; /* shared: not in the progress */
	a.counts[ENT_BAILLEUR].matched = 7;
	memset(&b, 0, sizeof(b));
	b.state = DEP_COMMITTED;
	progress_sums_add(&s, &a);
	progress_sums_add(&s, &b);
	ck_assert_int_eq(s.departements, 2);
	ck_assert_uint_eq(s.read[ENT_CONVENTION], 100);
	ck_assert_uint_eq(s.written[ENT_CONVENTION], 60);
	ck_assert_uint_eq(s.written[ENT_BAILLEUR], 7);
	ck_assert_uint_eq(s.all_written, 67);
	ck_assert_uint_eq(s.main_read, 150); /* conventions and lots, not bailleurs */
	ck_assert_uint_eq(s.main_done, 100); /* written, skipped and in error */
	ck_assert_double_eq_tol(progress_sums_fraction(&s), ((ENT_LOT + 0.5) / ENT_COUNT + 1.0) / 2,
	                        1e-9);
	ck_assert(progress_is_main(ENT_LOGEMENT));
	ck_assert(!progress_is_main(ENT_ADMINISTRATION));
	ck_assert(!progress_is_main(ENT_AVENANT_TYPE));
}
END_TEST

START_TEST(test_progress_line)
{
	dep_run r = running("lot", 100, ENT_LOT, 40);
	char buf[256];

	r.counts[ENT_CONVENTION].read = 130;
	r.counts[ENT_CONVENTION].created = 100;
	r.counts[ENT_CONVENTION].matched = 0;
	r.counts[ENT_CONVENTION].skipped = 20;
	r.counts[ENT_LOT].created = 40;
	progress_line(&r, 100, buf, sizeof(buf));
	ck_assert_str_eq(buf, "running, lot: convention 100/130 lot 40/40");
	r.wait_since = 88;
	progress_line(&r, 100.4, buf, sizeof(buf));
	ck_assert_str_eq(buf, "running, waiting on Ecoloweb for lot since 12 s: convention 100/130 "
	                      "lot 40/40");
	memset(&r, 0, sizeof(r));
	progress_phase_text(&r, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "starting");
	/* a short buffer is cut, never overrun */
	r = running("lot", 100, ENT_LOT, 40);
	progress_line(&r, 0, buf, 12);
	ck_assert_uint_eq(strlen(buf), 11);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the counts line and the bar                                        */

START_TEST(test_counts_text)
{
	row_sums s;
	char buf[128];

	memset(&s, 0, sizeof(s));
	progress_counts_text(&s, 40, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	s.read[ENT_CONVENTION] = s.written[ENT_CONVENTION] = 120;
	s.read[ENT_LOT] = s.written[ENT_LOT] = 120;
	s.read[ENT_LOGEMENT] = 840, s.written[ENT_LOGEMENT] = 2500000;
	s.read[ENT_PIECEJOINTE] = s.written[ENT_PIECEJOINTE] = 300;
	progress_counts_text(&s, 60, buf, sizeof(buf));
	ck_assert_str_eq(buf, "conv 120 lot 120 lgt 2.5M pj 300");
	/* whole items only, " +" when some did not fit */
	progress_counts_text(&s, 20, buf, sizeof(buf));
	ck_assert_str_eq(buf, "conv 120 lot 120 +");
	ck_assert_uint_le(strlen(buf), 20);
}
END_TEST

START_TEST(test_bar_text)
{
	char buf[64];

	progress_bar_text(0.45, false, 0, 17, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[#####.....]  45%");
	progress_bar_text(1.0, false, 0, 17, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[##########] 100%");
	progress_bar_text(0, false, 0, 17, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[..........]   0%");
	/* nothing read yet: a bouncing segment and a spinner, same width */
	progress_bar_text(-1, true, 0, 17, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[===       ]    |");
	progress_bar_text(-1, true, 0.25, 17, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[ ===      ]    /");
	progress_bar_text(-1, false, 0, 17, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[          ]");
	/* too narrow: nothing */
	progress_bar_text(0.5, false, 0, 7, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* text cut on display columns, wrapped                               */

START_TEST(test_text_fit)
{
	wchar_t out[64];
	const char *rest;
	int cols;
	size_t n;

	ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C.UTF-8"));
	n = text_fit("Côtes-d'Armor", strlen("Côtes-d'Armor"), 5, out, 64, &cols, &rest);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(cols, 5);
	ck_assert(wcscmp(out, L"Côtes") == 0);
	ck_assert_str_eq(rest, "-d'Armor"); /* the cut is after the whole "ô" */
	n = text_fit("a\tb\xff", 4, 10, out, 64, &cols, &rest);
	ck_assert(wcscmp(out, L"a b?") == 0); /* control: space; bad byte: '?' */
	ck_assert_ptr_null(rest);
	/* a wide character that does not fit is left whole for later */
	n = text_fit("ab\xe6\x9d\xb1", 5, 3, out, 64, &cols, &rest);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rest, "\xe6\x9d\xb1");
	ck_assert(text_ellipsis() == L'\u2026');
}
END_TEST

START_TEST(test_text_wrap)
{
	text_segment seg[4];
	bool more;
	int n;

	ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C.UTF-8"));
	/* a row ends at the last space of its second half, the next starts on the word */
	n = text_wrap("abcdefgh ijklmnop", 12, seg, 4, &more);
	ck_assert_int_eq(n, 2);
	ck_assert(!more);
	ck_assert_int_eq((int)seg[0].len, 8);
	ck_assert_int_eq((int)seg[1].len, 8);
	ck_assert(strncmp(seg[1].s, "ijklmnop", 8) == 0);
	/* no space in the second half: cut at the width */
	n = text_wrap("abc defghijklmnop", 8, seg, 4, &more);
	ck_assert_int_eq((int)seg[0].len, 8);
	n = text_wrap("aaaaaaaaaa bbbbbbbbbb cccccccccc", 10, seg, 2, &more);
	ck_assert_int_eq(n, 2);
	ck_assert(more); /* at most max rows */
	n = text_wrap("", 10, seg, 4, &more);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(seg[0].len, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the table                                                          */

START_TEST(test_table_layout)
{
	table_layout lay;

	table_layout_compute(200, &lay);
	for (int c = 0; c < COL_N; c++)
		ck_assert_int_gt(lay.w[c], 0);
	ck_assert_int_le(lay.x[COL_ERROR] + lay.w[COL_ERROR], 200);
	/* narrow: the most useful columns only, left to right */
	table_layout_compute(30, &lay);
	ck_assert_int_gt(lay.w[COL_CODE], 0);
	ck_assert_int_gt(lay.w[COL_STATE], 0);
	ck_assert_int_gt(lay.w[COL_BAR], 0);
	ck_assert_int_eq(lay.w[COL_COUNTS], 0);
	ck_assert_int_eq(lay.w[COL_ERROR], 0);
	ck_assert_int_le(lay.x[COL_BAR] + lay.w[COL_BAR], 30);
}
END_TEST

START_TEST(test_follow_row)
{
	dep_run deps[3];
	launch l;

	memset(deps, 0, sizeof(deps));
	memset(&l, 0, sizeof(l));
	l.deps = deps;
	l.n = 3;
	deps[0].state = DEP_COMMITTED;
	deps[1].state = DEP_RUNNING;
	ck_assert_uint_eq(table_follow_row(&l), 1); /* the first still to finish */
	deps[1].state = DEP_CHECKED;
	deps[2].state = DEP_FAILED;
	ck_assert_uint_eq(table_follow_row(&l), 2); /* all finished: the first failed */
	deps[2].state = DEP_ROLLED_BACK;
	ck_assert_uint_eq(table_follow_row(&l), 0);
	ck_assert(!table_is_finished(DEP_READY));
}
END_TEST

/* ------------------------------------------------------------------ */
/* the launch model                                                   */

START_TEST(test_launch_jobs_status)
{
	options o;
	dep_run deps[3];
	launch l;

	memset(&o, 0, sizeof(o));
	ck_assert_uint_eq(launch_jobs(&o, 3), 3);  /* one worker per département */
	ck_assert_uint_eq(launch_jobs(&o, 20), 8); /* at most 8 */
	o.jobs = 2;
	ck_assert_uint_eq(launch_jobs(&o, 20), 2); /* --jobs */
	ck_assert_uint_eq(launch_jobs(&o, 1), 1);  /* never more than départements */
	o.dry_run = true;
	ck_assert_uint_eq(launch_jobs(&o, 20), 1); /* a dry run: one at a time */
	memset(deps, 0, sizeof(deps));
	memset(&l, 0, sizeof(l));
	l.deps = deps;
	l.n = 3;
	deps[0].state = deps[1].state = DEP_COMMITTED;
	deps[2].state = DEP_CHECKED;
	ck_assert_int_eq(launch_status(&l), 0);
	deps[2].state = DEP_ROLLED_BACK;
	ck_assert_int_eq(launch_status(&l), 1);
	l.interrupted = SIGTERM;
	ck_assert_int_eq(launch_status(&l), 143);
	l.interrupted = SIGINT;
	ck_assert_int_eq(launch_status(&l), 130);
	ck_assert_str_eq(dep_state_name(DEP_ROLLED_BACK), "rolled back");
}
END_TEST

static Suite *progress_suite(void)
{
	Suite *s = suite_create("progress");
	TCase *tc = tcase_create("progress");

	tcase_add_test(tc, test_fmt_count);
	tcase_add_test(tc, test_fmt_rate);
	tcase_add_test(tc, test_fmt_eta);
	tcase_add_test(tc, test_progress_of_dep);
	tcase_add_test(tc, test_sums);
	tcase_add_test(tc, test_progress_line);
	tcase_add_test(tc, test_counts_text);
	tcase_add_test(tc, test_bar_text);
	tcase_add_test(tc, test_text_fit);
	tcase_add_test(tc, test_text_wrap);
	tcase_add_test(tc, test_table_layout);
	tcase_add_test(tc, test_follow_row);
	tcase_add_test(tc, test_launch_jobs_status);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(progress_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
