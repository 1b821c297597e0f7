/*
 * worker/worker.c
 *     A forked worker: opens its own connections (nothing crosses fork()),
 *     reads Ecoloweb in one REPEATABLE READ READ ONLY snapshot, writes the
 *     département into APiLos inside one transaction, then asks the
 *     coordinator for the verdict (COMMIT or ABORT). Everything it has to
 *     say goes to the coordinator as frames: it never writes output itself.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "exitcodes.h"
#include "import.h"
#include "fault_point.h"
#include "log.h"
#include "owner_token.h"
#include "protocol.h"
#include "read_only_probe.h"
#include "redis_client.h"
#include "target_session.h"
#include "uuid.h"
#include "verify.h"
#include "worker.h"

static int status_fd = -1;

/* Set by SIGTERM (the coordinator aborts): the writer stops between rows. */
volatile sig_atomic_t worker_stop_requested = 0;
static PGcancel *volatile cancel_source, *volatile cancel_target;

/*
 * on_sigterm asks the running queries to stop (PQcancel is signal-safe) so
 * that the worker rolls back and reports within seconds.
 */
static void on_sigterm(int sig)
{
	char err[128];

	(void)sig;
	worker_stop_requested = 1;
	if (cancel_source)
		PQcancel(cancel_source, err, sizeof(err));
	if (cancel_target)
		PQcancel(cancel_target, err, sizeof(err));
}

/*
 * send_frame sends msg to the coordinator. A write that fails means the
 * coordinator is gone (EPIPE: nobody reads the pipe any more): that counts
 * as ABORT, the worker stops and rolls back, never commits alone.
 */
static bool send_frame(const message *msg)
{
	if (proto_send(status_fd, msg))
		return true;
	if (errno != EINVAL)
		worker_stop_requested = 1;
	return false;
}

/* send_log is the worker's log sink: every line becomes a LOG frame. */
static void send_log(log_level level, log_event event, const char *line, void *ctx)
{
	message msg = {.type = MSG_LOG, .level = level, .event = event};

	(void)ctx;
	snprintf(msg.text, sizeof(msg.text), "%s", line);
	send_frame(&msg);
}

/*
 * send_stats sends STATS: the queries this worker sent to each database,
 * the time spent in them, per entity class and in all, and its peak RSS
 * (also logged), for the summary's figures. Sent before DONE, once.
 */
static void send_stats(const import_ctx *ctx)
{
	message msg = {.type = MSG_STATS};
	struct rusage ru;
	pg_stats all;

	pg_stats_get(&all);
	msg.stats.total.source_queries = (uint32_t)all.queries[PG_DB_SOURCE];
	msg.stats.total.target_queries = (uint32_t)all.queries[PG_DB_TARGET];
	msg.stats.total.read_us = all.busy_us[PG_DB_SOURCE];
	msg.stats.total.write_us = all.busy_us[PG_DB_TARGET];
	memcpy(msg.stats.entities, ctx->perf, sizeof(msg.stats.entities));
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		/* Linux gives kB */
		msg.stats.peak_rss_kb = ru.ru_maxrss > 0 ? (uint32_t)ru.ru_maxrss : 0;
		log_info("worker peak RSS %ld kB", ru.ru_maxrss);
	}
	send_frame(&msg);
}

/* send_phase sends PROGRESS (or READY/DONE) with the counters, the phase and the wait flag. */
static bool send_phase(const import_ctx *ctx, msg_type type, const char *phase, int status,
                       bool waiting)
{
	message msg = {.type = type, .status = status, .waiting = waiting};

	memcpy(msg.counts, ctx->counts, sizeof(msg.counts));
	snprintf(msg.phase, sizeof(msg.phase), "%s", phase ? phase : "");
	return send_frame(&msg);
}

/* send_counts sends PROGRESS (or READY/DONE) with the current counters. */
static bool send_counts(const import_ctx *ctx, msg_type type, const char *phase, int status)
{
	return send_phase(ctx, type, phase, status, false);
}

