/*
 * coordinator/verdict_queue.c
 *     The verdict's jobs on APiLos, one at a time, each a short chain of
 *     statements whose every link is a pg_async callback. A job ends with
 *     job_end, which tells the caller and starts the next one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pg_async.h"
#include "verdict.h"
#include "verdict_queue.h"

#define COORDINATOR_APP "import_ecoloweb_data/coordinator"
#define VERDICT_APP "import_ecoloweb_data/verdict"

/* reap: how often and how long to look for the end of the dead worker's session */
#define REAP_POLL_S 0.05
#define REAP_POLLS 100

typedef struct vq_job {
	struct vq_job *next;
	vq_kind kind;
	char gid[64];
	void *tag;
	char app[48];       /* reap: the dead worker's application_name */
	int polls;          /* reap: checks of its session so far */
	bool terminated;    /* reap: pg_terminate_backend went through */
	char xid[32];       /* commit: the prepared transaction's id, "" until read */
	bool sent;          /* commit: a COMMIT PREPARED was sent */
	bool sent_before;   /* commit: ... before this attempt */
	commit_retry retry; /* commit */
} vq_job;

struct verdict_queue {
	struct ev_loop *loop;
	const config *cfg;
	vq_done_cb done;
	void *ctx;
	vq_job *head, *tail; /* head is the job running, once started */
	bool running;
	pg_async pa;    /* the job's session; kept from one commit to the next */
	ev_timer timer; /* the reap's polls, the commit's pauses, vq_pause */
	double hold_s;  /* vq_pause: before the next job */
	void (*on_timer)(verdict_queue *q);
};

static void start_next(verdict_queue *q);

/* wait_then runs then(q) in seconds, from the loop. */
static void wait_then(verdict_queue *q, double seconds, void (*then)(verdict_queue *))
{
	q->on_timer = then;
	ev_timer_stop(q->loop, &q->timer);
	ev_timer_set(&q->timer, seconds, 0);
	ev_timer_start(q->loop, &q->timer);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	verdict_queue *q = w->data;

	(void)loop;
	(void)revents;
	q->on_timer(q);
}

/* keeps_session: the marker and the commits of a launch share one verdict session. */
static bool keeps_session(const vq_job *job, const vq_job *next)
{
	return (job->kind == VQ_MARK || job->kind == VQ_COMMIT) && next &&
	       (next->kind == VQ_COMMIT || next->kind == VQ_UNMARK);
}

/*
 * job_end ends the running job: the caller is told, then the next job
 * starts (after vq_pause's wait). The verdict session stays open from one
 * COMMIT PREPARED to the next, as with verdict_commit's callers.
 */
static void job_end(verdict_queue *q, bool ok)
{
	vq_job *job = q->head;

	q->head = job->next;
	if (!q->head)
		q->tail = NULL;
	q->running = false;
	if (!keeps_session(job, q->head))
		pg_async_close(&q->pa);
	q->done(q->ctx, job->kind, job->tag, ok);
	free(job);
	if (q->running || !q->head)
		return;
	if (q->hold_s > 0) {
		wait_then(q, q->hold_s, start_next);
		q->hold_s = 0;
		return;
	}
	start_next(q);
}

static vq_job *job_of(pg_async *pa)
{
	return ((verdict_queue *)pa->ctx)->head;
}

/* connect_failed logs that the session of a job cannot be opened. */
static void connect_failed(verdict_queue *q, log_level level)
{
	log_msg(level, "cannot connect to the APiLos database (%s): %s", q->cfg->target_safe,
	        q->pa.pg.errmsg);
}

/* --- ROLLBACK PREPARED ---------------------------------------------------------------- */

static void rollback_done(pg_async *pa)
{
	vq_job *job = job_of(pa);

	if (!pa->ok)
		log_error("ROLLBACK PREPARED of %s failed", job->gid);
	job_end(pa->ctx, pa->ok);
}

