/*
 * tests/check_column_rules.c
 *     Unit tests of src/column_rules.c: each kind of rule on its edges,
 *     then every rule of the table one by one, with a value it must take
 *     and the values it must refuse.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "column_rules.h"
#include "identity_rules.h"

static const column_rule *rule(const char *table, const char *column)
{
	const column_rule *r = column_rule_find(table, column);

	ck_assert_msg(r != NULL, "no rule for %s.%s", table, column);
	return r;
}

static bool ok(const column_rule *r, const char *v)
{
	char why[256] = "";
	bool kept = column_rule_check(r, v, why, sizeof(why));

	ck_assert_msg(kept || why[0], "a refusal says why");
	return kept;
}

START_TEST(test_dates)
{
	const column_rule *d = rule("conventions_convention", "date_resiliation");

	ck_assert(ok(d, "2015-06-30"));
	ck_assert(ok(d, "0001-01-01"));
	ck_assert(ok(d, "9999-12-31"));
	ck_assert(ok(d, NULL));
	ck_assert(!ok(d, "20150-06-30")); /* the typo of the issue */
	ck_assert(!ok(d, "0044-03-15 BC"));
	ck_assert(!ok(d, "infinity"));
	ck_assert(!ok(d, "-infinity"));
	ck_assert(!ok(d, "30/06/2015"));
	char why[256];
	column_rule_check(d, "20150-06-30", why, sizeof(why));
	ck_assert_str_eq(why, "year 20150 is outside 1..9999 (Python's dates)");
}
END_TEST

START_TEST(test_datetimes)
{
	const column_rule *t = rule("conventions_piecejointe", "cree_le");

	ck_assert(ok(t, "2015-06-30 12:00:00+02"));
	ck_assert(ok(t, "2015-06-30 12:00:00.123456+00"));
	ck_assert(!ok(t, NULL));
	ck_assert(!ok(t, "12015-06-30 12:00:00+02"));
	ck_assert(!ok(t, "0001-01-01 00:00:00+00"));
	ck_assert(!ok(t, "9999-12-31 23:00:00+00"));
	ck_assert(ok(t, "9999-12-30 23:00:00+00"));
	ck_assert(!ok(t, "0010-01-01 00:00:00+00 BC"));
	ck_assert(!ok(t, "infinity"));
}
END_TEST

START_TEST(test_numerics)
{
	const column_rule *l = rule("programmes_lot", "loyer_derogatoire"); /* numeric(6,2) */
	const column_rule *c = rule("programmes_logement", "coeficient");   /* numeric(12,4) */

	ck_assert(ok(l, "9999.99"));
	ck_assert(ok(l, "-9999.99"));
	ck_assert(ok(l, "0.004"));
	ck_assert(ok(l, "0009999.99"));
	ck_assert(!ok(l, "10000"));
	ck_assert(!ok(l, "9999.995")); /* rounds to 10000.00 */
	ck_assert(ok(l, "9999.994"));
	ck_assert(!ok(l, "NaN"));
	ck_assert(!ok(l, "Infinity"));
	ck_assert(!ok(l, "-Infinity"));
	ck_assert(!ok(l, "1e4"));
	ck_assert(ok(l, "1e3"));
	ck_assert(ok(c, "1.2e-05"));
	ck_assert(ok(c, "12345678.12345"));
	ck_assert(!ok(c, "123456789"));
	ck_assert(!ok(c, "1e400"));
	ck_assert(!ok(c, ""));
	ck_assert(!ok(c, "12a"));
	ck_assert(!ok(c, "."));
}
END_TEST

START_TEST(test_integers)
{
	const column_rule *q = rule("programmes_repartitionsurface", "quantite");

	ck_assert(ok(q, "2147483647"));
	ck_assert(ok(q, "-2147483648"));
	ck_assert(!ok(q, "2147483648"));
	ck_assert(!ok(q, "99999999999999999999"));
	ck_assert(!ok(q, "1.5"));
	ck_assert(!ok(q, NULL));
}
END_TEST

START_TEST(test_strings)
{
	const column_rule *cp = rule("programmes_programme", "code_postal"); /* varchar(5) */
	const column_rule *t = rule("programmes_logement", "typologie");

	ck_assert(ok(cp, "22000"));
	ck_assert(ok(cp, "éèàçù")); /* characters, not bytes */
	ck_assert(!ok(cp, "220000"));
	ck_assert(ok(t, "T1bis"));
	ck_assert(!ok(t, "T8"));
	ck_assert(!ok(t, "t1"));
	ck_assert(!ok(t, ""));
	ck_assert(ok(rule("programmes_lot", "financement"), "PLI")); /* mapping.md 1.2 */
	ck_assert(!ok(rule("programmes_lot", "financement"), "PLA"));
	ck_assert(!ok(rule("programmes_repartitionsurface", "type_habitat"), "MIXTE"));
	ck_assert(ok(rule("programmes_lot", "type_habitat"), "MIXTE"));
}
END_TEST