/* on_plan sends PLAN: conventions and lots to import, once the history is known. */
static void on_plan(import_ctx *ctx, size_t conventions)
{
	message msg = {.type = MSG_PLAN};

	(void)ctx;
	msg.counts[ENT_CONVENTION].read = (uint32_t)conventions;
	msg.counts[ENT_LOT].read = (uint32_t)conventions;
	send_frame(&msg);
}

static void on_progress(import_ctx *ctx, entity current)
{
	send_counts(ctx, MSG_PROGRESS, entity_name(current), 0);
}

/*
 * on_source_wait is the source connection's pg_wait_cb: PROGRESS saying
 * that the query of what (an entity class, the convention history) was
 * sent and no row came back yet, then that one came. The coordinator shows
 * the wait on Ecoloweb and its length instead of a class that stalls.
 */
static void on_source_wait(void *arg, const char *what, bool waiting)
{
	send_phase(arg, MSG_PROGRESS, what, 0, waiting);
}

/* send_error sends ERROR: what failed, with the SQLSTATE when a database said it. */
static void send_error(const char *sqlstate, const char *fmt, const char *detail)
{
	message msg = {.type = MSG_ERROR};

	snprintf(msg.sqlstate, sizeof(msg.sqlstate), "%s", sqlstate ? sqlstate : "");
	snprintf(msg.text, sizeof(msg.text), fmt, detail);
	send_frame(&msg);
}

/*
 * reset_signals undoes what the coordinator's libev loop left behind
 * (ev(3), "the special problem of inheritance over fork"): default
 * handlers, empty mask. SIGINT is ignored: Ctrl-C reaches the whole group,
 * and the coordinator decides (it sends ABORT or SIGTERM).
 */
static void reset_signals(void)
{
	sigset_t none;
	int sigs[] = {SIGTERM, SIGCHLD, SIGWINCH, SIGPIPE, SIGQUIT, SIGTSTP};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_sigterm};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * begin_snapshot opens the read-only snapshot the whole département is read
 * from: the one place every attempt (the first, a retry, after a
 * reconnection; dry run and --update alike) begins it.
 */
static bool begin_snapshot(pgconn *src)
{
	if (!pg_exec_ok(src, "source snapshot", "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
	                0, NULL))
		return false;
	read_only_probe(src, true);
	return true;
}

/*
 * setup_source sets the Ecoloweb session up, then opens its snapshot. The
 * session itself is read-only too (default_transaction_read_only), so that
 * a statement sent outside the snapshot cannot write either. It is set here
 * rather than as a connection option (options=-c ...), which would replace
 * the options the operator's URL or PGOPTIONS may give. The queries are
 * single passes over big tables: JIT compiling costs them more than it
 * saves, a département's sorts fit in 32 MB instead of spilling to disk,
 * and the launch already runs one département per core, so no parallel
 * workers.
 */
static bool setup_source(pgconn *src)
{
	if (!pg_exec_ok(src, "source session settings",
	                "SELECT set_config('default_transaction_read_only', 'on', false), "
	                "set_config('TimeZone', 'UTC', false), "
	                "set_config('DateStyle', 'ISO, YMD', false), "
	                "set_config('extra_float_digits', '1', false), "
	                "set_config('statement_timeout', '0', false), "
	                "set_config('IntervalStyle', 'postgres', false), "
	                "set_config('jit', 'off', false), "
	                "set_config('work_mem', '32MB', false), "
	                "set_config('max_parallel_workers_per_gather', '0', false)",
	                0, NULL))
		return false;
	read_only_probe(src, false);
	return begin_snapshot(src);
}

/*
 * setup_target opens the département's transaction and reads its insertion
 * time. A verify's session is read-only, so that nothing sent in it can
 * write, and reads APiLos in one snapshot too.
 */
