/*
 * fuzz/fuzz_options.c
 *     Fuzz target of the command line parser, options_parse (getopt_long
 *     and the checks of every value).
 *
 * Input: the arguments after the program name, each ended by a NUL byte
 * as in /proc/PID/cmdline (a last argument without one ends the input), so
 * that "--jobs\0004\0--departement\00022\00029\0" is
 * import_ecoloweb_data --jobs 4 --departement 22 29.
 * Properties checked, besides no crash and no leak:
 *   - argv is not reordered;
 *   - a second parse of the same arguments gives the same answer (getopt's
 *     state is reset);
 *   - an accepted command line has no message, at least one valid
 *     département and each once (all 102 in INSEE order without
 *     --departement), and values within their documented ranges;
 *   - a refused one gives one readable, non-empty line and nothing to free.
 */
#include <stdbool.h>

#include "departement.h"
#include "fuzz.h"
#include "options.h"

#define MAX_ARGS 256

/* check_accepted checks what options_parse made of an accepted command line. */
static void check_accepted(const options *o, const char *err)
{
	size_t n_all;
	const char *const *all = departement_all(&n_all);

	FUZZ_CHECK(err[0] == '\0', "accepted with the message '%s'", err);
	if (o->help || o->version)
		return;
	FUZZ_CHECK(o->n_departements > 0, "no département");
	for (size_t i = 0; i < o->n_departements; i++) {
		FUZZ_CHECK(departement_is_valid(o->departements[i]), "département '%s'",
		           o->departements[i]);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(o->departements[i], o->departements[j]) != 0,
			           "'%s' twice", o->departements[i]);
		if (o->all_departements)
			FUZZ_CHECK(strcmp(o->departements[i], all[i]) == 0,
			           "département %zu is '%s'", i, o->departements[i]);
	}
	FUZZ_CHECK(!o->all_departements || o->n_departements == n_all, "%zu départements",
	           o->n_departements);
	FUZZ_CHECK(o->jobs >= 0 && o->jobs <= 64, "--jobs %d", o->jobs);
	FUZZ_CHECK(o->max_connections >= 0 && o->max_connections <= 10000, "--max-connections %d",
	           o->max_connections);
	FUZZ_CHECK(!o->summary_json || o->summary_json[0], "empty --summary-json");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char prog[] = "import_ecoloweb_data";
	char *parts[MAX_ARGS], *argv[MAX_ARGS + 2], *copy[MAX_ARGS + 2], err[512], err2[512];
	size_t n = 0, given = size;
	int argc = 0;
	options opts, opts2, empty;
	bool ok, ok2;

	/* the NUL that ends the last argument ends the input */
	if (size > 0 && data[size - 1] == '\0')
		size--;
	if (given > 0)
		n = fuzz_split(data, size, '\0', parts, MAX_ARGS);
	argv[argc++] = prog;
	for (size_t i = 0; i < n; i++)
		argv[argc++] = parts[i];
	argv[argc] = NULL;
	memcpy(copy, argv, sizeof(argv[0]) * (size_t)(argc + 1));

	ok = options_parse(argc, argv, &opts, err, sizeof(err));
	FUZZ_CHECK(memcmp(copy, argv, sizeof(argv[0]) * (size_t)(argc + 1)) == 0, "argv reordered");
	if (ok) {
		check_accepted(&opts, err);
	} else {
		memset(&empty, 0, sizeof(empty));
		FUZZ_CHECK(err[0] && fuzz_printable(err), "message '%s'", err);
		FUZZ_CHECK(memcmp(&opts, &empty, sizeof(opts)) == 0, "refused, not emptied");
	}

	ok2 = options_parse(argc, argv, &opts2, err2, sizeof(err2));
	FUZZ_CHECK(ok == ok2 && strcmp(err, err2) == 0, "second parse: %d '%s', first: %d '%s'",
	           ok2, err2, ok, err);
	FUZZ_CHECK(opts.n_departements == opts2.n_departements, "second parse: %zu départements",
	           opts2.n_departements);
	options_free(&opts);
	options_free(&opts2);
	fuzz_free_parts(parts, n);
	return 0;
}