/* a_valid_value writes a value r must take into buf. */
static const char *a_valid_value(const column_rule *r, char *buf, size_t len)
{
	switch (r->kind) {
	case RULE_CHOICE:
		return r->choices[0];
	case RULE_VARCHAR:
		memset(buf, 'x', (size_t)r->n < len - 1 ? (size_t)r->n : len - 1);
		buf[(size_t)r->n < len - 1 ? (size_t)r->n : len - 1] = '\0';
		return buf;
	case RULE_NUMERIC:
		snprintf(buf, len, "%.*s.5", r->n - r->scale, "99999999999999999999");
		return buf;
	case RULE_INTEGER:
		return "-2147483648";
	case RULE_BOOLEAN:
		return "t";
	case RULE_DATE:
		return "9999-12-31";
	case RULE_DATETIME:
		return "2015-06-30 12:00:00+02";
	case RULE_TEXT:
		return "\t\\N\\.\r\n'\"; DROP TABLE x; -- 😀";
	}
	return NULL;
}

/* a_bad_value writes a value r must refuse into buf, or NULL when every value goes (text). */
static const char *a_bad_value(const column_rule *r, char *buf, size_t len)
{
	switch (r->kind) {
	case RULE_CHOICE:
		return "NOT_A_CHOICE";
	case RULE_VARCHAR:
		memset(buf, 'x', (size_t)r->n + 1);
		buf[r->n + 1] = '\0';
		return buf;
	case RULE_NUMERIC:
		snprintf(buf, len, "1%.*s", r->n - r->scale, "00000000000000000000");
		return buf;
	case RULE_INTEGER:
		return "2147483648";
	case RULE_BOOLEAN:
		return "yes";
	case RULE_DATE:
		return "20150-06-30";
	case RULE_DATETIME:
		return "20150-06-30 12:00:00+02";
	case RULE_TEXT:
		return NULL;
	}
	return NULL;
}

START_TEST(test_every_rule)
{
	size_t n;
	const column_rule *all = column_rules_all(&n);
	static char good[60000], bad[60000];

	ck_assert_uint_gt(n, 100);
	for (size_t i = 0; i < n; i++) {
		const column_rule *r = &all[i];
		const char *b = a_bad_value(r, bad, sizeof(bad));
		ck_assert_ptr_eq(column_rule_find(r->table, r->column), r);
		ck_assert_msg(ok(r, a_valid_value(r, good, sizeof(good))),
		              "%s.%s takes a valid value", r->table, r->column);
		ck_assert_msg(b == NULL || !ok(r, b), "%s.%s refuses %.40s", r->table, r->column,
		              b);
		ck_assert_msg(ok(r, NULL) == r->null_ok, "%s.%s: NULL", r->table, r->column);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(all[j].table, r->table) ||
			                      strcmp(all[j].column, r->column),
			              "%s.%s has two rules", r->table, r->column);
	}
}
END_TEST

START_TEST(test_rule_text)
{
	char buf[128];

	column_rule_text(rule("programmes_lot", "loyer_derogatoire"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "numeric(6,2)");
	column_rule_text(rule("programmes_logement", "typologie"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "varchar(25) with choices, NOT NULL");
	ck_assert_ptr_null(column_rule_find("programmes_lot", "no_such_column"));
}
END_TEST

/*
 * The identity rules: a query that lacks the field of one rule is refused
 * (identity_missing_field), whichever rule it is. Before, a missing field
 * ended the rules early, silently: the later ones never ran.
 */
START_TEST(test_identity_rules)
{
	char *all[] = {"_key", "_identity_siren", "siret", "siren", "nom"};
	char *no_first[] = {"_key", "siret", "siren"};
	char *no_middle[] = {"_key", "_identity_siren", "siren"};
	char *code[] = {"code"};

	ck_assert_ptr_null(identity_missing_field(ENT_BAILLEUR, all, 5));
	ck_assert_str_eq(identity_missing_field(ENT_BAILLEUR, no_first, 3), "_identity_siren");
	ck_assert_str_eq(identity_missing_field(ENT_BAILLEUR, no_middle, 3), "siret");
	ck_assert_ptr_null(identity_missing_field(ENT_ADMINISTRATION, code, 1));
	ck_assert_str_eq(identity_missing_field(ENT_ADMINISTRATION, all, 0), "code");
	ck_assert_ptr_null(identity_missing_field(ENT_LOT, all, 0)); /* no identity */
	ck_assert_ptr_null(identity_rules_of(ENT_CONVENTION));
	for (int e = 0; e < ENT_COUNT; e++) {
		for (const identity_rule *r = identity_rules_of((entity)e); r && r->field; r++) {
			ck_assert_ptr_nonnull(r->column);
			ck_assert(r->slot >= 0 && r->slot < 3); /* ctx->identity has 3 maps */
		}
	}
}
END_TEST

int main(void)
{

	Suite *s = suite_create("column_rules");
	TCase *tc = tcase_create("rules");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_dates);
	tcase_add_test(tc, test_datetimes);
	tcase_add_test(tc, test_numerics);
	tcase_add_test(tc, test_integers);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_every_rule);
	tcase_add_test(tc, test_rule_text);
	tcase_add_test(tc, test_identity_rules);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