/* send_rollback sends ROLLBACK PREPARED for the job's gid on the open session. */
static void send_rollback(verdict_queue *q)
{
	vq_job *job = q->head;
	char *sql = verdict_finish_sql(q->pa.pg.conn, job->gid, false);

	if (!sql) {
		log_error("ROLLBACK PREPARED of %s failed", job->gid);
		job_end(q, false);
		return;
	}
	pg_async_exec(&q->pa, "rollback prepared", sql, 0, NULL, rollback_done);
	free(sql);
}

static void rollback_connected(pg_async *pa)
{
	verdict_queue *q = pa->ctx;

	if (!pa->ok) {
		connect_failed(q, LOG_ERROR);
		job_end(q, false);
		return;
	}
	send_rollback(q);
}

/* --- reap a dead worker ---------------------------------------------------------------- */

static void reap_rolled_back(pg_async *pa)
{
	vq_job *job = job_of(pa);

	if (!pa->ok)
		log_error("ROLLBACK PREPARED of %s failed", job->gid);
	job_end(pa->ctx, pa->ok && job->terminated);
}

static void reap_found(pg_async *pa)
{
	verdict_queue *q = pa->ctx;
	vq_job *job = q->head;

	if (!pa->ok || PQntuples(pa->res) == 0) {
		job_end(q, pa->ok && job->terminated);
		return;
	}
	log_warn("rolling back prepared transaction %s of this launch", job->gid);
	char *sql = verdict_finish_sql(pa->pg.conn, job->gid, false);
	if (!sql) {
		log_error("ROLLBACK PREPARED of %s failed", job->gid);
		job_end(q, false);
		return;
	}
	pg_async_exec(pa, "rollback prepared", sql, 0, NULL, reap_rolled_back);
	free(sql);
}

/* reap_prepared looks for the gid the dead worker may have prepared. */
static void reap_prepared(verdict_queue *q)
{
	const char *params[] = {q->head->gid};

	pg_async_exec(&q->pa, "prepared transactions",
	              "SELECT gid FROM pg_prepared_xacts WHERE gid = $1", 1, params, reap_found);
}

static void reap_counted(pg_async *pa);

/* reap_poll counts the dead worker's sessions still there. */
static void reap_poll(verdict_queue *q)
{
	const char *params[] = {q->head->app};

	pg_async_exec(&q->pa, "dead worker's session",
	              "SELECT count(*) FROM pg_stat_activity\n"
	              "WHERE application_name = $1 AND datname = current_database()",
	              1, params, reap_counted);
}

/*
 * reap_counted: once the terminated session is gone (a PREPARE TRANSACTION
 * it ran has ended one way or the other), its gid is looked for; it is
 * checked again a little later, a bounded number of times, from the loop.
 */
static void reap_counted(pg_async *pa)
{
	verdict_queue *q = pa->ctx;
	bool gone = pa->ok && strcmp(PQgetvalue(pa->res, 0, 0), "0") == 0;

	if (gone || !pa->ok || ++q->head->polls >= REAP_POLLS)
		reap_prepared(q);
	else
		wait_then(q, REAP_POLL_S, reap_poll);
}

static void reap_terminated(pg_async *pa)
{
	verdict_queue *q = pa->ctx;

	q->head->terminated = pa->ok;
	if (pa->ok)
		reap_poll(q);
	else
		reap_prepared(q);
}

/* reap_connected ends the dead worker's session: a PREPARE TRANSACTION may still run there. */
static void reap_connected(pg_async *pa)
{
	verdict_queue *q = pa->ctx;
	const char *params[] = {q->head->app};

	if (!pa->ok) {
		connect_failed(q, LOG_ERROR);
		job_end(q, false);
		return;
	}
	pg_async_exec(pa, "end the dead worker's session",
	              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity\n"
	              "WHERE application_name = $1 AND datname = current_database()",
	              1, params, reap_terminated);
}

/* --- COMMIT PREPARED, retried (verdict_commit's policy) -------------------------------- */

static void commit_attempt(verdict_queue *q);

/* commit_again closes the session and tries again after the policy's pause, or gives up. */
static void commit_again(verdict_queue *q)
{
	vq_job *job = q->head;

	pg_async_close(&q->pa);
	double pause = verdict_retry_next(&job->retry, job->gid);
	if (pause < 0) {
		job_end(q, false);
		return;
	}
	wait_then(q, pause, commit_attempt);
}

