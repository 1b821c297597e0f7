/*
 * src/pyfloat.h
 *     The few Python float semantics the reference importer's output
 *     depends on (mapping.md 2.4 R2p, 2.5.9 surface text), reproduced in C.
 */
#ifndef ECOLO_PYFLOAT_H
#define ECOLO_PYFLOAT_H

#include <stdbool.h>
#include <stddef.h>

/* py_repr writes Python's repr(x) (shortest round-trip, "12.0", "1e+16") into buf. */
void py_repr(double x, char *buf, size_t len);

/* py_floordiv / py_mod: Python's a // b and a % b on floats (CPython float_divmod). */
double py_floordiv(double a, double b);
double py_mod(double a, double b);

/*
 * py_round2_text parses text (PostgreSQL's shortest output of a real or
 * double) and writes round(x, 2) as "%.2f" into buf (R2p). False if text
 * is not a finite number.
 */
bool py_round2_text(const char *text, char *buf, size_t len);

/*
 * surface_text writes "<s // 10000> ha <(s % 10000) // 100> a <s % 100> ca"
 * with each number as py_repr; NULL text gives "0 ha 0 a 0 ca".
 */
bool surface_text(const char *superficie, char *buf, size_t len);

#endif
