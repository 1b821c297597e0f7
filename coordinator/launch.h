/*
 * coordinator/launch.h
 *     The launch model: the départements of a launch, each one's state and
 *     what its worker reported, and the launch's own settings and outcome.
 *     The loop that runs it is run.h's; the leases, the dashboard and the
 *     summary read it.
 */
#ifndef ECOLO_LAUNCH_H
#define ECOLO_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "entity.h"
#include "options.h"
#include "protocol.h"

typedef enum dep_state {
	DEP_PENDING = 0,
	DEP_RUNNING,
	DEP_READY,
	DEP_COMMITTED,
	DEP_CHECKED, /* dry run: done and rolled back */
	DEP_ROLLED_BACK,
	DEP_FAILED
} dep_state;

typedef struct dep_run {
	char code[4];
	dep_state state;
	pid_t pid;
	int status_fd;  /* worker -> coordinator */
	int control_fd; /* coordinator -> worker */
	proto_decoder decoder;
	bool got_done;
	entity_counts counts[ENT_COUNT];
	entity_counts planned[ENT_COUNT]; /* PLAN: rows to read, where known (.read) */
	char phase[32];
	double wait_since; /* CLOCK_MONOTONIC seconds when the source query of phase was sent, 0
	                      once its first row came (or when not waiting on Ecoloweb) */
	char last_error[256];
	double started, ended; /* seconds since the epoch */
	int exit_status;       /* of the worker process, -1 while running */
	bool prepared;         /* the worker ended with PREPARE TRANSACTION gid */
	bool verdict_sent;     /* COMMIT or ABORT sent (or the prepared transaction finished) */
	bool term_sent;        /* SIGTERM sent to stop it */
	char gid[64];
	import_stats stats; /* STATS: the worker's queries, times and peak RSS */
	bool got_stats;     /* STATS came (a worker that died sends none) */
} dep_run;

typedef struct launch {
	const options *opts;
	const config *cfg;
	char run_date[11]; /* YYYY-MM-DD, taken once */
	char launch_id[32];
	dep_run *deps;
	size_t n;
	size_t jobs;     /* workers at once */
	bool prepared;   /* workers end with PREPARE TRANSACTION */
	bool use_redis;  /* reference locks and leases in Redis */
	int interrupted; /* the signal that stopped the launch, 0 if none */
	int late_signal; /* a signal received after the commit decision: ignored, 0 if none */
	bool aborting;   /* a département failed or the operator stopped: ABORT all */
	bool verdict_done;
	bool decided_commit; /* COMMIT decided for prepared transactions: never roll them back */
	void *redis;         /* the coordinator's redis_client (leases), or NULL */
	void *dashboard;     /* the ncurses dashboard, or NULL for plain logs */
	double started;
} launch;

/* launch_init prepares the départements of opts, all pending. */
void launch_init(launch *l, const options *opts, const config *cfg);
void launch_free(launch *l);

/* now_s returns the wall clock in seconds since the epoch, as dep_run's started/ended. */
double now_s(void);

/* mono_s returns a clock that no setting of the date moves, as dep_run's wait_since. */
double mono_s(void);

/* launch_jobs returns the workers at once: --jobs, else one per département, capped at 8; 1 in a
 * dry run. */
size_t launch_jobs(const options *opts, size_t n);

const char *dep_state_name(dep_state s);

/* launch_status turns the départements' outcome into the exit status (EXIT_CODE_*). */
int launch_status(const launch *l);

#endif
