/*
 * coordinator/summary.c
 *     The summary printed at the end of a launch (a table, or one JSON
 *     line per département with --log-format json), and its JSON twin
 *     (--summary-json, doc/summary.schema.json). Every JSON goes through
 *     jansson; the figures for load testers (queries, read and write time,
 *     rows/s, peak RSS) are computed here once, for all three.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>

#include "launch.h"
#include "log.h"
#include "summary.h"

/* SUMMARY_SCHEMA_VERSION: bump it as doc/summary-json.md says (a field removed or changed). */
#define SUMMARY_SCHEMA_VERSION 1

/* seconds_of turns microseconds into seconds, rounded to the millisecond. */
static double seconds_of(uint64_t us)
{
	return (double)((us + 500) / 1000) / 1000.0;
}

/* round_ms rounds seconds to the millisecond, as every time of the summary. */
static double round_ms(double seconds)
{
	return (double)(long long)(seconds * 1000.0 + 0.5) / 1000.0;
}

/* per_second returns rows / seconds rounded to 0.1, 0 when no time was measured. */
static double per_second(uint64_t rows, double seconds)
{
	if (seconds <= 0)
		return 0;
	return (double)(long long)((double)rows / seconds * 10.0 + 0.5) / 10.0;
}

/* dep_seconds returns how long a département's worker ran, to the ms (0 if it never started). */
static double dep_seconds(const dep_run *d)
{
	return d->ended > d->started ? round_ms(d->ended - d->started) : 0;
}

/* dep_rows returns the source rows a département read, all entity classes together. */
static uint64_t dep_rows(const dep_run *d)
{
	uint64_t rows = 0;

	for (int e = 0; e < ENT_COUNT; e++)
		rows += d->counts[e].read;
	return rows;
}

/* entity_rate returns an entity class's rows/s: rows read over its reading and writing time. */
static double entity_rate(const entity_counts *c, const entity_perf *f)
{
	return per_second(c->read, seconds_of(f->read_us) + seconds_of(f->write_us));
}

/* summary_peak_rss_kb returns this process's peak RSS in kB (0 if unknown). */
static long summary_peak_rss_kb(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

/* dep_figures writes a département's figures in one line of text (the table, the log). */
static void dep_figures(const dep_run *d, char *buf, size_t len)
{
	const entity_perf *t = &d->stats.total;

	if (!d->got_stats) {
		snprintf(buf, len, "no figures (the worker did not report them)");
		return;
	}
	snprintf(buf, len,
	         "peak RSS %u kB, Ecoloweb %u queries %.3f s, APiLos %u queries %.3f s, "
	         "%.1f rows/s",
	         d->stats.peak_rss_kb, t->source_queries, seconds_of(t->read_us), t->target_queries,
	         seconds_of(t->write_us), per_second(dep_rows(d), dep_seconds(d)));
}

/* print_table writes the summary as a table (plain log format). */
static void print_table(const launch *l, FILE *out)
{
	char figures[256];

	/* the coordinator's figure in the title: every other line is a table row */
	fprintf(out, "\nSummary (run date %s, coordinator peak RSS %ld kB)\n", l->run_date,
	        summary_peak_rss_kb());
	fprintf(out, "%-4s %-15s %-14s %9s %9s %9s %9s %9s %7s %8s %8s %9s %7s %7s\n", "dep",
	        "state", "entity", "read", "created", "matched", "skipped", "updated", "errors",
	        "read s", "write s", "rows/s", "q eco", "q apil");
	for (size_t i = 0; i < l->n; i++) {
		const dep_run *d = &l->deps[i];

		dep_figures(d, figures, sizeof(figures));
		fprintf(out, "%-4s %-15s %-14s (%.1f s) %s%s%s\n", d->code,
		        dep_state_name(d->state), "", dep_seconds(d), figures,
		        d->last_error[0] ? " " : "", d->last_error);
		for (int e = 0; e < ENT_COUNT; e++) {
			const entity_counts *c = &d->counts[e];
			const entity_perf *f = &d->stats.entities[e];
			fprintf(out,
			        "%-4s %-15s %-14s %9u %9u %9u %9u %9u %7u %8.3f %8.3f %9.1f %7u "
			        "%7u\n",
			        d->code, "", entity_name(e), c->read, c->created, c->matched,
			        c->skipped, c->updated, c->errors, seconds_of(f->read_us),
			        seconds_of(f->write_us), entity_rate(c, f), f->source_queries,
			        f->target_queries);
		}
	}
	fflush(out);
}

/*
 * perf_json returns the figures f of rows read rows as JSON members
 * (new reference or NULL).
 */
static json_t *perf_json(const entity_perf *f, double rows_per_second)
{
	return json_pack("{s:f, s:f, s:I, s:I, s:f}", "read_seconds", seconds_of(f->read_us),
	                 "write_seconds", seconds_of(f->write_us), "source_queries",
	                 (json_int_t)f->source_queries, "target_queries",
	                 (json_int_t)f->target_queries, "rows_per_second", rows_per_second);
}

/* entities_json returns a département's counts and figures per entity class. */
static json_t *entities_json(const dep_run *d)
{
	json_t *all = json_object();

	for (int e = 0; all && e < ENT_COUNT; e++) {
		const entity_counts *c = &d->counts[e];
		const entity_perf *f = &d->stats.entities[e];
		json_t *one = perf_json(f, entity_rate(c, f));
		json_t *counts = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "read",
		                           (json_int_t)c->read, "created", (json_int_t)c->created,
		                           "matched", (json_int_t)c->matched, "skipped",
		                           (json_int_t)c->skipped, "updated",
		                           (json_int_t)c->updated, "errors", (json_int_t)c->errors);
		/* the counts first, as in the table */
		bool ok = one && counts && json_object_update(counts, one) == 0 &&
		          json_object_set(all, entity_name((entity)e), counts) == 0;
		json_decref(one);
		json_decref(counts);
		if (!ok) {
			json_decref(all);
			all = NULL;
		}
	}
	return all;
}

