/*
 * src/options.c
 *     The command line: getopt_long parsing, validation of every value
 *     before anything connects (exit status 2, nothing done), and --help.
 *
 * "--departement 22 29 35" takes several codes, which getopt does not
 * know about: after it returns the option, the codes that follow are taken
 * by hand. Parsing stops at the first non-option ('+' in the short options)
 * so that getopt never reorders argv behind our back.
 */
#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "departement.h"

#define JOBS_MAX 64
#define MAX_CONNECTIONS_MAX 10000
#define MAX_DIFFERENCES_DEFAULT 20
#define MAX_DIFFERENCES_MAX 1000000

enum long_only {
	OPT_DEPARTEMENT = 256,
	OPT_DRY_RUN,
	OPT_NO_PROGRESS,
	OPT_DEBUG,
	OPT_UPDATE,
	OPT_JOBS,
	OPT_COMMIT_PER_DEPARTEMENT,
	OPT_SUMMARY_JSON,
	OPT_MAX_CONNECTIONS,
	OPT_PURGE,
	OPT_FORCE,
	OPT_LOG_FORMAT,
	OPT_VERIFY,
	OPT_MAX_DIFFERENCES,
};

static const struct option long_options[] = {
        {"departement", required_argument, NULL, OPT_DEPARTEMENT},
        {"departements", required_argument, NULL, OPT_DEPARTEMENT},
        {"dry_run", no_argument, NULL, OPT_DRY_RUN},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"debug", no_argument, NULL, OPT_DEBUG},
        {"update", no_argument, NULL, OPT_UPDATE},
        {"yes", no_argument, NULL, 'y'},
        {"jobs", required_argument, NULL, OPT_JOBS},
        {"commit-per-departement", no_argument, NULL, OPT_COMMIT_PER_DEPARTEMENT},
        {"summary-json", required_argument, NULL, OPT_SUMMARY_JSON},
        {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
        {"purge", no_argument, NULL, OPT_PURGE},
        {"force", no_argument, NULL, OPT_FORCE},
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
        {"verify", no_argument, NULL, OPT_VERIFY},
        {"max-differences", required_argument, NULL, OPT_MAX_DIFFERENCES},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
};

/*
 * quote_arg writes arg between single quotes into buf, non-printable bytes
 * shown as '?' and long values cut: an error message must stay one
 * readable line whatever was typed.
 */
static const char *quote_arg(char *buf, size_t len, const char *arg)
{
	size_t o = 0, max = len > 8 ? len - 8 : 0;

	if (len < 3)
		return "''";
	buf[o++] = '\'';
	for (const char *p = arg; *p && o < max; p++)
		buf[o++] = (*p >= 0x20 && *p != 0x7f) || (unsigned char)*p >= 0x80 ? *p : '?';
	if (strlen(arg) > o - 1) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

/* add_departement appends code to opts unless it is already there (first order kept). */
static bool add_departement(options *opts, const char *code, char *err, size_t errlen)
{
	char q[48];
	char **grown;

	if (!departement_is_valid(code)) {
		snprintf(err, errlen,
		         "invalid département code %s (expected 01-19, 2A, 2B, 21-95, 971-976)",
		         quote_arg(q, sizeof(q), code));
		return false;
	}
	for (size_t i = 0; i < opts->n_departements; i++)
		if (strcmp(opts->departements[i], code) == 0)
			return true;
	grown = realloc(opts->departements, (opts->n_departements + 1) * sizeof(char *));
	if (!grown || !(grown[opts->n_departements] = strdup(code))) {
		if (grown)
			opts->departements = grown;
		snprintf(err, errlen, "out of memory");
		return false;
	}
	opts->departements = grown;
	opts->n_departements++;
	return true;
}

/*
 * take_departements adds the code given with the option (optarg) and every
 * following argument that is not an option, advancing optind over them.
 */
static bool take_departements(options *opts, int argc, char **argv, const char *first, char *err,
                              size_t errlen)
{
	if (first[0] == '-' || first[0] == '\0') {
		/* "--departement --dry_run": getopt took the next option as the code */
		snprintf(err, errlen, "option '--departement' needs at least one département code");
		return false;
	}
	if (!add_departement(opts, first, err, errlen))
		return false;
	while (optind < argc && argv[optind][0] != '-')
		if (!add_departement(opts, argv[optind++], err, errlen))
			return false;
	return true;
}

/* parse_int parses arg as an integer in [min, max] for option name. */
static bool parse_int(const char *name, const char *arg, int min, int max, int *out, char *err,
                      size_t errlen)
{
	char q[48];
	char *end;
	long v;

	v = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || arg[0] == ' ' || v < min || v > max) {
		snprintf(err, errlen,
		         "invalid value %s for --%s (expected an integer from %d to %d)",
		         quote_arg(q, sizeof(q), arg), name, min, max);
		return false;
	}
	*out = (int)v;
	return true;
}

