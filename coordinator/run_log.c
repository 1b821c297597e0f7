/*
 * coordinator/run_log.c
 *     The launch's log lines: to the dashboard, or on stderr as plain text
 *     or JSON (--log-format), with each département's progress.
 */
#include <stdio.h>
#include <string.h>

#include "dashboard.h"
#include "exitcodes.h"
#include "progress.h"
#include "run_loop.h"

/*
 * print_event writes one log line about event for a département: to the
 * dashboard, or on stderr in the --log-format chosen (extra: the JSON
 * members of that line, such as a progress line's counts; may be NULL).
 */
void print_event(const launch *l, log_level level, log_event event, const char *dep,
                 const char *text, const json_t *extra)
{
	char line[4096];

	if (level < log_get_level())
		return;
	if (l->dashboard) {
		log_format_line(line, sizeof(line), level, dep, text);
		dashboard_log(l->dashboard, line);
		return;
	}
	log_write_line(stderr, level, event, dep, text, extra);
}

/* print_line writes one log line of no particular event (print_event). */
void print_line(const launch *l, log_level level, const char *dep, const char *text)
{
	print_event(l, level, LOGEV_NONE, dep, text, NULL);
}

/*
 * progress_json returns the JSON members of a progress line (new
 * reference, or NULL): state, phase, how long the source query has kept
 * it waiting (when it does), the counts per entity class.
 */
static json_t *progress_json(const dep_run *d)
{
	if (log_get_format() != LOG_FORMAT_JSON)
		return NULL;
	json_t *extra = json_pack("{s:s, s:s, s:o*}", "state", dep_state_name(d->state), "phase",
	                          d->phase[0] ? d->phase : "starting", "counts",
	                          entity_counts_json(d->counts));
	if (extra && d->wait_since > 0)
		json_object_set_new(extra, "waiting_seconds",
		                    json_integer((json_int_t)(mono_s() - d->wait_since)));
	return extra;
}

/* heartbeat prints where each running département is, even when nothing moves. */
void heartbeat(loop_state *st)
{
	char text[1024];

	for (size_t i = 0; i < st->l->n; i++) {
		const dep_run *d = &st->l->deps[i];
		if (d->state == DEP_RUNNING || d->state == DEP_READY) {
			progress_line(d, mono_s(), text, sizeof(text));
			json_t *extra = progress_json(d);
			print_event(st->l, LOG_INFO, LOGEV_PROGRESS, d->code, text, extra);
			json_decref(extra);
		}
	}
}

/* state_event returns the event of the line that says a département ended in state s. */
log_event state_event(dep_state s)
{
	switch (s) {
	case DEP_COMMITTED:
		return LOGEV_COMMITTED;
	case DEP_CHECKED:
		return LOGEV_CHECKED;
	case DEP_ROLLED_BACK:
		return LOGEV_ROLLED_BACK;
	case DEP_FAILED:
		return LOGEV_FAILED;
	default:
		return LOGEV_NONE;
	}
}

/*
 * report_late_signal ends a launch that a signal reached after its commit
 * decision with one line saying where the data is.
 */
void report_late_signal(const launch *l, int status)
{
	const char *sig = l->late_signal == SIGINT ? "SIGINT" : "SIGTERM";
	char text[256];

	if (!l->late_signal)
		return;
	if (status == EXIT_CODE_OK)
		snprintf(text, sizeof(text),
		         "%s came after the commit decision: the launch is committed, the data is "
		         "in (exit status 0)",
		         sig);
	else
		snprintf(text, sizeof(text),
		         "%s came after the commit decision, but not every département committed: "
		         "see the summary",
		         sig);
	print_line(l, status == EXIT_CODE_OK ? LOG_WARN : LOG_ERROR, "-", text);
}

/* dashboard_sink shows the coordinator's own log lines in the dashboard. */
void dashboard_sink(log_level level, log_event event, const char *text, void *ctx)
{
	print_event(ctx, level, event, "-", text, NULL);
}
