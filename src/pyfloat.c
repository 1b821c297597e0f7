/*
 * src/pyfloat.c
 *     Python float semantics the reference importer's output depends on:
 *     repr() of a float (shortest round-trip digits, Python's layout),
 *     floor division and modulo as CPython's float_divmod computes them,
 *     round(x, 2) printed with two decimals, and the cadastral surface text
 *     built from them (mapping.md 2.4 R2p, 2.5.9).
 */
#include "pyfloat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIGITS 17 /* 17 significant digits always read back as the same double */

/* decimal is a decimal number digits[0].digits[1..n-1] × 10^exp, digits as ASCII. */
typedef struct decimal {
	char digits[MAX_DIGITS + 2];
	int n;
	int exp;
} decimal;

/* decimal_text writes d as "d.ddde+XX", a form strtod reads back. */
static void decimal_text(const decimal *d, char *buf, size_t len)
{
	snprintf(buf, len, "%c.%se%d", d->digits[0], d->digits + 1, d->exp);
}

/* decimal_of rounds x (finite, > 0) correctly to prec significant digits. */
static void decimal_of(double x, int prec, decimal *d)
{
	char buf[40], *e;
	int n = 0;

	snprintf(buf, sizeof(buf), "%.*e", prec - 1, x);
	for (const char *p = buf; *p && *p != 'e'; p++)
		if (*p != '.')
			d->digits[n++] = *p;
	d->digits[n] = '\0';
	d->n = n;
	e = strchr(buf, 'e');
	d->exp = (int)strtol(e + 1, NULL, 10);
}

/*
 * decimal_step moves d by one unit of its last digit (up if dir > 0),
 * keeping its number of digits: 9.99e0 + 1 unit is 1.00e1 and 1.00e1 - 1
 * unit is 9.99e0, the next decimals of that length.
 */
static void decimal_step(decimal *d, int dir)
{
	int i = d->n - 1;

	if (dir > 0) {
		while (i >= 0 && d->digits[i] == '9')
			d->digits[i--] = '0';
		if (i >= 0) {
			d->digits[i]++;
		} else {
			d->digits[0] = '1';
			d->exp++;
		}
		return;
	}
	while (i >= 0 && d->digits[i] == '0')
		d->digits[i--] = '9';
	if (i > 0 || d->digits[0] != '1') {
		d->digits[i]--;
	} else {
		/* 1.00eN - 1 unit: all nines one decade lower */
		memset(d->digits, '9', (size_t)d->n);
		d->exp--;
	}
}

/* reads_back tells whether the decimal d is read as exactly x. */
static bool reads_back(const decimal *d, double x)
{
	char buf[40];

	decimal_text(d, buf, sizeof(buf));
	return strtod(buf, NULL) == x;
}

/*
 * shortest_decimal finds the digits Python's repr() prints for x (finite,
 * > 0): the fewest significant digits that read back as x and, among
 * those, the nearest to x. The correctly rounded one is the nearest, but
 * where the gap between doubles changes (powers of two) it may miss while
 * its neighbour on the other side of x still reads back: try both.
 */
static void shortest_decimal(double x, decimal *d)
{
	for (int prec = 1; prec < MAX_DIGITS; prec++) {
		decimal other;
		char buf[40];

		decimal_of(x, prec, d);
		if (reads_back(d, x))
			return;
		/* the nearest decimal of that length on the other side of x */
		decimal_text(d, buf, sizeof(buf));
		other = *d;
		decimal_step(&other, strtod(buf, NULL) > x ? -1 : 1);
		if (reads_back(&other, x)) {
			*d = other;
			return;
		}
	}
	decimal_of(x, MAX_DIGITS, d);
}

/* format_decimal lays d out as Python does: fixed for 1e-4 <= |x| < 1e16, else exponent. */
static void format_decimal(decimal *d, bool negative, char *out, size_t len)
{
	char body[48];
	int n = d->n;

	while (n > 1 && d->digits[n - 1] == '0')
		n--;
	d->digits[n] = '\0';
	if (d->exp < -4 || d->exp >= 16) {
		snprintf(body, sizeof(body), "%c%s%se%c%02d", d->digits[0], n > 1 ? "." : "",
		         d->digits + 1, d->exp < 0 ? '-' : '+', abs(d->exp));
	} else if (d->exp < 0) {
		snprintf(body, sizeof(body), "0.%.*s%s", -d->exp - 1, "0000", d->digits);
	} else if (n <= d->exp + 1) {
		snprintf(body, sizeof(body), "%s%.*s.0", d->digits, d->exp + 1 - n,
		         "0000000000000000");
	} else {
		snprintf(body, sizeof(body), "%.*s.%s", d->exp + 1, d->digits,
		         d->digits + d->exp + 1);
	}
	snprintf(out, len, "%s%s", negative ? "-" : "", body);
}