/* set_summary_json keeps the last --summary-json FILE. */
static bool set_summary_json(options *opts, const char *arg, char *err, size_t errlen)
{
	if (arg[0] == '\0') {
		snprintf(err, errlen, "option '--summary-json' needs a file name");
		return false;
	}
	free(opts->summary_json);
	opts->summary_json = strdup(arg);
	if (!opts->summary_json) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

/* set_log_format reads --log-format plain|json (the last one given wins). */
static bool set_log_format(options *opts, const char *arg, char *err, size_t errlen)
{
	char q[48];

	if (strcmp(arg, "plain") == 0 || strcmp(arg, "json") == 0) {
		opts->log_json = strcmp(arg, "json") == 0;
		return true;
	}
	snprintf(err, errlen, "invalid value %s for --log-format (expected plain or json)",
	         quote_arg(q, sizeof(q), arg));
	return false;
}

/*
 * bad_option writes the message for getopt's '?' or ':' answer; elem is
 * the argument getopt was scanning. optopt holds the short option, or the
 * value of a long option given a value it does not take, or 0 (unknown or
 * ambiguous long option).
 */
static void bad_option(int c, const char *elem, char *err, size_t errlen)
{
	char q[64], name[3] = {'-', (char)optopt, '\0'};
	bool is_long = strncmp(elem, "--", 2) == 0;
	const char *arg = is_long ? elem : name;

	if (c == ':')
		snprintf(err, errlen, "option %s requires an argument",
		         quote_arg(q, sizeof(q), arg));
	else if (is_long && optopt != 0)
		snprintf(err, errlen, "option %s takes no value", quote_arg(q, sizeof(q), arg));
	else
		snprintf(err, errlen, "unknown or ambiguous option %s (see --help)",
		         quote_arg(q, sizeof(q), arg));
}

/* handle_option applies option c (from getopt_long, read in argument elem) to opts. */
static bool handle_option(int c, options *opts, int argc, char **argv, const char *elem, char *err,
                          size_t errlen)
{
	switch (c) {
	case OPT_DEPARTEMENT:
		return take_departements(opts, argc, argv, optarg, err, errlen);
	case OPT_DRY_RUN:
		opts->dry_run = true;
		return true;
	case OPT_NO_PROGRESS:
		opts->no_progress = true;
		return true;
	case OPT_DEBUG:
		opts->debug = true;
		return true;
	case OPT_UPDATE:
		opts->update = true;
		return true;
	case 'y':
		opts->yes = true;
		return true;
	case OPT_JOBS:
		return parse_int("jobs", optarg, 1, JOBS_MAX, &opts->jobs, err, errlen);
	case OPT_COMMIT_PER_DEPARTEMENT:
		opts->commit_per_departement = true;
		return true;
	case OPT_SUMMARY_JSON:
		return set_summary_json(opts, optarg, err, errlen);
	case OPT_PURGE:
		opts->purge = true;
		return true;
	case OPT_FORCE:
		opts->force = true;
		return true;
	case OPT_MAX_CONNECTIONS:
		return parse_int("max-connections", optarg, 0, MAX_CONNECTIONS_MAX,
		                 &opts->max_connections, err, errlen);
	case OPT_LOG_FORMAT:
		return set_log_format(opts, optarg, err, errlen);
	case OPT_VERIFY:
		opts->verify = true;
		return true;
	case OPT_MAX_DIFFERENCES:
		return parse_int("max-differences", optarg, 0, MAX_DIFFERENCES_MAX,
		                 &opts->max_differences, err, errlen);
	default:
		bad_option(c, elem, err, errlen);
		return false;
	}
}

/* fill_all selects every département, for a launch without --departement. */
static bool fill_all(options *opts, char *err, size_t errlen)
{
	size_t n;
	const char *const *all = departement_all(&n);

	opts->all_departements = true;
	for (size_t i = 0; i < n; i++)
		if (!add_departement(opts, all[i], err, errlen))
			return false;
	return true;
}

/*
 * check_purge refuses the options a purge cannot take, and a purge of every
 * département by omission: deleting needs the codes typed out.
 */
static bool check_purge(const options *opts, char *err, size_t errlen)
{
	const char *clash = opts->update                   ? "--update"
	                    : opts->commit_per_departement ? "--commit-per-departement"
	                    : opts->jobs                   ? "--jobs"
	                    : opts->summary_json           ? "--summary-json"
	                                                   : NULL;

	if (opts->force && !opts->purge) {
		snprintf(err, errlen, "option '--force' only goes with --purge");
		return false;
	}
	if (!opts->purge)
		return true;
	if (clash) {
		snprintf(err, errlen, "option '%s' does not go with --purge", clash);
		return false;
	}
	if (opts->n_departements == 0) {
		snprintf(err, errlen,
		         "option '--purge' needs --departement CODE... (the départements "
		         "to purge, named one by one)");
		return false;
	}
	return true;
}

/*
 * check_verify refuses what makes no sense with --verify, which writes
 * nothing and commits nothing (a dry run, an update, a commit mode, a
 * purge), and
 * --max-differences without it. max_differences is set to its default.
 */
static bool check_verify(options *opts, bool max_given, char *err, size_t errlen)
{
	const char *bad = opts->dry_run                  ? "--dry_run"
	                  : opts->update                 ? "--update"
	                  : opts->commit_per_departement ? "--commit-per-departement"
	                  : opts->purge                  ? "--purge"
	                                                 : NULL;

	if (!opts->verify) {
		if (max_given)
			snprintf(err, errlen,
			         "option '--max-differences' goes with '--verify' only");
		return !max_given;
	}
	if (bad) {
		snprintf(err, errlen,
		         "option '%s' makes no sense with '--verify', which only reads and writes "
		         "nothing",
		         bad);
		return false;
	}
	if (!max_given)
		opts->max_differences = MAX_DIFFERENCES_DEFAULT;
	return true;
}

/*
 * options_parse parses argv into opts. On bad usage it writes one message
 * naming the faulty argument into err and returns false (opts then holds
 * nothing to free). --help and --version stop parsing at once: whatever
 * follows is not checked, as in GNU tools.
 */
bool options_parse(int argc, char **argv, options *opts, char *err, size_t errlen)
{
	int c;
	bool max_given = false;

	memset(opts, 0, sizeof(*opts));
	err[0] = '\0';
	/* restart getopt from scratch: tests parse several command lines */
	optind = 0;
	opterr = 0;
	for (;;) {
		/* the argument getopt is about to scan, named in error messages */
		int i = optind > 0 ? optind : 1;
		const char *elem = i < argc ? argv[i] : "";

		c = getopt_long(argc, argv, "+:hVy", long_options, NULL);
		if (c == -1)
			break;
		if (c == 'h' || c == 'V') {
			opts->help = c == 'h';
			opts->version = c == 'V';
			return true;
		}
		max_given = max_given || c == OPT_MAX_DIFFERENCES;
		if (!handle_option(c, opts, argc, argv, elem, err, errlen))
			goto fail;
	}
	if (optind < argc) {
		char q[64];

		snprintf(err, errlen,
		         "unexpected argument %s (département codes go after --departement)",
		         quote_arg(q, sizeof(q), argv[optind]));
		goto fail;
	}
	if (!check_purge(opts, err, errlen))
		goto fail;
	if (!check_verify(opts, max_given, err, errlen))
		goto fail;
	if (opts->n_departements == 0 && !fill_all(opts, err, errlen))
		goto fail;
	return true;
fail:
	options_free(opts);
	return false;
}

/* options_free releases what options_parse allocated and empties opts. */
void options_free(options *opts)
{
	for (size_t i = 0; i < opts->n_departements; i++)
		free(opts->departements[i]);
	free(opts->departements);
	free(opts->summary_json);
	memset(opts, 0, sizeof(*opts));
}

static const char usage_text[] =
        "Usage: import_ecoloweb_data [OPTION]... [--departement CODE...]\n"
        "\n"
        "Import the APL conventions of the legacy Ecoloweb database into APiLos, one\n"
        "worker process per département: conventions and avenants with their bailleurs,\n"
        "administrations, programmes, lots, logements, annexes, cadastral references,\n"
        "attached documents and events. Ecoloweb is only read. A row already imported is\n"
        "never imported twice, and by default the whole launch is committed, or nothing.\n"
        "\n"
        "Options:\n"
        "  --departement CODE...     import these départements only: INSEE codes 01-19,\n"
        "                            2A, 2B, 21-95, 971-976; several codes may follow and\n"
        "                            the option may be repeated (alias: --departements).\n"
        "                            Without it, every département is imported, after a\n"
        "                            confirmation when run on a terminal.\n"
        "  -y, --yes                 do not ask for that confirmation\n"
        "  --dry_run, --dry-run      do everything, writes and constraint checks included,\n"
        "                            then roll back: nothing is committed\n"
        "  --update                  also re-import conventions already imported, updating\n"
        "                            the APiLos rows (local changes there are overwritten)\n"
        "  --jobs N                  run at most N workers at once (1-64; default: one per\n"
        "                            département, at most 8; a dry run runs one at once)\n"
        "  --commit-per-departement  commit each département as soon as it is done, so a\n"
        "                            failed one does not hold back the others (default: all\n"
        "                            or nothing for the whole launch)\n"
        "  --max-connections N       refuse to start when the launch would open more than N\n"
        "                            database connections (default 0: no limit)\n"
        "  --summary-json FILE       also write the final summary as JSON into FILE,\n"
        "                            with the figures of each département and entity\n"
        "                            class (schema: summary.schema.json, installed\n"
        "                            with the documentation)\n"
        "  --purge                   instead of importing, delete what earlier imports of\n"
        "                            the --departement codes created (given one by one),\n"
        "                            their references included, in one transaction;\n"
        "                            shared bailleurs and administrations stay while\n"
        "                            anything else uses them. With --dry_run: print the\n"
        "                            counts per model and delete nothing\n"
        "  --force                   with --purge: also delete the rows changed or added\n"
        "                            in APiLos since the import (without it they are\n"
        "                            listed and the purge is refused)\n"
        "  --verify                  import nothing: compare APiLos with what an import of\n"
        "                            these départements would write (row counts per\n"
        "                            entity, each mapped column of each row, foreign keys\n"
        "                            through ecoloweb_ecoloreference), reading Ecoloweb as\n"
        "                            an import does and writing nothing anywhere (APiLos is\n"
        "                            read in a read-only transaction, Redis is not used).\n"
        "                            Each difference names the model, the Ecolo key, the\n"
        "                            column, the expected and the found values; then the\n"
        "                            totals per model and column. Not compared: what an\n"
        "                            import does not write the same way twice (id, uuid,\n"
        "                            cree_le and mis_a_jour_le set to the insertion time),\n"
        "                            and the columns of bailleurs and administrations but\n"
        "                            their identity (SIREN, siret, code): an import may\n"
        "                            have matched them to existing APiLos rows. Exit status\n"
        "                            0 when all agree, 1 on any difference. Not with\n"
        "                            --dry_run, --update, --commit-per-departement, --purge\n"
        "  --max-differences N       with --verify: print at most N differences per\n"
        "                            département (default 20; 0: totals only)\n"
        "  --no-progress             plain timestamped log lines instead of the dashboard\n"
        "                            (the default when standard output is not a terminal)\n"
        "  --log-format FORMAT       plain (default) or json: with json, every log line\n"
        "                            and the summary are one JSON object per line\n"
        "                            (time, level, departement, event, message; counts\n"
        "                            on progress lines), for log drains; implies\n"
        "                            --no-progress\n"
        "  --debug                   also log the SQL sent and timings\n"
        "  -h, --help                print this help and exit\n"
        "  -V, --version             print the version and exit\n"
        "\n"
        "Environment:\n"
        "  ECOLO_DATABASE_URL        Ecoloweb database, read-only (required)\n"
        "  DATABASE_URL              APiLos database (required; SCALINGO_POSTGRESQL_URL is\n"
        "                            used when it is not set)\n"
        "  REDIS_URL                 Redis, for locks shared between workers and launches\n"
        "                            (SCALINGO_REDIS_URL is used when it is not set);\n"
        "                            required when more than one worker runs\n"
        "  PostgreSQL settings are URLs (postgres://user:password@host:port/db) or\n"
        "  key=value connection strings; passwords never appear in any output.\n"
        "\n"
        "Exit status:\n"
        "  0    every département imported (or checked, with --dry_run): the data is in,\n"
        "       even when the --summary-json file could not be written (an ERROR line\n"
        "       says so) or a signal came after the commit decision (a WARN line says so)\n"
        "  1    an import failed (data or database): nothing of the failed part committed;\n"
        "       a purge failed or was refused: nothing deleted;\n"
        "       with --verify: a difference, or a département that could not be compared\n"
        "  2    bad usage or configuration: nothing done\n"
        "  130  interrupted (SIGINT), 143 terminated (SIGTERM) before the commit decision:\n"
        "       everything rolled back (with --commit-per-departement: all but the\n"
        "       départements already committed); after it, the commit goes on\n"
        "\n"
        "Examples:\n"
        "  import_ecoloweb_data --departement 22 29 35 56\n"
        "  import_ecoloweb_data --departement 13 --dry_run\n"
        "  import_ecoloweb_data --purge --departement 22 --dry_run\n"
        "  import_ecoloweb_data --departement 22 29 --verify\n";

/* options_usage prints the --help text to stream (a FILE *). */
void options_usage(void *stream)
{
	fputs(usage_text, (FILE *)stream);
}
