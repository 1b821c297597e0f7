/*
 * coordinator/run_loop.h
 *     Inside the coordinator's loop only (run.c, run_workers.c, run_log.c):
 *     its state and what its files call of each other. run.c keeps the loop
 *     and the verdict's state machine; run_workers.c starts the workers and
 *     reads what they say; run_log.c writes the launch's log lines.
 */
#ifndef ECOLO_RUN_LOOP_H
#define ECOLO_RUN_LOOP_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>
#include <jansson.h>

#include "lease_renewal.h"
#include "log.h"
#include "redis_loop.h"
#include "run.h"
#include "verdict_queue.h"

/* The watchers of one worker: libev structs stay here, out of run.h. */
typedef struct watch {
	ev_io io;
	ev_child child;
	struct loop_state *st;
	dep_run *d;
} watch;

typedef struct loop_state {
	struct ev_loop *loop;
	launch *l;
	watch *w;
	size_t next;    /* next département to start */
	size_t running; /* workers alive */
	ev_signal sigint, sigterm, sigwinch;
	ev_io keys;
	ev_timer tick;
	double last_heartbeat, last_renew, abort_at;
	double heartbeat_s, renew_s; /* HEARTBEAT_SECONDS, RENEW_SECONDS, or a test's */
	verdict_queue *vq;           /* ROLLBACK/COMMIT PREPARED, reaps: never blocking */
	redis_loop *rl;              /* the leases' and the decision's Redis, or NULL */
	leases_renewal *renewal;     /* the renewal in flight, or NULL: never two at once */
	size_t redis_ops;            /* decision commands in flight: the loop waits for them */
	bool deciding;               /* the COMMIT decision is being recorded */
	char marker[64];             /* without Redis: the decision's prepared marker, or "" */
	int deferred_sig;            /* a stop asked while deciding, handled once decided */
	size_t commits_left, commits_done, commits_failed; /* the decided launch's commits */
} loop_state;

/* run.c: the verdict */
void send_to(const launch *l, dep_run *d, msg_type type);
void fail_dep(loop_state *st, dep_run *d);
void check_verdict(loop_state *st);
void maybe_end(loop_state *st);

/* run_workers.c: the workers */
void start_workers(struct ev_loop *loop, loop_state *st);
void on_ready(loop_state *st, dep_run *d);

/* run_log.c: the log lines, to the dashboard or stderr (plain or JSON) */
void print_event(const launch *l, log_level level, log_event event, const char *dep,
                 const char *text, const json_t *extra);
void print_line(const launch *l, log_level level, const char *dep, const char *text);
log_event state_event(dep_state s);
void heartbeat(loop_state *st);
void report_late_signal(const launch *l, int status);
void dashboard_sink(log_level level, log_event event, const char *text, void *ctx);

#endif
