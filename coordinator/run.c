/*
 * coordinator/run.c
 *     The coordinator's libev loop: at most `jobs` workers at once, a child
 *     watcher and a status-pipe watcher per worker, signal watchers (INT,
 *     TERM, WINCH), one timer for the dashboard, the heartbeat and the
 *     lease renewals. One verdict per launch: COMMIT when every worker is
 *     READY, ABORT to all as soon as one fails or the operator stops.
 *
 *     Nothing called from the loop blocks it: the verdict's statements on
 *     APiLos run in a queue of non-blocking jobs (verdict_queue.h), Redis
 *     is talked to through hiredis' libev adapter (redis_loop.h). The loop
 *     ends once every worker is gone and none of those is outstanding.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "dashboard.h"
#include "decision.h"
#include "exitcodes.h"
#include "fault_point.h"
#include "lease_renewal.h"
#include "log.h"
#include "pg_async.h"
#include "redis_client.h"
#include "redis_loop.h"
#include "run.h"
#include "verdict.h"
#include "verdict_queue.h"
#include "worker.h"

#define TICK_SECONDS 0.25
#define HEARTBEAT_SECONDS 10.0
#define RENEW_SECONDS 15.0
#define KILL_GRACE_SECONDS 6.0

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

/*
 * print_event writes one log line about event for a département: to the
 * dashboard, or on stderr in the --log-format chosen (extra: the JSON
 * members of that line, such as a progress line's counts; may be NULL).
 */
static void print_event(const launch *l, log_level level, log_event event, const char *dep,
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
static void print_line(const launch *l, log_level level, const char *dep, const char *text)
{
	print_event(l, level, LOGEV_NONE, dep, text, NULL);
}

/*
 * phase_text writes what a département is doing: its phase, or, while a
 * source query has not returned its first row, that it waits on Ecoloweb
 * and for how long (its counters do not move meanwhile).
 */
static void phase_text(const dep_run *d, char *buf, size_t len)
{
	if (d->wait_since > 0)
		snprintf(buf, len, "waiting on Ecoloweb for %s since %.0f s", d->phase,
		         mono_s() - d->wait_since);
	else
		snprintf(buf, len, "%s", d->phase[0] ? d->phase : "starting");
}

/* progress_text summarises a département's counters in one line. */
static void progress_text(const dep_run *d, char *buf, size_t len)
{
	char phase[96];

	phase_text(d, phase, sizeof(phase));
	size_t off = (size_t)snprintf(buf, len, "%s, %s:", dep_state_name(d->state), phase);

	for (int e = 0; e < ENT_COUNT && off < len; e++) {
		const entity_counts *c = &d->counts[e];
		if (c->read || c->created || c->skipped)
			off += (size_t)snprintf(buf + off, len - off, " %s %u/%u", entity_name(e),
			                        c->created + c->matched + c->updated, c->read);
	}
}

/* send_to sends COMMIT or ABORT to a worker waiting for the verdict. */
static void send_to(const launch *l, dep_run *d, msg_type type)
{
	message msg = {.type = type};

	d->verdict_sent = true;
	if (d->control_fd >= 0 && !proto_send(d->control_fd, &msg))
		print_line(l, LOG_WARN, d->code, "cannot send the verdict: the worker is gone");
}

/*
 * rollback_prepared queues the ROLLBACK PREPARED of d (before any commit
 * decision); rollback_done records how it went.
 */
static void rollback_prepared(loop_state *st, dep_run *d)
{
	d->verdict_sent = true;
	vq_push(st->vq, VQ_ROLLBACK, d->code, d->gid, d);
}

static void rollback_done(launch *l, dep_run *d, bool ok)
{
	d->state = ok ? DEP_ROLLED_BACK : DEP_FAILED;
	if (!ok)
		snprintf(d->last_error, sizeof(d->last_error), "ROLLBACK PREPARED failed");
	print_event(l, ok ? LOG_INFO : LOG_ERROR, ok ? LOGEV_ROLLED_BACK : LOGEV_FAILED, d->code,
	            ok ? "prepared transaction rolled back" : d->last_error, NULL);
}

/*
 * abort_all stops the launch: ABORT to the workers waiting for the
 * verdict, ROLLBACK PREPARED for those that prepared, SIGTERM to those
 * still importing; pending départements never start.
 */
static void abort_all(loop_state *st)
{
	launch *l = st->l;

	if (st->abort_at == 0)
		st->abort_at = now_s();
	for (size_t i = 0; i < l->n; i++) {
		dep_run *d = &l->deps[i];
		if (d->state == DEP_PENDING) {
			d->state = DEP_ROLLED_BACK;
			snprintf(d->last_error, sizeof(d->last_error),
			         "not started: launch aborted");
		} else if (d->prepared && !d->verdict_sent) {
			rollback_prepared(st, d);
		} else if (d->state == DEP_READY && !d->verdict_sent) {
			send_to(l, d, MSG_ABORT);
		} else if (d->state == DEP_RUNNING && !d->term_sent && d->pid > 0) {
			d->term_sent = true;
			kill(d->pid, SIGTERM);
		}
	}
}

/* ready_for_verdict tells whether every département is READY or prepared. */
static bool ready_for_verdict(const launch *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->deps[i].state != DEP_READY)
			return false;
	}
	return true;
}

