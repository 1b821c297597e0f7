/*
 * coordinator/main.c
 *     import_ecoloweb_data: parse the command line, check the configuration
 *     and the servers before anything is written, then run the départements
 *     (coordinator/run.c) and print the summary.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capacity.h"
#include "config.h"
#include "dashboard.h"
#include "exitcodes.h"
#include "leases.h"
#include "log.h"
#include "options.h"
#include "owner_token.h"
#include "pgsql.h"
#include "purge_run.h"
#include "redis_client.h"
#include "redis_locks.h"
#include "run.h"
#include "summary.h"
#include "target_schema.h"
#include "verdict.h"

/* check_servers connects to both databases once (a purge reads no Ecoloweb), checks the APiLos
 * tables and columns, and disconnects. */
static bool check_servers(const config *cfg, bool need_source)
{
	pgconn src = {0}, dst;
	bool ok = false;

	if (need_source &&
	    !pg_connect(&src, cfg->source_conninfo, "SOURCE", "import_ecoloweb_data/check")) {
		log_error("ECOLO_DATABASE_URL (%s): cannot connect to the Ecoloweb database: %s",
		          cfg->source_safe, src.errmsg);
		return false;
	}
	if (!pg_connect(&dst, cfg->target_conninfo, "TARGET", "import_ecoloweb_data/check")) {
		log_error("DATABASE_URL (%s): cannot connect to the APiLos database: %s",
		          cfg->target_safe, dst.errmsg);
		pg_disconnect(&src);
		return false;
	}
	ok = target_schema_check(&dst, cfg->target_safe);
	/* the children must not inherit these sessions (a child's PQfinish would end them) */
	pg_disconnect(&src);
	pg_disconnect(&dst);
	return ok;
}

/* confirm_all asks before importing every département, on a terminal only. */
static bool confirm_all(const options *opts)
{
	if (!opts->all_departements)
		return true;
	if (opts->yes || !isatty(STDIN_FILENO)) {
		log_info("no --departement given: importing every département (%zu)",
		         opts->n_departements);
		return true;
	}
	fprintf(stderr, "No --departement given: import every département (%zu)? [y/N] ",
	        opts->n_departements);
	char answer[16] = "";
	if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
		log_info("cancelled: nothing done");
		return false;
	}
	return true;
}

/*
 * check_budget prints the launch's connections and refuses a launch over
 * --max-connections (all servers together, the operator's own bound).
 */
static bool check_budget(const launch *l, const conn_need *need)
{
	const options *opts = l->opts;
	size_t per_worker = opts->dry_run ? 2 : 3; /* Ecoloweb, APiLos, APiLos side */
	size_t budget = l->jobs * per_worker + need->waiting + 1;

	log_info("connections: %zu worker(s) x %zu (Ecoloweb, APiLos%s) + %zu waiting for the "
	         "verdict "
	         "x 1 + 1 coordinator = %zu",
	         l->jobs, per_worker, opts->dry_run ? "" : ", APiLos side", need->waiting, budget);
	if (opts->max_connections > 0 && budget > (size_t)opts->max_connections) {
		log_error("this launch needs %zu database connections, more than --max-connections "
		          "%d: "
		          "lower --jobs%s",
		          budget, opts->max_connections,
		          l->prepared ? "" : " (or allow prepared transactions on APiLos)");
		return false;
	}
	return true;
}

/*
 * plan_connections asks the servers what they can give: prepared
 * transactions when APiLos has a slot for each département (otherwise
 * ready départements keep their session open until the verdict), and
 * enough connection slots for that plan. False (exit 2) when it does not fit.
 */
static bool plan_connections(launch *l, const config *cfg)
{
	const options *opts = l->opts;
	conn_plan plan = {.n = l->n,
	                  .jobs = l->jobs,
	                  .dry_run = opts->dry_run,
	                  .per_departement = opts->commit_per_departement,
	                  .update = opts->update,
	                  .no_redis = !cfg->has_redis};
	capacity cap;

	if (!capacity_read(&cap, cfg))
		return false;
	conn_need need = capacity_need(&cap, &plan);
	l->prepared = need.prepared;
	capacity_log_prepared(&cap, &plan);
	return check_budget(l, &need) && capacity_check(&cap, &plan);
}

/*
 * plan_launch decides how the launch runs: workers at once, Redis, the
 * verdict (prepared transactions or open ones), the connections.
 * False (exit 2) when the configuration cannot run it.
 */
static bool plan_launch(launch *l, const config *cfg)
{
	const options *opts = l->opts;

	l->use_redis = cfg->has_redis && !opts->dry_run;
	if (l->jobs > 1 && !cfg->has_redis && !opts->dry_run) {
		log_error("%zu workers at once need Redis for the reference locks: set REDIS_URL "
		          "(or SCALINGO_REDIS_URL), or use --jobs 1",
		          l->jobs);
		return false;
	}
	if (!plan_connections(l, cfg))
		return false;
	log_event_msg(LOG_INFO, LOGEV_LAUNCH, "verdict: %s",
	              opts->dry_run                  ? "dry run, everything rolled back"
	              : opts->commit_per_departement ? "each département commits when it is done"
	              : l->prepared
	                      ? "one for the launch, with prepared transactions"
	                      : "one for the launch; without prepared transactions a crash during "
	                        "the final commits could leave part of the launch committed");
	return true;
}

