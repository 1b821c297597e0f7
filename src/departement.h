/*
 * src/departement.h
 *     French département INSEE codes: validation and the full list.
 */
#ifndef ECOLO_DEPARTEMENT_H
#define ECOLO_DEPARTEMENT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * departement_is_valid tells whether code is exactly one of 01..19, 2A, 2B,
 * 21..95, 971..976 (no normalisation: "1" and "2a" are refused).
 */
bool departement_is_valid(const char *code);

/* departement_all returns the 102 codes in INSEE order; *n receives the count. */
const char *const *departement_all(size_t *n);

#endif