/*
 * test_signal_after_commit: TEST ONLY (tests/t_exit_status.sh). When
 * ECOLO_TEST_SIGNAL_AFTER_COMMIT holds a signal number, the coordinator
 * sends it to itself right after the commit decision, the one moment a
 * test cannot reach from outside without a race. Not for operators.
 */
static void test_signal_after_commit(void)
{
	const char *sig = getenv("ECOLO_TEST_SIGNAL_AFTER_COMMIT");

	if (sig && (atoi(sig) == SIGINT || atoi(sig) == SIGTERM))
		raise(atoi(sig));
}

/*
 * test_pause_after_first_commit: TEST ONLY (tests/t_decision.sh). When
 * ECOLO_TEST_PAUSE_AFTER_FIRST_COMMIT holds a number of seconds, the
 * coordinator waits that long (the loop goes on, the verdict session stays
 * open) right after its first COMMIT PREPARED, and says so, so that a test
 * can kill it or cut its verdict session between two commits. Not for
 * operators.
 */
static void test_pause_after_first_commit(loop_state *st)
{
	const char *secs = getenv("ECOLO_TEST_PAUSE_AFTER_FIRST_COMMIT");

	if (!secs || atoi(secs) <= 0)
		return;
	print_line(st->l, LOG_WARN, "-", "test hook: pausing after the first COMMIT PREPARED");
	vq_pause(st->vq, atoi(secs));
}

/*
 * test_seconds: TEST ONLY (tests/t_nonblocking.sh). The heartbeat and the
 * lease renewal intervals, shortened by ECOLO_TEST_HEARTBEAT_SECONDS and
 * ECOLO_TEST_RENEW_SECONDS, so that a test sees several of them within a
 * few seconds. Not for operators.
 */
static double test_seconds(const char *var, double dflt)
{
	const char *v = getenv(var);
	double s = v ? atof(v) : 0;

	return s > 0 ? s : dflt;
}

/* count_prepared counts the départements that ended with PREPARE TRANSACTION. */
static size_t count_prepared(const launch *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += l->deps[i].prepared;
	return n;
}

/* maybe_end ends the loop once every worker is gone and nothing is outstanding. */
static void maybe_end(loop_state *st)
{
	launch *l = st->l;

	if (st->running == 0 && (l->aborting || st->next >= l->n) && !st->deciding &&
	    st->redis_ops == 0 && !vq_busy(st->vq))
		ev_break(st->loop, EVBREAK_ALL);
}

/* redis_op_done: a decision command in flight was answered (failures are logged). */
static void redis_op_done(void *ctx, bool ok)
{
	loop_state *st = ctx;

	(void)ok;
	st->redis_ops--;
	maybe_end(st);
}

/*
 * commits_over: every COMMIT PREPARED of the decided launch ended. One
 * that failed stays prepared (never rolled back, the others are in), for
 * the next launch's clean-up to commit; else the decision is forgotten.
 */
static void commits_over(loop_state *st)
{
	launch *l = st->l;
	char text[256];

	if (st->commits_failed == 0) {
		if (st->rl) {
			st->redis_ops++;
			decision_forget(st->rl, l->launch_id, redis_op_done, st);
		}
		if (st->marker[0])
			vq_push(st->vq, VQ_UNMARK, "-", st->marker, NULL);
		return;
	}
	snprintf(text, sizeof(text),
	         "%zu département(s) still prepared after the COMMIT decision: %s",
	         st->commits_failed,
	         st->rl || st->marker[0] ? "the decision is recorded, the next launch commits them"
	                                 : "the next launch rolls them back");
	print_line(l, LOG_ERROR, "-", text);
}