/*
 * release_dead_locks deletes the reference locks that workers killed on
 * this machine left behind (SIGKILL gives no time to release them): they
 * would otherwise stay until they expire. A failure only delays that.
 */
static void release_dead_locks(redis_client *rc)
{
	size_t n = 0;

	if (!redis_locks_release_dead(rc, &n))
		log_warn("Redis: cannot release the locks of dead processes (%s): they expire by "
		         "themselves",
		         rc->err);
	else if (n > 0)
		log_info("Redis: %zu lock(s) left by killed processes of this machine released", n);
}

/* open_redis connects the coordinator to Redis, cleans up and takes the leases. */
static bool open_redis(launch *l, const config *cfg, redis_client *rc)
{
	if (!cfg->has_redis)
		return verdict_cleanup(cfg, NULL);
	char token[128];
	/* host:pid:launch, the form verdict_cleanup reads back from a lease */
	owner_token_make(token, sizeof(token), l->launch_id);
	if (!redis_client_connect_retried(rc, &cfg->redis, token)) {
		log_error("REDIS_URL (%s): %s", cfg->redis_safe, rc->err);
		return false;
	}
	if (!verdict_cleanup(cfg, rc))
		return false;
	release_dead_locks(rc);
	if (rc->ctx == NULL && !redis_client_connect_retried(rc, &cfg->redis, token)) {
		log_error("REDIS_URL (%s): %s", cfg->redis_safe, rc->err);
		return false;
	}
	if (l->opts->dry_run)
		return true;
	if (!leases_acquire(rc, l))
		return false;
	l->redis = rc;
	return true;
}

/*
 * run_launch runs the workers of l, with the dashboard on a terminal (JSON
 * lines are for a log drain: none then, nor with --no-progress), and prints
 * the summary.
 */
static int run_launch(launch *l)
{
	const options *opts = l->opts;
	int status;

	if (isatty(STDOUT_FILENO) && !opts->no_progress && !opts->log_json)
		l->dashboard = dashboard_open(l);
	status = launch_run(l);
	if (l->dashboard)
		dashboard_close(l->dashboard);
	l->dashboard = NULL;
	summary_print(l, stdout);
	return status;
}

/*
 * summary_lost says what a missing summary file means. The exit status
 * stays the launch's: it tells whether the data is in, and a committed
 * launch must not look failed (a re-run, or a hunt for what went wrong,
 * would follow); the error line tells the operator the file is missing.
 */
static void summary_lost(const launch *l, int status)
{
	if (status != EXIT_CODE_OK)
		return;
	if (l->opts->dry_run)
		log_error("the summary file was not written; the dry run checked everything "
		          "(exit status 0)");
	else
		log_error("the summary file was not written, but the launch is committed: the "
		          "data is in (exit status 0)");
}

/*
 * run_purge purges the départements under their leases (a dry run takes
 * none, as an import's), and reports.
 */
static int run_purge(const options *opts, const config *cfg)
{
	launch l;
	redis_client rc = {0};
	int status = EXIT_CODE_USAGE;

	launch_init(&l, opts, cfg);
	log_info("purge of %zu département(s)%s%s: target %s", l.n,
	         opts->dry_run ? ", dry run (nothing deleted)" : "",
	         opts->force ? ", --force (rows changed or added in APiLos go too)" : "",
	         cfg->target_safe);
	if (!cfg->has_redis && !opts->dry_run)
		log_warn(
		        "no REDIS_URL: no lease keeps an import of these départements from running "
		        "at the same time");
	if (open_redis(&l, cfg, &rc)) {
		status = purge_run(&l);
		if (l.redis)
			leases_release(&rc, cfg, &l);
		log_info("exit status %d", status);
	}
	redis_client_close(&rc);
	launch_free(&l);
	return status;
}