static bool setup_target(pgconn *dst, bool verify, char *now, size_t len)
{
	if (!target_session_settings(dst))
		return false;
	if (verify && !pg_exec_ok(dst, "read-only session",
	                          "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", 0, NULL))
		return false;
	if (!pg_exec_ok(dst, "begin",
	                verify ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" : "BEGIN", 0,
	                NULL))
		return false;
	PGresult *res = pg_exec(dst, "insertion time", "SELECT now()::text", 0, NULL);

	if (res == NULL)
		return false;
	snprintf(now, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

/*
 * wait_verdict blocks until the coordinator says COMMIT or ABORT (or goes
 * away). Every minute it sends a cheap query: Scalingo's proxy cuts a
 * connection after 30 minutes without traffic.
 */
static msg_type wait_verdict(int control_fd, pgconn *dst)
{
	proto_decoder dec;
	message msg;
	uint8_t buf[512];

	proto_decoder_init(&dec);
	for (;;) {
		int got = proto_next(&dec, &msg);
		if (got == 1 && (msg.type == MSG_COMMIT || msg.type == MSG_ABORT))
			return msg.type;
		if (got < 0)
			return MSG_ABORT;
		if (got == 1)
			continue;
		if (worker_stop_requested)
			return MSG_ABORT;
		struct pollfd pfd = {.fd = control_fd, .events = POLLIN};
		int ready = poll(&pfd, 1, 60 * 1000);
		if (ready == 0) {
			if (!pg_exec_ok(dst, "keepalive", "SELECT 1", 0, NULL))
				return MSG_ABORT;
			continue;
		}
		if (ready < 0)
			continue; /* EINTR */
		ssize_t n = read(control_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || !proto_feed(&dec, buf, (size_t)n))
			return MSG_ABORT; /* coordinator gone: never commit alone */
	}
}

/*
 * prepare ends the transaction with PREPARE TRANSACTION: the coordinator
 * commits every département's at once, and no session stays open meanwhile.
 */
static done_status prepare(import_ctx *ctx, const char *gid)
{
	char *sql = pg_gid_sql(ctx->dst->conn, "PREPARE TRANSACTION ", gid);
	bool ok;

	if (!sql)
		return DONE_FAILED;
	fault_point("prepare");
	ok = pg_exec_ok(ctx->dst, "prepare transaction", sql, 0, NULL);
	free(sql);
	if (ok)
		fault_point("prepared");
	if (ok)
		log_event_msg(LOG_INFO, LOGEV_READY,
		              "prepared as %s: waiting for the launch's verdict", gid);
	return ok ? DONE_PREPARED : DONE_FAILED;
}

/*
 * release_readers closes what a worker waiting for the verdict no longer
 * needs, so that a launch of many départements holds one session per
 * waiting worker: the source snapshot, the side session, Redis.
 */
static void release_readers(import_ctx *ctx)
{
	PGcancel *cs = cancel_source;

	cancel_source = NULL;
	PQfreeCancel(cs);
	pg_disconnect(ctx->src);
	if (ctx->side)
		pg_disconnect(ctx->side);
	if (ctx->redis)
		redis_client_close(ctx->redis);
}

/* finish ends the target transaction as decided and returns the DONE status. */
static done_status finish(const worker_args *args, import_ctx *ctx, bool ok, int control_fd)
{
	if (!ok || ctx->mapping_errors > 0) {
		pg_exec_ok(ctx->dst, "rollback", "ROLLBACK", 0, NULL);
		return DONE_FAILED;
	}
	/*
	 * The foreign keys are deferred: check them now, as COMMIT would, before
	 * READY. Without prepared transactions a violation found by COMMIT would
	 * come after the other départements were told to commit.
	 */
	if (!pg_exec_ok(ctx->dst, "deferred constraints", "SET CONSTRAINTS ALL IMMEDIATE", 0,
	                NULL)) {
		pg_exec_ok(ctx->dst, "rollback", "ROLLBACK", 0, NULL);
		return DONE_FAILED;
	}
	if (args->opts->dry_run) {
		log_info("dry run: constraints checked, rolling back, nothing written");
		bool rolled = pg_exec_ok(ctx->dst, "rollback", "ROLLBACK", 0, NULL);
		return rolled ? DONE_ROLLED_BACK : DONE_FAILED;
	}
	if (worker_stop_requested) {
		pg_exec_ok(ctx->dst, "rollback", "ROLLBACK", 0, NULL);
		return DONE_ROLLED_BACK;
	}
	release_readers(ctx);
	if (!send_counts(ctx, MSG_READY, "ready", 0)) {
		/* the coordinator is gone: no verdict will ever come */
		pg_exec_ok(ctx->dst, "rollback", "ROLLBACK", 0, NULL);
		return DONE_ROLLED_BACK;
	}
	fault_point("ready");
	if (args->gid)
		return prepare(ctx, args->gid);
	log_event_msg(LOG_INFO, LOGEV_READY, "all rows written: waiting for the verdict");
	if (wait_verdict(control_fd, ctx->dst) != MSG_COMMIT) {
		log_warn("abort requested: rolling back");
		pg_exec_ok(ctx->dst, "rollback", "ROLLBACK", 0, NULL);
		return DONE_ROLLED_BACK;
	}
	fault_point("commit");
	if (!pg_exec_ok(ctx->dst, "commit", "COMMIT", 0, NULL))
		return DONE_FAILED;
	fault_point("committed");
	log_info("committed");
	return DONE_COMMITTED;
}

/*
 * open_shared opens what the shared entities need: a side APiLos session,
 * where they are committed at once, so that no other département's worker
 * ever waits on them (design.md); and Redis, when several workers may need
 * the same ones, with an owner token unique to this worker.
 */
static bool open_shared(const worker_args *args, import_ctx *ctx, pgconn *side, redis_client *rc)
{
	char app[64], token[128];

	snprintf(app, sizeof(app), "import_ecoloweb_data/%s/shared", args->departement);
	if (!pg_connect(side, args->cfg->target_conninfo, "TARGET-SIDE", app)) {
		log_error("cannot connect to the APiLos database (%s): %s", args->cfg->target_safe,
		          side->errmsg);
		return false;
	}
	side->debug = args->opts->debug;
	if (!target_session_settings(side))
		return false;
	ctx->side = side;
	if (!args->use_redis)
		return true;
	owner_token_make(token, sizeof(token), args->launch_id);
	if (!redis_client_connect_retried(rc, &args->cfg->redis, token)) {
		log_error("%s (REDIS_URL %s)", rc->err, args->cfg->redis_safe);
		return false;
	}
	ctx->redis = rc;
	return true;
}

#define SOURCE_ATTEMPTS 3

/*
 * connect_source opens the Ecoloweb session (again, after a fatal
 * conflict), with what the worker hooks on it: timings, the wait shown on
 * the dashboard, the cancel handle SIGTERM uses.
 */
static bool connect_source(const worker_args *args, import_ctx *ctx)
{
	char app[64];
	PGcancel *old = cancel_source;

	cancel_source = NULL; /* the signal handler never sees a freed handle */
	PQfreeCancel(old);
	snprintf(app, sizeof(app), "import_ecoloweb_data/%s", args->departement);
	if (!pg_connect(ctx->src, args->cfg->source_conninfo, "SOURCE", app)) {
		log_error("cannot connect to the Ecoloweb database (%s): %s",
		          args->cfg->source_safe, ctx->src->errmsg);
		return false;
	}
	ctx->src->debug = args->opts->debug;
	ctx->src->on_wait = on_source_wait;
	ctx->src->wait_ctx = ctx;
	cancel_source = PQgetCancel(ctx->src->conn);
	return true;
}

/*
 * reopen_source replaces a source session the server ended: a new one, with
 * its settings and its own snapshot.
 */
static bool reopen_source(const worker_args *args, import_ctx *ctx)
{
	log_warn("the Ecoloweb session is gone: reconnecting");
	pg_disconnect(ctx->src);
	if (!connect_source(args, ctx) || !setup_source(ctx->src))
		return false;
	ctx->src->expected = "40001";
	return true;
}

/*
 * start_again rolls back both transactions and opens them anew, with the
 * worker's memory of the first attempt forgotten (the shared entities it
 * committed are found again through their references). A source session
 * the conflict ended is replaced by a new one.
 */
static bool start_again(const worker_args *args, import_ctx *ctx)
{
	bool src_alive = PQstatus(ctx->src->conn) == CONNECTION_OK;

	if (src_alive)
		pg_exec_ok(ctx->src, "rollback", "ROLLBACK", 0, NULL);
	pg_exec_ok(ctx->dst, "rollback", "ROLLBACK", 0, NULL);
	import_ctx_free(ctx);
	memset(ctx->counts, 0, sizeof(ctx->counts));
	if (ctx->verify)
		verify_reset(ctx);
	if (!src_alive || PQstatus(ctx->src->conn) != CONNECTION_OK) {
		if (!reopen_source(args, ctx))
			return false;
	} else if (!begin_snapshot(ctx->src)) {
		return false;
	}
	return setup_target(ctx->dst, ctx->verify, ctx->now, sizeof(ctx->now));
}

/*
 * source_conflict tells whether the source failed as a replica's recovery
 * conflict does: 40001, or the session ended. A conflict with a session
 * idle in transaction (the worker writing to APiLos between two reads) is
 * FATAL: the server sends 40001 and closes the connection, and the client,
 * whose next query meets the closed socket, mostly sees the connection lost
 * (08006) without the message. Either way a new session may succeed.
 */
static bool source_conflict(const pgconn *src)
{
	return strcmp(src->sqlstate, "40001") == 0 || pg_sqlstate_is_connection(src);
}

/*
 * import_with_retries imports the département; when the source cancels the
 * read or ends the session (a hot-standby replica's recovery conflict), the
 * département starts again from the beginning, a bounded number of times.
 */
static bool import_with_retries(const worker_args *args, import_ctx *ctx)
{
	ctx->src->expected = "40001";
	for (int attempt = 1;; attempt++) {
		bool ok = import_departement(ctx);
		if (ok || !source_conflict(ctx->src) || ctx->mapping_errors > 0 ||
		    worker_stop_requested)
			return ok;
		if (attempt == SOURCE_ATTEMPTS) {
			log_error("the Ecoloweb server cancelled the read or ended the session %d "
			          "times (SQLSTATE %s, e.g. a replica's recovery conflict): giving "
			          "up",
			          attempt, ctx->src->sqlstate);
			return false;
		}
		log_warn(
		        "the Ecoloweb server cancelled the read or ended the session (SQLSTATE %s, "
		        "e.g. a replica's recovery conflict): the département starts again "
		        "(attempt %d of %d)",
		        ctx->src->sqlstate, attempt + 1, SOURCE_ATTEMPTS);
		if (!start_again(args, ctx))
			return false;
	}
}

/* connect_both opens both sessions and their transactions; closed by the caller. */
static bool connect_both(const worker_args *args, import_ctx *ctx)
{
	char app[64];

	snprintf(app, sizeof(app), "import_ecoloweb_data/%s", args->departement);
	if (!connect_source(args, ctx))
		return false;
	if (!pg_connect(ctx->dst, args->cfg->target_conninfo, "TARGET", app)) {
		log_error("cannot connect to the APiLos database (%s): %s", args->cfg->target_safe,
		          ctx->dst->errmsg);
		return false;
	}
	ctx->dst->debug = args->opts->debug;
	cancel_target = PQgetCancel(ctx->dst->conn);
	return setup_source(ctx->src) &&
	       setup_target(ctx->dst, ctx->verify, ctx->now, sizeof(ctx->now));
}

/*
 * run_verify compares the département instead of importing it: the same
 * reads, no write, no verdict. DONE_ROLLED_BACK when Ecoloweb and APiLos
 * agree, DONE_FAILED on a difference (with an ERROR frame saying how many)
 * or an error.
 */
static done_status run_verify(const worker_args *args, import_ctx *ctx)
{
	unsigned long differences = 0;
	char text[128];

	if (!connect_both(args, ctx))
		return DONE_FAILED;
	bool ok = import_with_retries(args, ctx) && verify_finish(ctx, &differences);

	pg_exec_ok(ctx->src, "end of snapshot", "COMMIT", 0, NULL);
	pg_exec_ok(ctx->dst, "end of the read", "ROLLBACK", 0, NULL);
	send_counts(ctx, MSG_PROGRESS, "done", 0);
	if (!ok) {
		send_error(ctx->dst->sqlstate[0] ? ctx->dst->sqlstate : ctx->src->sqlstate, "%s",
		           "verify failed: see above");
		return DONE_FAILED;
	}
	if (differences == 0)
		return DONE_ROLLED_BACK;
	snprintf(text, sizeof(text), "%lu difference(s) between Ecoloweb and APiLos", differences);
	send_error("", "%s", text);
	return DONE_FAILED;
}

/* run_import connects, imports and ends the transactions; the connections are closed by the caller.
 */
static done_status run_import(const worker_args *args, import_ctx *ctx, int control_fd,
                              pgconn *side, redis_client *rc)
{
	if (!connect_both(args, ctx))
		return DONE_FAILED;
	if (args->use_side && !open_shared(args, ctx, side, rc))
		return DONE_FAILED;
	bool ok = import_with_retries(args, ctx);

	pg_exec_ok(ctx->src, "end of snapshot", "COMMIT", 0, NULL);
	send_counts(ctx, MSG_PROGRESS, "done", 0);
	return finish(args, ctx, ok, control_fd);
}

int worker_main(const worker_args *args, int status, int control_fd)
{
	pgconn src = {0}, dst = {0}, side = {0};
	redis_client rc = {0};
	import_ctx ctx = {.src = &src,
	                  .dst = &dst,
	                  .departement = args->departement,
	                  .run_date = args->run_date,
	                  .update = args->opts->update,
	                  .dry_run = args->opts->dry_run,
	                  .verify = args->opts->verify,
	                  .progress = on_progress,
	                  .plan = on_plan};

	status_fd = status;
	reset_signals();
	uuid_init();
	log_set_departement(args->departement);
	fault_point_label(args->departement);
	log_set_sink(send_log, NULL);
	message hello = {.type = MSG_HELLO, .pid = (int32_t)getpid()};
	snprintf(hello.departement, sizeof(hello.departement), "%s", args->departement);
	send_frame(&hello);

	if (ctx.verify)
		verify_begin(&ctx, args->opts->max_differences);
	done_status st = ctx.verify ? run_verify(args, &ctx)
	                            : run_import(args, &ctx, control_fd, &side, &rc);
	if (st == DONE_FAILED && worker_stop_requested) {
		log_warn("stopped by the coordinator: rolled back");
		st = DONE_ROLLED_BACK;
	}
	if (st == DONE_FAILED && !ctx.verify) {
		const char *state = dst.sqlstate[0] ? dst.sqlstate : src.sqlstate;
		if (ctx.mapping_errors > 0)
			send_error(
			        "", "%s",
			        "rows that cannot be mapped: nothing of this département written");
		else
			send_error(state, "%s",
			           "import failed: nothing of this département written");
	}
	send_stats(&ctx);
	send_counts(&ctx, MSG_DONE, "", st);
	PGcancel *cs = cancel_source, *ct = cancel_target;
	cancel_source = cancel_target = NULL;
	PQfreeCancel(cs);
	PQfreeCancel(ct);
	pg_disconnect(&src);
	pg_disconnect(&dst);
	pg_disconnect(&side);
	redis_client_close(&rc);
	import_ctx_free(&ctx);
	verify_end(&ctx);
	return st == DONE_FAILED ? EXIT_CODE_IMPORT_FAILED : EXIT_CODE_OK;
}
