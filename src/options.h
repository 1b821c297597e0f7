/*
 * src/options.h
 *     The parsed command line, shared by the coordinator and its workers.
 */
#ifndef ECOLO_OPTIONS_H
#define ECOLO_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct options {
	char **departements; /* validated INSEE codes, CLI order, no duplicates */
	size_t n_departements;
	bool all_departements; /* no --departement given */
	bool dry_run;
	bool no_progress;
	bool debug;
	bool update;
	bool yes; /* --yes: no confirmation for "every département" */
	int jobs; /* --jobs N, 0 = default */
	bool commit_per_departement;
	int max_connections; /* --max-connections N, 0 = no limit */
	char *summary_json;  /* --summary-json FILE or NULL */
	bool purge;          /* --purge: delete what imports of the départements created */
	bool force;          /* --force: a purge also deletes what APiLos changed since */
	bool log_json;       /* --log-format json: one JSON object per log line */
	bool verify;         /* --verify: compare Ecoloweb and APiLos, write nothing */
	int max_differences; /* --max-differences N: lines printed per département (verify) */
	bool help;
	bool version;
} options;

/*
 * options_parse parses argv into opts. On bad usage it writes one message
 * naming the faulty argument into err (size errlen) and returns false.
 */
bool options_parse(int argc, char **argv, options *opts, char *err, size_t errlen);

/* options_free releases what options_parse allocated. */
void options_free(options *opts);

/* options_usage prints --help text to stream. */
void options_usage(void *stream);

#endif