/* commit_done records the COMMIT PREPARED of d (retried, verdict_queue.h): no rollback after it. */
static void commit_done(loop_state *st, dep_run *d, bool ok)
{
	d->state = ok ? DEP_COMMITTED : DEP_FAILED;
	if (!ok)
		snprintf(d->last_error, sizeof(d->last_error),
		         "COMMIT PREPARED failed: left prepared, the next launch commits it");
	print_event(st->l, ok ? LOG_INFO : LOG_ERROR, ok ? LOGEV_COMMITTED : LOGEV_FAILED, d->code,
	            ok ? "prepared transaction committed" : d->last_error, NULL);
	if (ok)
		fault_point("commit-prepared");
	if (!ok)
		st->commits_failed++;
	else if (++st->commits_done == 1)
		test_pause_after_first_commit(st);
	if (--st->commits_left == 0)
		commits_over(st);
}

/* commit_prepared queues the COMMIT PREPARED of every prepared département, in order. */
static void commit_prepared(loop_state *st)
{
	launch *l = st->l;

	for (size_t i = 0; i < l->n; i++) {
		dep_run *d = &l->deps[i];
		if (!d->prepared)
			continue;
		d->verdict_sent = true;
		st->commits_left++;
		vq_push(st->vq, VQ_COMMIT, d->code, d->gid, d);
	}
}

static char withdrawing; /* the tag of the removal of a marker that failed */
static void decided(loop_state *st);
static void commit_launch(loop_state *st);

/* marked: without Redis, the COMMIT decision is prepared on APiLos, or could not be. */
static void marked(loop_state *st, bool ok)
{
	if (ok) {
		commit_launch(st);
		decided(st);
		return;
	}
	/* the PREPARE may have gone through all the same: removed before any rollback */
	vq_push(st->vq, VQ_UNMARK, "-", st->marker, &withdrawing);
}

/*
 * marker_withdrawn: the marker of a decision that failed is gone, the
 * launch aborts. When it cannot be removed it may be there: the prepared
 * transactions are left for the next launch to settle all alike (committed
 * if the marker is there, else rolled back).
 */
static void marker_withdrawn(loop_state *st, bool ok)
{
	launch *l = st->l;

	st->marker[0] = '\0';
	print_line(
	        l, LOG_ERROR, "-",
	        ok ? "the COMMIT decision cannot be recorded: aborting, nothing of the launch "
	             "is committed"
	           : "the COMMIT decision may or may not be recorded on APiLos: the prepared "
	             "transactions are left as they are, the next launch settles them all alike");
	if (!ok) {
		l->decided_commit = true; /* nothing may roll them back one by one */
		for (size_t i = 0; i < l->n; i++)
			l->deps[i].verdict_sent = l->deps[i].verdict_sent || l->deps[i].prepared;
	}
	l->aborting = true;
	abort_all(st);
	decided(st);
}

/* on_job_done: a job of the verdict queue ended (a reap's outcome changes nothing here). */
static void on_job_done(void *ctx, vq_kind kind, void *tag, bool ok)
{
	loop_state *st = ctx;

	if (kind == VQ_ROLLBACK)
		rollback_done(st->l, tag, ok);
	else if (kind == VQ_COMMIT)
		commit_done(st, tag, ok);
	else if (kind == VQ_MARK)
		marked(st, ok);
	else if (kind == VQ_UNMARK && tag == &withdrawing)
		marker_withdrawn(st, ok);
	maybe_end(st);
}

/* commit_launch carries out the COMMIT decision, recorded where it can be. */
static void commit_launch(loop_state *st)
{
	launch *l = st->l;

	fault_point("decided");
	l->verdict_done = true;
	l->decided_commit = l->prepared;
	print_event(l, LOG_INFO, LOGEV_VERDICT, "-",
	            "every département is ready: committing the launch", NULL);
	for (size_t i = 0; i < l->n; i++) {
		if (!l->deps[i].prepared)
			send_to(l, &l->deps[i], MSG_COMMIT);
	}
	if (l->prepared)
		commit_prepared(st);
	test_signal_after_commit();
}

static void stop_launch(loop_state *st, int sig);

/*
 * decided: the decision is recorded, or cannot be. A stop asked meanwhile
 * is handled now, as it would have been after a blocking SET: late (the
 * launch is committed) or not.
 */
static void decided(loop_state *st)
{
	int sig = st->deferred_sig;

	st->deciding = false;
	st->deferred_sig = 0;
	if (sig)
		stop_launch(st, sig);
	maybe_end(st);
}

/*
 * decision_withdrawn: the COMMIT decision could not be recorded (its DEL
 * answered, for the SET may have gone through): nothing is committed yet,
 * the launch aborts.
 */
