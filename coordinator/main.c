/*
 * coordinator/main.c
 *     import_ecoloweb_data: parse the command line, check the configuration
 *     and the servers before anything is written, then run the départements
 *     (coordinator/run.c) and print the summary.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "exitcodes.h"
#include "log.h"
#include "options.h"
#include "pgsql.h"
#include "run.h"
#include "summary.h"

/* Tables the importer writes: their absence means DATABASE_URL is not an APiLos database. */
static const char check_schema_sql[] =
	"SELECT t FROM unnest(ARRAY['ecoloweb_ecoloreference', 'conventions_convention', "
	"'programmes_programme', 'programmes_lot', 'programmes_logement', 'bailleurs_bailleur', "
	"'instructeurs_administration', 'conventions_piecejointe', 'conventions_evenement', "
	"'programmes_referencecadastrale', 'programmes_repartitionsurface', "
	"'conventions_convention_avenant_types', 'conventions_avenanttype']) AS t "
	"WHERE to_regclass(t) IS NULL";

/* check_servers connects to both databases once, checks the APiLos schema, and disconnects. */
static bool check_servers(const config *cfg)
{
	pgconn src, dst;
	bool ok = false;

	if (!pg_connect(&src, cfg->source_conninfo, "SOURCE", "import_ecoloweb_data/check")) {
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
	PGresult *res = pg_exec(&dst, "APiLos schema check", check_schema_sql, 0, NULL);
	if (res && PQntuples(res) > 0)
		log_error("DATABASE_URL (%s): not an APiLos database: table %s is missing",
		          cfg->target_safe, PQgetvalue(res, 0, 0));
	ok = res && PQntuples(res) == 0;
	PQclear(res);
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

/* run prints what the launch will do, runs it and reports. */
static int run(const options *opts, const config *cfg)
{
	launch l;

	launch_init(&l, opts, cfg);
	log_info("import of %zu département(s)%s%s: source %s, target %s", l.n,
	         opts->dry_run ? ", dry run (everything rolled back)" : "",
	         opts->update ? ", update mode" : "", cfg->source_safe, cfg->target_safe);
	log_info("connections: 1 worker at a time x 2 (source + target) + 0 for the coordinator");
	int status = launch_run(&l);

	summary_print(&l, stdout);
	if (opts->summary_json && !summary_write_json(&l, opts->summary_json) && status == 0)
		status = EXIT_CODE_IMPORT_FAILED;
	log_info("exit status %d", status);
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
		fprintf(stderr, "import_ecoloweb_data: %s\nTry 'import_ecoloweb_data --help'.\n", err);
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
	if (!config_from_env(&cfg, err, sizeof(err)))
		log_error("%s", err);
	else if (check_servers(&cfg) && confirm_all(&opts))
		status = run(&opts, &cfg);
	config_free(&cfg);
	options_free(&opts);
	return status;
}