/* commit_failed: retried when a new session may help, else the job fails. */
static void commit_failed(verdict_queue *q)
{
	if (verdict_retryable(&q->pa.pg))
		commit_again(q);
	else
		job_end(q, false);
}

static void commit_status(pg_async *pa)
{
	vq_job *job = job_of(pa);
	const char *status = pa->ok ? pg_value(pa->res, 0, 0) : NULL;

	job_end(pa->ctx,
	        verdict_commit_gone(job->gid, job->xid, status, job->sent_before) == COMMIT_DONE);
}

/* commit_sent: done; or gone (42704: pg_xact_status says what became of it); or failed. */
static void commit_sent(pg_async *pa)
{
	verdict_queue *q = pa->ctx;
	vq_job *job = q->head;

	pa->pg.expected = NULL;
	if (pa->ok) {
		job_end(q, true);
		return;
	}
	if (strcmp(pa->pg.sqlstate, "42704") != 0) {
		commit_failed(q);
		return;
	}
	if (!job->xid[0]) {
		job_end(q, verdict_commit_gone(job->gid, job->xid, NULL, job->sent_before) ==
		                   COMMIT_DONE);
		return;
	}
	const char *params[] = {job->xid};
	pg_async_exec(pa, "transaction status", VERDICT_XACT_STATUS_SQL, 1, params, commit_status);
}

/* send_commit sends COMMIT PREPARED: from now on it may have reached the server. */
static void send_commit(verdict_queue *q)
{
	vq_job *job = q->head;
	char *sql = verdict_finish_sql(q->pa.pg.conn, job->gid, true);

	if (!sql) {
		commit_again(q);
		return;
	}
	q->pa.pg.expected = "42704";
	job->sent = true;
	pg_async_exec(&q->pa, "commit prepared", sql, 0, NULL, commit_sent);
	free(sql);
}

/* commit_xid_read keeps the transaction id: it tells later what became of the gid. */
static void commit_xid_read(pg_async *pa)
{
	verdict_queue *q = pa->ctx;
	vq_job *job = q->head;

	if (!pa->ok) {
		commit_failed(q);
		return;
	}
	snprintf(job->xid, sizeof(job->xid), "%s",
	         PQntuples(pa->res) > 0 ? PQgetvalue(pa->res, 0, 0) : "");
	send_commit(q);
}

/* commit_on_session: the session is open; the transaction id first, on the first attempt. */
static void commit_on_session(verdict_queue *q)
{
	vq_job *job = q->head;
	const char *params[] = {job->gid};

	if (job->sent_before || job->xid[0]) {
		send_commit(q);
		return;
	}
	pg_async_exec(&q->pa, "prepared transaction id", VERDICT_XID_SQL, 1, params,
	              commit_xid_read);
}

static void commit_connected(pg_async *pa)
{
	verdict_queue *q = pa->ctx;

	if (!pa->ok) {
		connect_failed(q, LOG_WARN);
		commit_again(q);
		return;
	}
	commit_on_session(q);
}

/* commit_attempt starts one attempt, on the session left open or on a new one. */
static void commit_attempt(verdict_queue *q)
{
	vq_job *job = q->head;

	job->retry.attempt++;
	job->sent_before = job->sent;
	if (pg_async_is_open(&q->pa))
		commit_on_session(q);
	else
		pg_async_connect(&q->pa, q->cfg->target_conninfo, VERDICT_APP, commit_connected);
}

/* --- the COMMIT decision marker, without Redis --------------------------------------- */

static void mark_done(pg_async *pa)
{
	vq_job *job = job_of(pa);

	if (!pa->ok)
		log_error("the COMMIT decision cannot be recorded as %s", job->gid);
	job_end(pa->ctx, pa->ok);
}

static void mark_begun(pg_async *pa)
{
	verdict_queue *q = pa->ctx;
	char *sql = pa->ok ? verdict_prepare_sql(pa->pg.conn, q->head->gid) : NULL;

	if (!sql) {
		mark_done(pa);
		return;
	}
	pg_async_exec(pa, "COMMIT decision marker", sql, 0, NULL, mark_done);
	free(sql);
}

