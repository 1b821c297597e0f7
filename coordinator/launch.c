/*
 * coordinator/launch.c
 *     The launch model (launch.h): the départements of a launch, its id and
 *     date, its workers at once, and its outcome as an exit status.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "launch.h"
#include "verdict.h"

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* mono_s: see run.h. */
double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *dep_state_name(dep_state s)
{
	static const char *const names[] = {"pending", "running",     "ready", "committed",
	                                    "checked", "rolled back", "failed"};
	return s <= DEP_FAILED ? names[s] : "?";
}

size_t launch_jobs(const options *opts, size_t n)
{
	/* a dry run writes the shared bailleurs and administrations into each
	 * département's own transaction, never committed: two at once would wait
	 * on each other's unique keys until the end, or deadlock */
	if (opts->dry_run)
		return n ? 1 : 0;
	size_t jobs = opts->jobs > 0 ? (size_t)opts->jobs : (n < 8 ? n : 8);

	return jobs < n ? jobs : n;
}

void launch_init(launch *l, const options *opts, const config *cfg)
{
	time_t t = time(NULL);
	struct tm tm;

	memset(l, 0, sizeof(*l));
	l->opts = opts;
	l->cfg = cfg;
	l->started = now_s();
	localtime_r(&t, &tm);
	strftime(l->run_date, sizeof(l->run_date), "%Y-%m-%d", &tm);
	snprintf(l->launch_id, sizeof(l->launch_id), "%ld%d", (long)t, (int)getpid());
	l->n = opts->n_departements;
	l->jobs = launch_jobs(opts, l->n);
	l->deps = calloc(l->n + 1, sizeof(dep_run));
	if (!l->deps)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		dep_run *d = &l->deps[i];
		snprintf(d->code, sizeof(d->code), "%s", opts->departements[i]);
		d->exit_status = -1;
		d->status_fd = d->control_fd = -1;
		verdict_gid(d->gid, sizeof(d->gid), l->launch_id, d->code);
	}
}

void launch_free(launch *l)
{
	free(l->deps);
	l->deps = NULL;
}

/* launch_status turns the départements' outcome into the exit status. */
int launch_status(const launch *l)
{
	if (l->interrupted == SIGINT)
		return EXIT_CODE_SIGINT;
	if (l->interrupted)
		return EXIT_CODE_SIGTERM;
	for (size_t i = 0; i < l->n; i++) {
		if (l->deps[i].state != DEP_COMMITTED && l->deps[i].state != DEP_CHECKED)
			return EXIT_CODE_IMPORT_FAILED;
	}
	return EXIT_CODE_OK;
}
