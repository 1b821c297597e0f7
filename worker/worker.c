/*
 * worker/worker.c
 *     A forked worker: opens its own connections (nothing crosses fork()),
 *     reads Ecoloweb in one REPEATABLE READ READ ONLY snapshot, writes the
 *     département into APiLos inside one transaction, then asks the
 *     coordinator for the verdict (COMMIT or ABORT). Everything it has to
 *     say goes to the coordinator as frames: it never writes output itself.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "import.h"
#include "log.h"
#include "protocol.h"
#include "uuid.h"
#include "worker.h"

static int status_fd = -1;

/* send_log is the worker's log sink: every line becomes a LOG frame. */
static void send_log(log_level level, const char *line, void *ctx)
{
	message msg = {.type = MSG_LOG, .level = level};

	(void)ctx;
	snprintf(msg.text, sizeof(msg.text), "%s", line);
	proto_send(status_fd, &msg);
}

/* send_counts sends PROGRESS (or DONE/PLAN) with the current counters. */
static void send_counts(const import_ctx *ctx, msg_type type, const char *phase, int status)
{
	message msg = {.type = type, .status = status};

	memcpy(msg.counts, ctx->counts, sizeof(msg.counts));
	snprintf(msg.phase, sizeof(msg.phase), "%s", phase ? phase : "");
	proto_send(status_fd, &msg);
}

static void on_progress(import_ctx *ctx, entity current)
{
	send_counts(ctx, MSG_PROGRESS, entity_name(current), 0);
}

/* send_error sends ERROR: what failed, with the SQLSTATE when a database said it. */
static void send_error(const char *sqlstate, const char *fmt, const char *detail)
{
	message msg = {.type = MSG_ERROR};

	snprintf(msg.sqlstate, sizeof(msg.sqlstate), "%s", sqlstate ? sqlstate : "");
	snprintf(msg.text, sizeof(msg.text), fmt, detail);
	proto_send(status_fd, &msg);
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
	int sigs[] = {SIGTERM, SIGCHLD, SIGWINCH, SIGPIPE, SIGQUIT};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* setup_source opens the read-only snapshot the whole département is read from. */
static bool setup_source(pgconn *src)
{
	return pg_exec_ok(src, "source session settings",
	                  "SELECT set_config('TimeZone', 'UTC', false), "
	                  "set_config('DateStyle', 'ISO, YMD', false), "
	                  "set_config('extra_float_digits', '1', false), "
	                  "set_config('statement_timeout', '0', false), "
	                  "set_config('IntervalStyle', 'postgres', false)",
	                  0, NULL) &&
	       pg_exec_ok(src, "source snapshot",
	                  "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL);
}

/* setup_target opens the département's transaction and reads its insertion time. */
static bool setup_target(pgconn *dst, char *now, size_t len)
{
	if (!pg_exec_ok(dst, "target session settings",
	                "SELECT set_config('TimeZone', 'UTC', false), "
	                "set_config('DateStyle', 'ISO, YMD', false), "
	                "set_config('lock_timeout', '60s', false), "
	                "set_config('statement_timeout', '1h', false), "
	                "set_config('idle_in_transaction_session_timeout', '0', false)",
	                0, NULL) ||
	    !pg_exec_ok(dst, "begin", "BEGIN", 0, NULL))
		return false;
	PGresult *res = pg_exec(dst, "insertion time", "SELECT now()::text", 0, NULL);

	if (res == NULL)
		return false;
	snprintf(now, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

/* wait_verdict blocks until the coordinator says COMMIT or ABORT (or goes away). */
static msg_type wait_verdict(int control_fd)
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
		ssize_t n = read(control_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || !proto_feed(&dec, buf, (size_t)n))
			return MSG_ABORT; /* coordinator gone: never commit alone */
	}
}

/* finish ends the target transaction as decided and returns the DONE status. */
static done_status finish(const worker_args *args, import_ctx *ctx, bool ok, int control_fd)
{
	if (!ok || ctx->mapping_errors > 0) {
		pg_exec_ok(ctx->dst, "rollback", "ROLLBACK", 0, NULL);
		return DONE_FAILED;
	}
	if (args->opts->dry_run) {
		log_info("dry run: rolling back, nothing written");
		return pg_exec_ok(ctx->dst, "rollback", "ROLLBACK", 0, NULL) ? DONE_ROLLED_BACK
		                                                             : DONE_FAILED;
	}
	send_counts(ctx, MSG_READY, "ready", 0);
	if (wait_verdict(control_fd) != MSG_COMMIT) {
		log_warn("abort requested: rolling back");
		pg_exec_ok(ctx->dst, "rollback", "ROLLBACK", 0, NULL);
		return DONE_ROLLED_BACK;
	}
	if (!pg_exec_ok(ctx->dst, "commit", "COMMIT", 0, NULL))
		return DONE_FAILED;
	log_info("committed");
	return DONE_COMMITTED;
}

/* run_import connects, imports and ends the transactions; the connections are closed by the caller. */
static done_status run_import(const worker_args *args, import_ctx *ctx, int control_fd)
{
	char app[64];

	snprintf(app, sizeof(app), "import_ecoloweb_data/%s", args->departement);
	if (!pg_connect(ctx->src, args->cfg->source_conninfo, "SOURCE", app)) {
		log_error("cannot connect to the Ecoloweb database (%s): %s", args->cfg->source_safe,
		          ctx->src->errmsg);
		return DONE_FAILED;
	}
	if (!pg_connect(ctx->dst, args->cfg->target_conninfo, "TARGET", app)) {
		log_error("cannot connect to the APiLos database (%s): %s", args->cfg->target_safe,
		          ctx->dst->errmsg);
		return DONE_FAILED;
	}
	ctx->src->debug = ctx->dst->debug = args->opts->debug;
	if (!setup_source(ctx->src) || !setup_target(ctx->dst, ctx->now, sizeof(ctx->now)))
		return DONE_FAILED;
	bool ok = import_departement(ctx);

	pg_exec_ok(ctx->src, "end of snapshot", "COMMIT", 0, NULL);
	send_counts(ctx, MSG_PROGRESS, "done", 0);
	return finish(args, ctx, ok, control_fd);
}

int worker_main(const worker_args *args, int status, int control_fd)
{
	pgconn src = {0}, dst = {0};
	import_ctx ctx = {.src = &src,
	                  .dst = &dst,
	                  .departement = args->departement,
	                  .run_date = args->run_date,
	                  .update = args->opts->update,
	                  .dry_run = args->opts->dry_run,
	                  .progress = on_progress};

	status_fd = status;
	reset_signals();
	uuid_init();
	log_set_departement(args->departement);
	log_set_sink(send_log, NULL);
	message hello = {.type = MSG_HELLO, .pid = (int32_t)getpid()};
	snprintf(hello.departement, sizeof(hello.departement), "%s", args->departement);
	proto_send(status_fd, &hello);

	done_status st = run_import(args, &ctx, control_fd);
	if (st == DONE_FAILED) {
		const char *state = dst.sqlstate[0] ? dst.sqlstate : src.sqlstate;
		if (ctx.mapping_errors > 0)
			send_error("", "%s", "rows that cannot be mapped: nothing of this département written");
		else
			send_error(state, "%s", "import failed: nothing of this département written");
	}
	send_counts(&ctx, MSG_DONE, "", st);
	pg_disconnect(&src);
	pg_disconnect(&dst);
	import_ctx_free(&ctx);
	return st == DONE_FAILED ? EXIT_CODE_IMPORT_FAILED : EXIT_CODE_OK;
}
