/*
 * fuzz/fuzz.h
 *     What the fuzz targets share: libFuzzer's entry point, the check that
 *     turns a broken property into a crash (libFuzzer then keeps the input),
 *     and the splitting of an input into strings.
 */
#ifndef ECOLO_FUZZ_H
#define ECOLO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* called by libFuzzer with each input; returns 0 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_CHECK aborts with a message when a property does not hold. */
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "\nproperty broken: %s\n  ", #cond);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/*
 * fuzz_split cuts the n bytes at data into at most max strings at each sep
 * byte (the last one takes the rest, sep included), copied into malloc'd
 * NUL-terminated strings in parts[]; returns how many. A part ends at a NUL
 * byte anyway, as a C string would. Free with fuzz_free_parts.
 */
static inline size_t fuzz_split(const uint8_t *data, size_t n, char sep, char **parts, size_t max)
{
	size_t count = 0, start = 0;

	if (max == 0)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && (data[i] != (uint8_t)sep || count == max - 1))
			continue;
		parts[count] = malloc(i - start + 1);
		if (!parts[count])
			abort();
		memcpy(parts[count], data + start, i - start);
		parts[count][i - start] = '\0';
		count++;
		start = i + 1;
	}
	return count;
}

/* fuzz_free_parts frees what fuzz_split returned. */
static inline void fuzz_free_parts(char **parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
}

/* fuzz_printable tells whether s holds no control character: one readable line. */
static inline int fuzz_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

#endif