/*
 * dep_json returns one département's object of the summary: its outcome,
 * its figures (null when the worker died before sending them), and its
 * entity classes when with_entities.
 */
static json_t *dep_json(const dep_run *d, bool with_entities)
{
	const entity_perf *t = &d->stats.total;
	json_t *o = json_pack("{s:s, s:s, s:f, s:s}", "departement", d->code, "state",
	                      dep_state_name(d->state), "seconds", dep_seconds(d), "error",
	                      d->last_error);
	bool ok = o != NULL;

	if (ok && d->got_stats) {
		json_t *perf = perf_json(t, per_second(dep_rows(d), dep_seconds(d)));
		ok = perf &&
		     json_object_set_new(o, "peak_rss_kb",
		                         json_integer((json_int_t)d->stats.peak_rss_kb)) == 0 &&
		     json_object_update(o, perf) == 0;
		json_decref(perf);
	} else if (ok) {
		ok = json_object_set_new(o, "peak_rss_kb", json_null()) == 0;
	}
	ok = ok && json_object_set_new(o, "rows", json_integer((json_int_t)dep_rows(d))) == 0;
	if (ok && with_entities)
		ok = json_object_set_new(o, "entities", entities_json(d)) == 0;
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * print_json_lines writes the summary as log lines (--log-format json):
 * one "summary" event per département with its counts and figures, then
 * one for the launch with the coordinator's peak RSS.
 */
static void print_json_lines(const launch *l, FILE *out)
{
	char text[1024], figures[256];

	for (size_t i = 0; i < l->n; i++) {
		const dep_run *d = &l->deps[i];
		json_t *extra = dep_json(d, true);

		dep_figures(d, figures, sizeof(figures));
		snprintf(text, sizeof(text), "%s in %.1f s, %s%s%s", dep_state_name(d->state),
		         dep_seconds(d), figures, d->last_error[0] ? ": " : "", d->last_error);
		log_write_line(out, d->state == DEP_FAILED ? LOG_ERROR : LOG_INFO, LOGEV_SUMMARY,
		               d->code, text, extra);
		json_decref(extra);
	}
	json_t *extra = json_pack("{s:s, s:I}", "run_date", l->run_date, "coordinator_peak_rss_kb",
	                          (json_int_t)summary_peak_rss_kb());
	snprintf(text, sizeof(text),
	         "summary of %zu département(s), run date %s, coordinator peak "
	         "RSS %ld kB",
	         l->n, l->run_date, summary_peak_rss_kb());
	log_write_line(out, LOG_INFO, LOGEV_SUMMARY, "-", text, extra);
	json_decref(extra);
}

/* summary_print writes the summary to out, as a table or as JSON log lines. */
void summary_print(const launch *l, FILE *out)
{
	if (log_get_format() == LOG_FORMAT_JSON)
		print_json_lines(l, out);
	else
		print_table(l, out);
}

/* summary_json returns the document of --summary-json (doc/summary.schema.json). */
static json_t *summary_json(const launch *l, int exit_status)
{
	json_t *deps = json_array();
	json_t *doc = json_pack("{s:i, s:s, s:s, s:b, s:b, s:i, s:f, s:{s:I}}", "schema_version",
	                        SUMMARY_SCHEMA_VERSION, "run_date", l->run_date, "launch_id",
	                        l->launch_id, "interrupted", l->interrupted != 0, "dry_run",
	                        l->opts->dry_run, "exit_status", exit_status, "seconds",
	                        round_ms(now_s() - l->started), "coordinator", "peak_rss_kb",
	                        (json_int_t)summary_peak_rss_kb());

	for (size_t i = 0; deps && i < l->n; i++) {
		if (json_array_append_new(deps, dep_json(&l->deps[i], true)) != 0) {
			json_decref(deps);
			deps = NULL;
		}
	}
	if (!doc || !deps || json_object_set_new(doc, "departements", deps) != 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* summary_write_json writes the --summary-json document to path; false (logged) on failure. */
bool summary_write_json(const launch *l, const char *path, int exit_status)
{
	json_t *doc = summary_json(l, exit_status);
	FILE *out;

	if (!doc) {
		log_error("cannot write the summary to %s: out of memory", path);
		return false;
	}
	out = fopen(path, "w");
	if (!out) {
		log_error("cannot write the summary to %s: %s", path, strerror(errno));
		json_decref(doc);
		return false;
	}
	int dumped = json_dumpf(doc, out,
	                        JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
	json_decref(doc);
	if (dumped != 0 || fputc('\n', out) == EOF) {
		log_error("cannot write the summary to %s: %s", path, strerror(errno));
		fclose(out);
		return false;
	}
	if (fclose(out) != 0) {
		log_error("cannot write the summary to %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}