static void decision_withdrawn(void *ctx, bool ok)
{
	loop_state *st = ctx;

	(void)ok;
	print_line(st->l, LOG_ERROR, "-",
	           "the COMMIT decision cannot be recorded: aborting, nothing of the launch is "
	           "committed");
	st->l->aborting = true;
	abort_all(st);
	decided(st);
}

/* decision_recorded: Redis acknowledged COMMIT: only now may the first COMMIT PREPARED go. */
static void decision_recorded(void *ctx, bool ok)
{
	loop_state *st = ctx;

	if (!ok) {
		decision_forget(st->rl, st->l->launch_id, decision_withdrawn, st);
		return;
	}
	commit_launch(st);
	decided(st);
}

/*
 * decide_commit: every département is ready. With prepared transactions,
 * COMMIT is first recorded in Redis (decision.h), and nothing is sent
 * before Redis acknowledged it; meanwhile the verdict waits (deciding).
 */
static void decide_commit(loop_state *st)
{
	launch *l = st->l;

	if (!l->prepared) {
		commit_launch(st);
		return;
	}
	if (!st->rl) {
		if (count_prepared(l) < 2) {
			commit_launch(st); /* one COMMIT PREPARED is atomic: nothing to record */
			return;
		}
		st->deciding = true;
		verdict_gid(st->marker, sizeof(st->marker), l->launch_id, MARKER_DEP);
		vq_push(st->vq, VQ_MARK, "-", st->marker, NULL);
		return;
	}
	st->deciding = true;
	decision_record(st->rl, l->launch_id, decision_recorded, st);
}

/* check_verdict gives the launch's verdict once it can be given. */
static void check_verdict(loop_state *st)
{
	launch *l = st->l;

	if (st->deciding)
		return; /* decided() goes on from there */
	if (l->aborting) {
		abort_all(st);
		return;
	}
	if (l->verdict_done || l->opts->commit_per_departement || !ready_for_verdict(l))
		return;
	decide_commit(st);
}

/*
 * fail_dep marks a département failed; by default the whole launch then
 * aborts. A dry run goes on: it lists every row of every département that
 * cannot be mapped; so does a verify, every difference.
 */
static void fail_dep(loop_state *st, dep_run *d)
{
	d->state = DEP_FAILED;
	if (st->l->verdict_done && !st->l->opts->commit_per_departement) {
		/* without prepared transactions: the others were told to commit */
		print_line(st->l, LOG_ERROR, d->code,
		           "département failed after the commit decision: the others are "
		           "committed, a re-run imports what is missing");
		return;
	}
	if ((st->l->opts->dry_run || st->l->opts->verify) && !st->l->aborting) {
		/* nothing is committed anyway: the others go on, to list all their rows */
		print_line(st->l, LOG_ERROR, d->code,
		           st->l->opts->verify
		                   ? "département differs (or could not be compared): the verify "
		                     "goes on with the others"
		                   : "département failed: the dry run goes on with the others");
	} else if (!st->l->opts->commit_per_departement && !st->l->aborting) {
		st->l->aborting = true;
		print_event(st->l, LOG_ERROR, LOGEV_VERDICT, d->code,
		            "département failed: aborting the launch, nothing of it is committed",
		            NULL);
	}
	check_verdict(st);
}

static void start_workers(struct ev_loop *loop, loop_state *st);

/* on_ready: the worker wrote everything and waits (or prepared and left). */
static void on_ready(loop_state *st, dep_run *d)
{
	d->state = DEP_READY;
	start_workers(st->loop, st); /* a READY worker no longer takes a slot */
	if (st->l->opts->commit_per_departement)
		send_to(st->l, d, st->l->interrupted ? MSG_ABORT : MSG_COMMIT);
	else
		check_verdict(st);
}

/* state_event returns the event of the line that says a département ended in state s. */
static log_event state_event(dep_state s)
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

/* on_done records the worker's final report. */
static void on_done(loop_state *st, dep_run *d, const message *msg)
{
	char text[64];

	d->got_done = true;
	memcpy(d->counts, msg->counts, sizeof(d->counts));
	switch ((done_status)msg->status) {
	case DONE_PREPARED:
		d->prepared = true;
		on_ready(st, d);
		return;
	case DONE_COMMITTED:
		d->state = DEP_COMMITTED;
		break;
	case DONE_ROLLED_BACK:
		d->state = (st->l->opts->dry_run || st->l->opts->verify) && !st->l->aborting
		                   ? DEP_CHECKED
		                   : DEP_ROLLED_BACK;
		break;
	case DONE_FAILED:
		fail_dep(st, d);
		break;
	}
	snprintf(text, sizeof(text), "département %s", dep_state_name(d->state));
	print_event(st->l, d->state == DEP_FAILED ? LOG_ERROR : LOG_INFO, state_event(d->state),
	            d->code, text, NULL);
}

