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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "dashboard.h"
#include "decision.h"
#include "exitcodes.h"
#include "fault_point.h"
#include "lease_renewal.h"
#include "log.h"
#include "redis_client.h"
#include "redis_loop.h"
#include "run.h"
#include "run_loop.h"
#include "verdict.h"
#include "verdict_queue.h"

#define TICK_SECONDS 0.25
#define HEARTBEAT_SECONDS 10.0
#define RENEW_SECONDS 15.0
#define KILL_GRACE_SECONDS 6.0

/* send_to sends COMMIT or ABORT to a worker waiting for the verdict. */
void send_to(const launch *l, dep_run *d, msg_type type)
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
void maybe_end(loop_state *st)
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
void check_verdict(loop_state *st)
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
void fail_dep(loop_state *st, dep_run *d)
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