/* py_repr writes Python's repr(x) into buf ("12.0", "1e+16", "-0.0", "inf", "nan"). */
void py_repr(double x, char *buf, size_t len)
{
	decimal d;

	if (isnan(x)) {
		snprintf(buf, len, "nan");
		return;
	}
	if (isinf(x)) {
		snprintf(buf, len, "%s", x < 0 ? "-inf" : "inf");
		return;
	}
	if (x == 0) {
		snprintf(buf, len, "%s", signbit(x) ? "-0.0" : "0.0");
		return;
	}
	shortest_decimal(fabs(x), &d);
	format_decimal(&d, x < 0, buf, len);
}

/*
 * py_divmod is CPython's float_divmod: the remainder takes the sign of the
 * divisor, and the quotient is floored from (a - mod) / b, which is already
 * nearly integral, hence the "> 0.5" correction rather than a plain floor.
 * b == 0 (a ZeroDivisionError in Python) gives NaN for both.
 */
static void py_divmod(double a, double b, double *floordiv, double *mod)
{
	double div;

	if (b == 0) {
		*floordiv = *mod = NAN;
		return;
	}
	*mod = fmod(a, b);
	div = (a - *mod) / b;
	if (*mod) {
		if ((b < 0) != (*mod < 0)) {
			*mod += b;
			div -= 1.0;
		}
	} else {
		*mod = copysign(0.0, b);
	}
	if (div) {
		*floordiv = floor(div);
		if (div - *floordiv > 0.5)
			*floordiv += 1.0;
	} else {
		*floordiv = copysign(0.0, a / b);
	}
}

/* py_floordiv returns Python's a // b for floats. */
double py_floordiv(double a, double b)
{
	double q, r;

	py_divmod(a, b, &q, &r);
	return q;
}

/* py_mod returns Python's a % b for floats (CPython float_rem: same as divmod's). */
double py_mod(double a, double b)
{
	double q, r;

	py_divmod(a, b, &q, &r);
	return r;
}

/* parse_double reads the whole of text as a double; false if anything is left. */
static bool parse_double(const char *text, double *x)
{
	char *end;

	if (!text || !*text)
		return false;
	*x = strtod(text, &end);
	return end != text && *end == '\0';
}

/*
 * py_round2_text writes round(x, 2) of the number in text as "%.2f": printf
 * rounds the exact binary value half to even, as Python's round() does. A
 * negative zero ("-0.00" for -0.001) is written "0.00": PostgreSQL's
 * numeric has no negative zero. False if text is not a finite number.
 */
bool py_round2_text(const char *text, char *buf, size_t len)
{
	double x;
	int n;

	if (!parse_double(text, &x) || !isfinite(x))
		return false;
	n = snprintf(buf, len, "%.2f", x);
	if (n < 0 || (size_t)n >= len)
		return false;
	if (strcmp(buf, "-0.00") == 0)
		snprintf(buf, len, "0.00");
	return true;
}

/*
 * surface_text writes "<s // 10000> ha <(s % 10000) // 100> a <s % 100> ca"
 * with Python float semantics; NULL text gives "0 ha 0 a 0 ca" (integers:
 * the reference's literal). False if text is not a number or buf too small.
 */
bool surface_text(const char *superficie, char *buf, size_t len)
{
	char ha[32], a[32], ca[32];
	double s;
	int n;

	if (!superficie) {
		n = snprintf(buf, len, "0 ha 0 a 0 ca");
		return n >= 0 && (size_t)n < len;
	}
	if (!parse_double(superficie, &s))
		return false;
	py_repr(py_floordiv(s, 10000), ha, sizeof(ha));
	py_repr(py_floordiv(py_mod(s, 10000), 100), a, sizeof(a));
	py_repr(py_mod(s, 100), ca, sizeof(ca));
	n = snprintf(buf, len, "%s ha %s a %s ca", ha, a, ca);
	return n >= 0 && (size_t)n < len;
}