/* handle_message applies one frame of a worker. */
static void handle_message(loop_state *st, dep_run *d, const message *msg)
{
	char text[PROTO_MAX_TEXT + 64];

	switch (msg->type) {
	case MSG_HELLO:
		snprintf(text, sizeof(text), "worker started (pid %d)", (int)msg->pid);
		print_event(st->l, LOG_INFO, LOGEV_START, d->code, text, NULL);
		break;
	case MSG_PLAN:
		memcpy(d->planned, msg->counts, sizeof(d->planned));
		break;
	case MSG_PROGRESS:
		memcpy(d->counts, msg->counts, sizeof(d->counts));
		snprintf(d->phase, sizeof(d->phase), "%s", msg->phase);
		/* timed here: the worker sends it as it sends the query */
		d->wait_since = msg->waiting ? mono_s() : 0;
		break;
	case MSG_LOG:
		print_event(st->l, (log_level)msg->level, (log_event)msg->event, d->code, msg->text,
		            NULL);
		break;
	case MSG_STATS:
		d->stats = msg->stats;
		d->got_stats = true;
		break;
	case MSG_ERROR:
		snprintf(d->last_error, sizeof(d->last_error), "%.200s%s%s", msg->text,
		         msg->sqlstate[0] ? " SQLSTATE " : "", msg->sqlstate);
		print_line(st->l, LOG_ERROR, d->code, d->last_error);
		break;
	case MSG_READY:
		memcpy(d->counts, msg->counts, sizeof(d->counts));
		if (!st->l->prepared)
			on_ready(st, d);
		break;
	case MSG_DONE:
		on_done(st, d, msg);
		break;
	default:
		print_line(st->l, LOG_WARN, d->code, "unexpected message from the worker");
	}
}

/* told_commit tells whether d, without a prepared transaction, was sent COMMIT. */
static bool told_commit(const launch *l, const dep_run *d)
{
	return l->verdict_done && !l->prepared && d->verdict_sent && !l->aborting;
}

/* worker_gone ends the bookkeeping of a worker once its pipe closed and it exited. */
static void worker_gone(struct ev_loop *loop, loop_state *st, dep_run *d)
{
	if (d->status_fd >= 0 || d->exit_status < 0)
		return; /* wait for both the EOF and the exit status */
	d->ended = now_s();
	if (d->control_fd >= 0)
		close(d->control_fd);
	d->control_fd = -1;
	st->running--;
	/* a worker killed during its PREPARE TRANSACTION: the server may still finish it */
	if (st->l->prepared && !d->got_done)
		vq_push(st->vq, VQ_REAP, d->code, d->gid, d);
	/* once its verdict is under way, a prepared transaction is the coordinator's business */
	bool verdict_under_way = d->prepared && (d->verdict_sent || st->deciding);
	if ((!d->got_done || d->exit_status != 0) && d->state != DEP_FAILED &&
	    d->state != DEP_ROLLED_BACK && d->state != DEP_COMMITTED && !verdict_under_way) {
		snprintf(d->last_error, sizeof(d->last_error),
		         d->got_done             ? "worker exited with status %d"
		         : told_commit(st->l, d) ? "worker died (status %d) after it was told to "
		                                   "commit: its COMMIT may have gone through"
		                                 : "worker died (status %d) before "
		                                   "reporting: nothing committed",
		         d->exit_status);
		print_line(st->l, LOG_ERROR, d->code, d->last_error);
		fail_dep(st, d);
	}
	start_workers(loop, st);
}

/* READS_PER_TURN bounds one worker's turn, so that a chatty one cannot starve the others. */
#define READS_PER_TURN 8

/* on_frame hands one frame of a worker to handle_message. */
static void on_frame(void *ctx, const message *msg)
{
	watch *w = ctx;

	handle_message(w->st, w->d, msg);
}

/*
 * on_status reads what a worker wrote, in turns: libev calls again while
 * the pipe holds more. EOF (or a read error) means the worker is gone.
 */
static void on_status(struct ev_loop *loop, ev_io *io, int revents)
{
	watch *w = (watch *)io;
	dep_run *d = w->d;

	(void)revents;
	proto_read_status r = proto_read(&d->decoder, d->status_fd, READS_PER_TURN, on_frame, w);
	if (r == PROTO_READ_AGAIN)
		return;
	if (r == PROTO_READ_MALFORMED) {
		print_line(w->st->l, LOG_ERROR, d->code,
		           "malformed message from the worker: stopping it");
		kill(d->pid, SIGKILL);
	}
	ev_io_stop(loop, io);
	close(d->status_fd);
	d->status_fd = -1;
	worker_gone(loop, w->st, d);
}

