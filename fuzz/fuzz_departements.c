/*
 * fuzz/fuzz_departements.c
 *     Fuzz target of the département list: departement_is_valid and the
 *     codes that follow --departement, parsed by options_parse.
 *
 * Input: a list such as "22 29 35 56" (codes separated by spaces, tabs or
 * newlines; any other byte belongs to a code), given to the program as
 * import_ecoloweb_data --departement 22 29 35 56.
 * Properties checked, besides no crash and no leak:
 *   - departement_is_valid agrees with a lookup in departement_all();
 *   - a list without options is accepted exactly when it is not empty and
 *     every code is in departement_all(), and then gives the codes in their
 *     first order, each once;
 *   - a refused list gives one readable, non-empty line and nothing to free.
 */
#include <stdbool.h>

#include "departement.h"
#include "fuzz.h"
#include "options.h"

#define MAX_CODES 512

/* in_table tells whether code is one of departement_all(): the oracle. */
static bool in_table(const char *code)
{
	size_t n;
	const char *const *all = departement_all(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i], code) == 0)
			return true;
	return false;
}

/* is_sep tells whether c separates codes in the input. */
static bool is_sep(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* split_codes copies the codes of the input into codes[]; returns how many. */
static size_t split_codes(const uint8_t *data, size_t size, char **codes)
{
	size_t n = 0, i = 0;

	while (i < size && n < MAX_CODES) {
		size_t start;

		while (i < size && is_sep(data[i]))
			i++;
		if (i == size)
			break;
		for (start = i; i < size && !is_sep(data[i]); i++)
			;
		/* not strndup: with strict_string_checks ASan reads its source up to
		 * a NUL, which libFuzzer's input does not have */
		codes[n] = malloc(i - start + 1);
		if (!codes[n])
			abort();
		memcpy(codes[n], data + start, i - start);
		codes[n][i - start] = '\0';
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char prog[] = "import_ecoloweb_data", option[] = "--departement";
	char *codes[MAX_CODES], *argv[MAX_CODES + 3], err[512];
	size_t n = split_codes(data, size, codes);
	bool expect_ok = n > 0, plain = true, ok;
	options opts;
	int argc = 0;

	argv[argc++] = prog;
	argv[argc++] = option;
	for (size_t i = 0; i < n; i++) {
		/* a code with a NUL is cut there, as in a real argv */
		FUZZ_CHECK(departement_is_valid(codes[i]) == in_table(codes[i]),
		           "departement_is_valid('%s') is %d", codes[i],
		           departement_is_valid(codes[i]));
		expect_ok = expect_ok && in_table(codes[i]);
		plain = plain && codes[i][0] != '-';
		argv[argc++] = codes[i];
	}
	argv[argc] = NULL;

	ok = options_parse(argc, argv, &opts, err, sizeof(err));
	if (plain)
		FUZZ_CHECK(ok == expect_ok, "%zu codes, accepted: %d, expected %d (%s)", n, ok,
		           expect_ok, err);
	if (!ok) {
		FUZZ_CHECK(err[0] && fuzz_printable(err), "message '%s'", err);
		FUZZ_CHECK(!opts.departements && opts.n_departements == 0, "refused, not emptied");
	} else if (plain) {
		size_t k = 0;

		/* first order, each code once */
		for (size_t i = 0; i < n; i++) {
			bool seen = false;

			for (size_t j = 0; j < i; j++)
				seen = seen || strcmp(codes[i], codes[j]) == 0;
			if (seen)
				continue;
			FUZZ_CHECK(k < opts.n_departements &&
			                   strcmp(opts.departements[k], codes[i]) == 0,
			           "code %zu is '%s', expected '%s'", k,
			           k < opts.n_departements ? opts.departements[k] : "(none)",
			           codes[i]);
			k++;
		}
		FUZZ_CHECK(k == opts.n_departements, "%zu codes, expected %zu", opts.n_departements,
		           k);
		FUZZ_CHECK(!opts.all_departements, "all départements selected");
	}
	options_free(&opts);
	for (size_t i = 0; i < n; i++)
		free(codes[i]);
	return 0;
}