/* run prints what the launch will do, runs it and reports. */
static int run(const options *opts, const config *cfg)
{
	launch l;
	redis_client rc = {0};
	int status = EXIT_CODE_USAGE;

	launch_init(&l, opts, cfg);
	log_event_msg(
	        LOG_INFO, LOGEV_LAUNCH,
	        "import of %zu département(s), %zu worker(s) at once%s%s: source %s, target %s",
	        l.n, l.jobs, opts->dry_run ? ", dry run (everything rolled back)" : "",
	        opts->update ? ", update mode" : "", cfg->source_safe, cfg->target_safe);
	pgconn presence = {0};
	if (plan_launch(&l, cfg) && open_redis(&l, cfg, &rc) &&
	    (opts->dry_run || verdict_presence_open(&presence, cfg, l.launch_id))) {
		status = run_launch(&l);
		if (opts->summary_json && !summary_write_json(&l, opts->summary_json, status))
			summary_lost(&l, status);
		/* nothing of a failed launch stays prepared, unless COMMIT was decided: then
		 * some départements are in, and the next launch commits the rest */
		if (l.prepared && status != EXIT_CODE_OK && !l.decided_commit)
			verdict_sweep(cfg, l.launch_id);
		if (l.redis) {
			leases_release(&rc, cfg, &l);
			/* after the workers: one SIGKILLed in this launch may have held some */
			if (rc.ctx)
				release_dead_locks(&rc);
		}
		log_event_msg(LOG_INFO, LOGEV_EXIT, "exit status %d", status);
	}
	pg_disconnect(&presence);
	redis_client_close(&rc);
	launch_free(&l);
	return status;
}

/*
 * wants_json tells whether argv asks for --log-format json (the last one
 * given wins), for the one line written before the options are known: a
 * usage error must reach a log drain as JSON too.
 */
static bool wants_json(int argc, char **argv)
{
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--log-format=json") == 0)
			json = true;
		else if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc)
			json = strcmp(argv[++i], "json") == 0;
		else if (strncmp(argv[i], "--log-format=", 13) == 0)
			json = false;
	}
	return json;
}

/*
 * plan_verify plans a --verify: one Ecoloweb and one read-only APiLos
 * session per worker, as a dry run's, and nothing else: no Redis (no
 * lease, no lock), no verdict, no cleanup of dead launches (which writes).
 * False (exit 2) when the servers cannot give that many sessions.
 */
static bool plan_verify(launch *l, const config *cfg)
{
	const options *opts = l->opts;
	conn_plan plan = {.n = l->n, .jobs = l->jobs, .dry_run = true, .no_redis = true};
	size_t budget = l->jobs * 2;
	capacity cap;

	l->use_redis = false;
	l->prepared = false;
	log_info("connections: %zu worker(s) x 2 (Ecoloweb, APiLos read-only) = %zu", l->jobs,
	         budget);
	if (opts->max_connections > 0 && budget > (size_t)opts->max_connections) {
		log_error("this verify needs %zu database connections, more than --max-connections "
		          "%d: lower --jobs",
		          budget, opts->max_connections);
		return false;
	}
	return capacity_read(&cap, cfg) && capacity_check(&cap, &plan);
}

/*
 * run_verify compares the départements with APiLos (--verify): workers as
 * for an import, each reporting its differences; nothing written anywhere.
 */
static int run_verify(const options *opts, const config *cfg)
{
	launch l;
	int status = EXIT_CODE_USAGE;

	launch_init(&l, opts, cfg);
	log_event_msg(LOG_INFO, LOGEV_LAUNCH,
	              "verify of %zu département(s), %zu worker(s) at once, nothing written: "
	              "source %s, target %s",
	              l.n, l.jobs, cfg->source_safe, cfg->target_safe);
	if (plan_verify(&l, cfg)) {
		status = run_launch(&l);
		if (opts->summary_json)
			summary_write_json(&l, opts->summary_json, status);
		log_event_msg(LOG_INFO, LOGEV_EXIT, "exit status %d%s", status,
		              status == EXIT_CODE_OK ? ": Ecoloweb and APiLos agree" : "");
	}
	launch_free(&l);
	return status;
}

int main(int argc, char **argv)
{
	options opts;
	config cfg = {0};
	char err[512];
	int status = EXIT_CODE_USAGE;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!options_parse(argc, argv, &opts, err, sizeof(err))) {
		if (wants_json(argc, argv)) {
			log_set_format(LOG_FORMAT_JSON);
			log_error("%s", err);
			return EXIT_CODE_USAGE;
		}
		fprintf(stderr, "import_ecoloweb_data: %s\nTry 'import_ecoloweb_data --help'.\n",
		        err);
		return EXIT_CODE_USAGE;
	}
	if (opts.help || opts.version) {
		if (opts.help)
			options_usage(stdout);
		else
			printf("import_ecoloweb_data %s\n", PACKAGE_VERSION);
		options_free(&opts);
		return EXIT_CODE_OK;
	}
	log_set_level(opts.debug ? LOG_DEBUG : LOG_INFO);
	log_set_format(opts.log_json ? LOG_FORMAT_JSON : LOG_FORMAT_PLAIN);
	if (!config_from_env(&cfg, err, sizeof(err)))
		log_error("%s", err);
	else if (opts.purge && check_servers(&cfg, false))
		status = run_purge(&opts, &cfg);
	else if (opts.verify && check_servers(&cfg, true))
		status = run_verify(&opts, &cfg);
	else if (!opts.purge && !opts.verify && check_servers(&cfg, true) && confirm_all(&opts))
		status = run(&opts, &cfg);
	config_free(&cfg);
	options_free(&opts);
	return status;
}