/* on_child records a worker's exit status (libev reaps it). */
static void on_child(struct ev_loop *loop, ev_child *c, int revents)
{
	watch *w = (watch *)((char *)c - offsetof(watch, child));
	dep_run *d = w->d;

	(void)revents;
	ev_child_stop(loop, c);
	if (WIFEXITED(c->rstatus))
		d->exit_status = WEXITSTATUS(c->rstatus);
	else
		d->exit_status = 128 + WTERMSIG(c->rstatus);
	worker_gone(loop, w->st, d);
}

/* child_main runs in the forked child and never returns to the coordinator's code. */
static void child_main(loop_state *st, dep_run *d, int status_fd, int control_fd)
{
	launch *l = st->l;
	worker_args args = {.opts = l->opts,
	                    .cfg = l->cfg,
	                    .departement = d->code,
	                    .run_date = l->run_date,
	                    .launch_id = l->launch_id,
	                    .gid = l->prepared ? d->gid : NULL,
	                    .use_redis = l->use_redis,
	                    .use_side = !l->opts->dry_run && !l->opts->verify};

	/* earlier workers' pipe ends stay with the coordinator, or their EOF never comes */
	for (size_t i = 0; i < l->n; i++) {
		if (&l->deps[i] != d && l->deps[i].status_fd >= 0)
			close(l->deps[i].status_fd);
		if (&l->deps[i] != d && l->deps[i].control_fd >= 0)
			close(l->deps[i].control_fd);
	}
	/* the coordinator's connections are its own: the child drops its copies of their
	 * sockets, without a word to the servers (they stay open in the parent) */
	redis_loop_forget(st->rl);
	pg_async_forget_all();
	if (l->dashboard) {
		/* the worker never writes to the terminal: keep curses' state with the coordinator
		 */
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			close(null);
		}
	}
	_exit(worker_main(&args, status_fd, control_fd));
}

