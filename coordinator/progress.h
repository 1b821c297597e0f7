/*
 * coordinator/progress.h
 *     How far a launch is (the dashboard's numbers and bars), with no
 *     curses: unit-tested on its own.
 */
#ifndef ECOLO_PROGRESS_H
#define ECOLO_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entity.h"
#include "launch.h"

/* What one département (or the total) amounts to, for one row. */
typedef struct row_sums {
	uint64_t read[ENT_COUNT];    /* source rows read */
	uint64_t written[ENT_COUNT]; /* created + matched + updated */
	uint64_t main_read;          /* main entity classes: rows read */
	uint64_t main_done;          /* ... and handled (written, skipped, in error) */
	uint64_t all_written;        /* every class: rows written (the rate) */
	double progress;             /* sum over départements of their progress, 0..1 each */
	int departements;
} row_sums;

/* progress_fmt_count writes a row count: exact below a million, then 1.2M. */
void progress_fmt_count(uint64_t v, char *buf, size_t len);

/* progress_fmt_rate writes rows per second in at most 7 columns: 850/s, 9.8k/s, 120k/s, 1.2M/s. */
void progress_fmt_rate(double r, char *buf, size_t len);

/* progress_fmt_eta writes a duration in at most 6 columns: 45s, 12m05s, 3h07m, >99h. */
void progress_fmt_eta(double s, char *buf, size_t len);

/*
 * progress_is_main tells whether entity class e counts in the progress:
 * what a département owns (not the shared bailleurs and administrations,
 * not the avenant type links).
 */
bool progress_is_main(entity e);

/* progress_of_dep returns how far the département is, 0..1 (phase and rows read). */
double progress_of_dep(const dep_run *r);

/* progress_sums_add adds the counters of one département to s. */
void progress_sums_add(row_sums *s, const dep_run *r);

/* progress_sums_fraction returns the fraction done of s, or -1 when nothing tells yet. */
double progress_sums_fraction(const row_sums *s);

/*
 * progress_counts_text writes "conv 120 lot 120 lgt 840 pj 300" for the
 * classes that saw rows, whole items only, within width columns; " +" ends
 * it when some did not fit.
 */
void progress_counts_text(const row_sums *s, int width, char *buf, size_t len);

/*
 * progress_bar_text writes "[#####.....]  45%" in width columns, or a
 * bouncing segment and a spinner (spin, animated by now) when fraction < 0.
 */
void progress_bar_text(double fraction, bool spin, double now, int width, char *buf, size_t len);

/*
 * progress_phase_text writes what a département is doing: its phase, or,
 * while a source query has not returned its first row, that it waits on
 * Ecoloweb and for how long at now_mono (mono_s: its counters do not move
 * meanwhile).
 */
void progress_phase_text(const dep_run *d, double now_mono, char *buf, size_t len);

/*
 * progress_line summarises a département in one plain log line: "running,
 * lot: convention 120/130 lot 40/130" (written/read per entity class).
 */
void progress_line(const dep_run *d, double now_mono, char *buf, size_t len);

#endif