static void mark_connected(pg_async *pa)
{
	if (!pa->ok) {
		connect_failed(pa->ctx, LOG_ERROR);
		mark_done(pa);
		return;
	}
	pg_async_exec(pa, "begin", "BEGIN", 0, NULL, mark_begun);
}

/* unmark_done: the marker is gone, or was never there (42704). */
static void unmark_done(pg_async *pa)
{
	vq_job *job = job_of(pa);
	bool ok = pa->ok || strcmp(pa->pg.sqlstate, "42704") == 0;

	pa->pg.expected = NULL;
	if (!ok)
		log_error("the COMMIT decision marker %s cannot be removed", job->gid);
	job_end(pa->ctx, ok);
}

static void send_unmark(verdict_queue *q)
{
	char *sql = verdict_finish_sql(q->pa.pg.conn, q->head->gid, false);

	if (!sql) {
		job_end(q, false);
		return;
	}
	q->pa.pg.expected = "42704";
	pg_async_exec(&q->pa, "COMMIT decision marker removal", sql, 0, NULL, unmark_done);
	free(sql);
}

static void unmark_connected(pg_async *pa)
{
	if (!pa->ok) {
		connect_failed(pa->ctx, LOG_ERROR);
		job_end(pa->ctx, false);
		return;
	}
	send_unmark(pa->ctx);
}

/* --- the queue -------------------------------------------------------------------------- */

static void start_next(verdict_queue *q)
{
	vq_job *job = q->head;

	q->running = true;
	switch (job->kind) {
	case VQ_REAP:
		pg_async_connect(&q->pa, q->cfg->target_conninfo, COORDINATOR_APP, reap_connected);
		break;
	case VQ_ROLLBACK:
		pg_async_connect(&q->pa, q->cfg->target_conninfo, COORDINATOR_APP,
		                 rollback_connected);
		break;
	case VQ_COMMIT:
		verdict_retry_init(&job->retry);
		commit_attempt(q);
		break;
	case VQ_MARK:
		pg_async_connect(&q->pa, q->cfg->target_conninfo, VERDICT_APP, mark_connected);
		break;
	case VQ_UNMARK:
		if (pg_async_is_open(&q->pa))
			send_unmark(q);
		else
			pg_async_connect(&q->pa, q->cfg->target_conninfo, VERDICT_APP,
			                 unmark_connected);
		break;
	}
}

verdict_queue *vq_new(struct ev_loop *loop, const config *cfg, vq_done_cb done, void *ctx)
{
	verdict_queue *q = calloc(1, sizeof(*q));

	if (!q)
		abort();
	q->loop = loop;
	q->cfg = cfg;
	q->done = done;
	q->ctx = ctx;
	pg_async_init(&q->pa, loop, "TARGET", q);
	if (*pg_async_pin(&q->pa, cfg->target_conninfo))
		log_debug("verdict sessions: the APiLos server's addresses %s, looked up before "
		          "the loop",
		          q->pa.pin.hostaddr);
	ev_timer_init(&q->timer, on_timer, 0, 0);
	q->timer.data = q;
	return q;
}

void vq_free(verdict_queue *q)
{
	if (!q)
		return;
	ev_timer_stop(q->loop, &q->timer);
	pg_async_close(&q->pa);
	while (q->head) {
		vq_job *next = q->head->next;
		free(q->head);
		q->head = next;
	}
	free(q);
}

void vq_push(verdict_queue *q, vq_kind kind, const char *dep, const char *gid, void *tag)
{
	vq_job *job = calloc(1, sizeof(*job));

	if (!job)
		abort();
	job->kind = kind;
	job->tag = tag;
	snprintf(job->gid, sizeof(job->gid), "%s", gid);
	snprintf(job->app, sizeof(job->app), "import_ecoloweb_data/%s", dep);
	if (q->tail)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	if (!q->running && q->head == job && !ev_is_active(&q->timer))
		start_next(q);
}

void vq_pause(verdict_queue *q, double seconds)
{
	q->hold_s = seconds;
}

bool vq_busy(const verdict_queue *q)
{
	return q->head != NULL;
}