/* spawn forks the worker of d, wired by two pipes. False if the system refuses. */
static bool spawn(loop_state *st, dep_run *d)
{
	int up[2], down[2];

	if (pipe(up) != 0)
		return false;
	if (pipe(down) != 0) {
		close(up[0]);
		close(up[1]);
		return false;
	}
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(up[0]), close(up[1]), close(down[0]), close(down[1]);
		return false;
	}
	if (pid == 0) {
		/*
		 * A worker dies with its coordinator (kill -9, OOM killer): SIGTERM
		 * makes it roll back. A coordinator dead before the prctl would never
		 * send it: getppid() then names another process.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(EXIT_CODE_IMPORT_FAILED);
		close(up[0]);
		close(down[1]);
		child_main(st, d, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	fcntl(up[0], F_SETFL, fcntl(up[0], F_GETFL) | O_NONBLOCK);
	d->pid = pid;
	d->status_fd = up[0];
	d->control_fd = down[1];
	return true;
}

/* start_one starts the worker of d with its watchers. */
static void start_one(struct ev_loop *loop, loop_state *st, watch *w)
{
	dep_run *d = w->d;

	proto_decoder_init(&d->decoder);
	d->started = now_s();
	if (!spawn(st, d)) {
		snprintf(d->last_error, sizeof(d->last_error), "cannot start a worker: %s",
		         strerror(errno));
		print_line(st->l, LOG_ERROR, d->code, d->last_error);
		d->ended = d->started;
		fail_dep(st, d);
		return;
	}
	d->state = DEP_RUNNING;
	st->running++;
	w->st = st;
	ev_io_init(&w->io, on_status, d->status_fd, EV_READ);
	ev_io_start(loop, &w->io);
	/* ev(3): start the child watcher right after fork, in the default loop */
	ev_child_init(&w->child, on_child, d->pid, 0);
	ev_child_start(loop, &w->child);
}

/* importing counts the workers still importing (READY ones only wait). */
static size_t importing(const launch *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += l->deps[i].state == DEP_RUNNING;
	return n;
}

/* start_workers fills the free slots, or ends the loop when everything is over. */
static void start_workers(struct ev_loop *loop, loop_state *st)
{
	launch *l = st->l;

	while (!l->aborting && st->next < l->n && importing(l) < l->jobs)
		start_one(loop, st, &st->w[st->next++]);
	maybe_end(st);
}

/*
 * late_signal: a stop asked after the commit decision. COMMIT was sent (or
 * done): rolling back is no longer possible, killing a worker in its
 * COMMIT would only hide whether it went through. The launch ends as it
 * would have, and says so; the exit status tells what really happened.
 */
static void late_signal(launch *l, int sig)
{
	if (!l->late_signal)
		print_line(l, LOG_WARN, "-",
		           sig == SIGINT ? "SIGINT received after the commit decision: ignored, "
		                           "the launch is being committed"
		                         : "SIGTERM received after the commit decision: ignored, "
		                           "the launch is being committed");
	l->late_signal = sig;
}

/*
 * stop_launch: the operator asked to stop (signal or 'q'): everything is
 * rolled back, unless the commit was decided already (late_signal).
 */
static void stop_launch(loop_state *st, int sig)
{
	launch *l = st->l;

	if (st->deciding) {
		/* a blocking SET would have kept the signal until decided: so does decided() */
		if (!st->deferred_sig)
			print_line(l, LOG_WARN, "-",
			           sig == SIGINT
			                   ? "SIGINT received while the COMMIT decision is "
			                     "being recorded: handled once Redis has answered"
			                   : "SIGTERM received while the COMMIT decision is "
			                     "being recorded: handled once Redis has answered");
		st->deferred_sig = sig;
		return;
	}
	if (l->verdict_done) {
		late_signal(l, sig);
		return;
	}
	if (l->interrupted && sig == SIGINT) {
		/* a second Ctrl-C: no more waiting */
		for (size_t i = 0; i < l->n; i++) {
			if (l->deps[i].status_fd >= 0 && l->deps[i].pid > 0)
				kill(l->deps[i].pid, SIGKILL);
		}
		return;
	}
	if (!l->interrupted)
		print_line(l, LOG_WARN, "-",
		           sig == SIGINT
		                   ? "interrupted (SIGINT): aborting, everything is rolled back"
		                   : "terminated (SIGTERM): aborting, everything is rolled back");
	l->interrupted = sig;
	l->aborting = true;
	check_verdict(st);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	loop_state *st = w->data;

	(void)loop;
	(void)revents;
	if (w->signum == SIGWINCH) {
		if (st->l->dashboard)
			dashboard_resize(st->l->dashboard);
		return;
	}
	stop_launch(st, w->signum);
}

/* on_keys: keys typed on the dashboard ('q' then 'y' aborts). */
static void on_keys(struct ev_loop *loop, ev_io *w, int revents)
{
	loop_state *st = w->data;

	(void)loop;
	(void)revents;
	if (st->l->dashboard && dashboard_key(st->l->dashboard) == 'q')
		stop_launch(st, SIGINT);
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
static void heartbeat(loop_state *st)
{
	char text[1024];

	for (size_t i = 0; i < st->l->n; i++) {
		const dep_run *d = &st->l->deps[i];
		if (d->state == DEP_RUNNING || d->state == DEP_READY) {
			progress_text(d, text, sizeof(text));
			json_t *extra = progress_json(d);
			print_event(st->l, LOG_INFO, LOGEV_PROGRESS, d->code, text, extra);
			json_decref(extra);
		}
	}
}

/*
 * leases_renewed: a lease another launch holds now stops this one, unless
 * COMMIT was decided meanwhile (then the commits go on: they are the
 * decision's, and the lost lease is logged).
 */
static void leases_renewed(void *ctx, lease_status status, const char *lost)
{
	loop_state *st = ctx;
	launch *l = st->l;

	st->renewal = NULL;
	if (status != LEASES_LOST || l->aborting || l->verdict_done || st->deciding)
		return;
	print_line(l, LOG_ERROR, lost,
	           "lease lost to another launch: aborting, nothing of this launch is committed");
	l->aborting = true;
	check_verdict(st);
}

/* on_tick redraws, beats, renews the leases and escalates a stuck abort. */
static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	loop_state *st = w->data;
	launch *l = st->l;
	double now = now_s();

	(void)loop;
	(void)revents;
	if (l->dashboard)
		dashboard_draw(l->dashboard, l);
	else if (now - st->last_heartbeat >= st->heartbeat_s) {
		st->last_heartbeat = now;
		heartbeat(st);
	}
	/* a renewal still waiting for Redis is not doubled */
	if (st->rl && !st->renewal && now - st->last_renew >= st->renew_s) {
		st->last_renew = now;
		st->renewal = leases_renew_start(st->rl, l, leases_renewed, st);
	}
	if (st->abort_at > 0 && now - st->abort_at > KILL_GRACE_SECONDS) {
		for (size_t i = 0; i < l->n; i++) {
			if (l->deps[i].status_fd >= 0 && l->deps[i].pid > 0)
				kill(l->deps[i].pid, SIGKILL);
		}
	}
}

/* launch_status turns the départements' outcome into the exit status. */
static int launch_status(const launch *l)
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

/*
 * report_late_signal ends a launch that a signal reached after its commit
 * decision with one line saying where the data is.
 */
static void report_late_signal(const launch *l, int status)
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
static void dashboard_sink(log_level level, log_event event, const char *text, void *ctx)
{
	print_event(ctx, level, event, "-", text, NULL);
}

/* watch_signals starts the signal watchers, the key watcher and the timer. */
static void watch_signals(struct ev_loop *loop, loop_state *st)
{
	ev_signal_init(&st->sigint, on_signal, SIGINT);
	ev_signal_init(&st->sigterm, on_signal, SIGTERM);
	ev_signal_init(&st->sigwinch, on_signal, SIGWINCH);
	st->sigint.data = st->sigterm.data = st->sigwinch.data = st;
	ev_signal_start(loop, &st->sigint);
	ev_signal_start(loop, &st->sigterm);
	ev_signal_start(loop, &st->sigwinch);
	ev_timer_init(&st->tick, on_tick, TICK_SECONDS, TICK_SECONDS);
	st->tick.data = st;
	ev_timer_start(loop, &st->tick);
	if (st->l->dashboard && isatty(STDIN_FILENO)) {
		ev_io_init(&st->keys, on_keys, STDIN_FILENO, EV_READ);
		st->keys.data = st;
		ev_io_start(loop, &st->keys);
	}
}

/* unwatch_signals stops what watch_signals started. */
static void unwatch_signals(struct ev_loop *loop, loop_state *st)
{
	ev_signal_stop(loop, &st->sigint);
	ev_signal_stop(loop, &st->sigterm);
	ev_signal_stop(loop, &st->sigwinch);
	ev_timer_stop(loop, &st->tick);
	if (ev_is_active(&st->keys))
		ev_io_stop(loop, &st->keys);
}

/*
 * open_loop_clients makes the loop's own clients: the verdict queue, and
 * Redis through hiredis' libev adapter. The blocking Redis connection of
 * the start-up is closed meanwhile (leases_release reconnects after).
 */
static void open_loop_clients(loop_state *st)
{
	redis_client *rc = st->l->redis;

	st->vq = vq_new(st->loop, st->l->cfg, on_job_done, st);
	if (!rc)
		return;
	st->rl = redis_loop_new(st->loop, &st->l->cfg->redis, rc->token);
	redis_client_close(rc);
}

/* close_loop_clients: after the loop, a renewal in flight is dropped without a word. */
static void close_loop_clients(loop_state *st)
{
	leases_renew_abandon(st->renewal);
	st->renewal = NULL;
	redis_loop_free(st->rl);
	st->rl = NULL;
	vq_free(st->vq);
	st->vq = NULL;
}

int launch_run(launch *l)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	loop_state st = {.loop = loop,
	                 .l = l,
	                 .last_heartbeat = now_s(),
	                 .last_renew = now_s(),
	                 .heartbeat_s =
	                         test_seconds("ECOLO_TEST_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS),
	                 .renew_s = test_seconds("ECOLO_TEST_RENEW_SECONDS", RENEW_SECONDS)};

	if (!loop) {
		log_error("cannot start the event loop (libev)");
		return EXIT_CODE_IMPORT_FAILED;
	}
	st.w = calloc(l->n + 1, sizeof(watch));
	if (!st.w)
		abort();
	for (size_t i = 0; i < l->n; i++)
		st.w[i].d = &l->deps[i];
	signal(SIGPIPE, SIG_IGN);
	if (l->dashboard)
		log_set_sink(dashboard_sink, l);
	open_loop_clients(&st);
	watch_signals(loop, &st);
	start_workers(loop, &st);
	if (st.running > 0 || vq_busy(st.vq))
		ev_run(loop, 0);
	unwatch_signals(loop, &st);
	close_loop_clients(&st);
	if (l->verdict_done) {
		/* committed: the summary and the leases left must not end in a 130/143 that lies */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
	}
	int status = launch_status(l);
	report_late_signal(l, status); /* before the dashboard's last draw, to be seen there */
	if (l->dashboard) {
		dashboard_draw(l->dashboard, l);
		log_set_sink(NULL, NULL);
	}
	free(st.w);
	ev_loop_destroy(loop);
	return status;
}
