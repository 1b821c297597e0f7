/*
 * tests/check_units.c
 *     Unit tests (Check) of the shared modules: département codes, command
 *     line, configuration and password masking, the worker <-> coordinator
 *     frames (exact bytes, pieces, bad frames), COPY escaping, logging,
 *     Python float semantics (expected values computed with python3 3.11)
 *     and UUIDs.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "departement.h"
#include "log.h"
#include "options.h"
#include "protocol.h"
#include "pyfloat.h"
#include "resolve.h"
#include "strbuf.h"
#include "uuid.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* département codes                                                  */

START_TEST(test_departement_valid)
{
	static const char *const ok[] = {"01", "09", "19",  "2A",  "2B",  "21",
	                                 "33", "95", "971", "974", "975", "976"};

	for (size_t i = 0; i < N_ELEMS(ok); i++)
		ck_assert_msg(departement_is_valid(ok[i]), "%s should be valid", ok[i]);
}
END_TEST

START_TEST(test_departement_invalid)
{
	static const char *const bad[] = {"1",    "99",  "2C",  "20", "'; drop", "977", "2a",
	                                  "00",   "96",  "970", "",   "011",     " 22", "22 ",
	                                  "9710", "2A ", "-1",  "A2", "0",       "100"};

	for (size_t i = 0; i < N_ELEMS(bad); i++)
		ck_assert_msg(!departement_is_valid(bad[i]), "'%s' should be invalid", bad[i]);
	ck_assert(!departement_is_valid(NULL));
}
END_TEST

START_TEST(test_departement_all)
{
	size_t n = 0;
	const char *const *all = departement_all(&n);

	ck_assert_uint_eq(n, 102);
	ck_assert_str_eq(all[0], "01");
	ck_assert_str_eq(all[18], "19");
	ck_assert_str_eq(all[19], "2A");
	ck_assert_str_eq(all[20], "2B");
	ck_assert_str_eq(all[21], "21");
	ck_assert_str_eq(all[95], "95");
	ck_assert_str_eq(all[96], "971");
	ck_assert_str_eq(all[n - 1], "976");
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(departement_is_valid(all[i]), "%s", all[i]);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(all[i], all[j]);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* command line                                                       */

/* parse splits line on spaces into argv (after "prog") and parses it. */
static bool parse(const char *line, options *opts, char *err, size_t errlen)
{
	static char copy[512];
	char *argv[64];
	int argc = 0;
	bool ok;

	snprintf(copy, sizeof(copy), "%s", line);
	argv[argc++] = "import_ecoloweb_data";
	for (char *t = strtok(copy, " "); t && argc < 63; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	ok = options_parse(argc, argv, opts, err, errlen);
	return ok;
}

/* parse_argv parses an explicit argument vector (for arguments with spaces). */
static bool parse_argv(int argc, char **argv, options *opts, char *err, size_t errlen)
{
	return options_parse(argc, argv, opts, err, errlen);
}

/* --log-format plain|json: the last one wins, anything else refused naming the value. */
START_TEST(test_options_log_format)
{
	options o;
	char err[256];

	ck_assert(parse("--departement 22", &o, err, sizeof(err)));
	ck_assert(!o.log_json);
	options_free(&o);
	ck_assert(parse("--log-format json --departement 22", &o, err, sizeof(err)));
	ck_assert(o.log_json);
	options_free(&o);
	ck_assert(parse("--log-format=json --log-format plain", &o, err, sizeof(err)));
	ck_assert(!o.log_json);
	options_free(&o);
	ck_assert(!parse("--log-format xml", &o, err, sizeof(err)));
	ck_assert_str_eq(err, "invalid value 'xml' for --log-format (expected plain or json)");
	ck_assert(!parse("--log-format", &o, err, sizeof(err)));
	ck_assert_msg(strstr(err, "requires an argument") != NULL, "%s", err);
}
END_TEST

START_TEST(test_options_several)
{
	options o;
	char err[256];

	ck_assert(parse("--departement 22 29 35 56", &o, err, sizeof(err)));
	ck_assert_uint_eq(o.n_departements, 4);
	ck_assert_str_eq(o.departements[0], "22");
	ck_assert_str_eq(o.departements[1], "29");
	ck_assert_str_eq(o.departements[2], "35");
	ck_assert_str_eq(o.departements[3], "56");
	ck_assert(!o.all_departements);
	ck_assert(!o.dry_run);
	ck_assert_int_eq(o.jobs, 0);
	ck_assert_int_eq(o.max_connections, 0);
	ck_assert_ptr_null(o.summary_json);
	options_free(&o);
}
END_TEST

START_TEST(test_options_repeated)
{
	options o;
	char err[256];

	ck_assert(parse("--departement 22 --dry_run --departement=13 29 22 --departements 2A 2B 13",
	                &o, err, sizeof(err)));
	ck_assert_uint_eq(o.n_departements, 5);
	ck_assert_str_eq(o.departements[0], "22");
	ck_assert_str_eq(o.departements[1], "13");
	ck_assert_str_eq(o.departements[2], "29");
	ck_assert_str_eq(o.departements[3], "2A");
	ck_assert_str_eq(o.departements[4], "2B");
	ck_assert(o.dry_run);
	options_free(&o);
}
END_TEST

START_TEST(test_options_flags)
{
	options o;
	char err[256];

	ck_assert(parse("--dry-run --no-progress --debug --update -y --jobs 8 "
	                "--commit-per-departement --summary-json out.json --max-connections 20 "
	                "--departement 971",
	                &o, err, sizeof(err)));
	ck_assert(o.dry_run && o.no_progress && o.debug && o.update && o.yes);
	ck_assert(o.commit_per_departement);
	ck_assert_int_eq(o.jobs, 8);
	ck_assert_int_eq(o.max_connections, 20);
	ck_assert_str_eq(o.summary_json, "out.json");
	ck_assert_uint_eq(o.n_departements, 1);
	ck_assert_str_eq(o.departements[0], "971");
	options_free(&o);

	ck_assert(parse("--yes --jobs=1 --jobs 64", &o, err, sizeof(err)));
	ck_assert(o.yes);
	ck_assert_int_eq(o.jobs, 64);
	options_free(&o);
}
END_TEST

START_TEST(test_options_all)
{
	options o;
	char err[256];
	size_t n;

	departement_all(&n);
	ck_assert(parse("--dry_run", &o, err, sizeof(err)));
	ck_assert(o.all_departements);
	ck_assert_uint_eq(o.n_departements, n);
	ck_assert_str_eq(o.departements[19], "2A");
	options_free(&o);

	ck_assert(parse("", &o, err, sizeof(err)));
	ck_assert(o.all_departements);
	options_free(&o);
}
END_TEST

/* expect_error parses line and checks that it fails with a message containing want. */
static void expect_error(const char *line, const char *want)
{
	options o;
	char err[256];

	ck_assert_msg(!parse(line, &o, err, sizeof(err)), "'%s' should fail", line);
	ck_assert_msg(strstr(err, want) != NULL, "'%s': got '%s', want '%s'", line, err, want);
	ck_assert_ptr_null(o.departements);
}

START_TEST(test_options_errors)
{
	expect_error("--departement 2C",
	             "invalid département code '2C' (expected 01-19, 2A, 2B, 21-95, 971-976)");
	expect_error("--departement 22 99", "'99'");
	expect_error("--departement 20", "'20'");
	expect_error("--departement 977", "'977'");
	expect_error("--departement 2a", "'2a'");
	expect_error("--departement 1", "'1'");
	expect_error("--departement", "option '--departement' requires an argument");
	expect_error("--departement --dry_run", "needs at least one département code");
	expect_error("--frobnicate", "unknown or ambiguous option '--frobnicate'");
	expect_error("-x", "unknown or ambiguous option '-x'");
	expect_error("22", "unexpected argument '22'");
	expect_error("--dry_run 22", "unexpected argument '22'");
	expect_error("--departement 22 -- 29", "unexpected argument '29'");
	expect_error("--jobs 0", "invalid value '0' for --jobs (expected an integer from 1 to 64)");
	expect_error("--jobs 65", "'65'");
	expect_error("--jobs x", "'x'");
	expect_error("--jobs 4x", "'4x'");
	expect_error("--jobs", "requires an argument");
	expect_error("--max-connections -1", "--max-connections");
	expect_error("--dry_run=yes", "option '--dry_run=yes' takes no value");
	expect_error("--yes=1", "takes no value");
	expect_error("--d", "unknown or ambiguous option '--d'");
}
END_TEST

START_TEST(test_options_verify)
{
	options o;
	char err[256];

	ck_assert(parse("--verify --departement 22 29", &o, err, sizeof(err)));
	ck_assert(o.verify && !o.dry_run && !o.update);
	ck_assert_int_eq(o.max_differences, 20);
	options_free(&o);

	ck_assert(parse("--max-differences 0 --verify --jobs 2", &o, err, sizeof(err)));
	ck_assert(o.verify);
	ck_assert_int_eq(o.max_differences, 0);
	ck_assert_int_eq(o.jobs, 2);
	options_free(&o);

	ck_assert(parse("--departement 22", &o, err, sizeof(err)));
	ck_assert(!o.verify);
	options_free(&o);

	expect_error("--verify --update", "option '--update' makes no sense with '--verify'");
	expect_error("--dry_run --verify", "option '--dry_run' makes no sense with '--verify'");
	expect_error("--verify --commit-per-departement", "'--commit-per-departement'");
	expect_error("--verify --purge --departement 22", "option '--purge' makes no sense");
	expect_error("--max-differences 5", "option '--max-differences' goes with '--verify' only");
	expect_error("--verify --max-differences -1", "--max-differences");
	expect_error("--verify --max-differences x", "'x'");
}
END_TEST

START_TEST(test_options_quoting)
{
	options o;
	char err[256];
	char *argv[] = {"prog", "--departement", "'; drop", NULL};
	char *argv2[] = {"prog", "--departement", "2\n2", NULL};

	ck_assert(!parse_argv(3, argv, &o, err, sizeof(err)));
	ck_assert_str_eq(err, "invalid département code ''; drop' (expected 01-19, 2A, 2B, "
	                      "21-95, 971-976)");
	ck_assert(!parse_argv(3, argv2, &o, err, sizeof(err)));
	ck_assert_msg(strchr(err, '\n') == NULL, "control characters must not reach the message");
	ck_assert(strstr(err, "'2?2'") != NULL);
}
END_TEST

START_TEST(test_options_help)
{
	options o;
	char err[256];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert(parse("--help", &o, err, sizeof(err)));
	ck_assert(o.help && !o.version);
	options_free(&o);
	ck_assert(parse("--dry_run -h --bogus", &o, err, sizeof(err)));
	ck_assert(o.help);
	options_free(&o);
	ck_assert(parse("-V", &o, err, sizeof(err)));
	ck_assert(o.version && !o.help);
	options_free(&o);

	f = open_memstream(&text, &len);
	options_usage(f);
	fclose(f);
	ck_assert(strncmp(text, "Usage: import_ecoloweb_data", 27) == 0);
	static const char *const needed[] = {"--departement CODE",
	                                     "--dry_run",
	                                     "--dry-run",
	                                     "--no-progress",
	                                     "--debug",
	                                     "--update",
	                                     "--yes",
	                                     "--jobs N",
	                                     "--commit-per-departement",
	                                     "--summary-json",
	                                     "--max-connections N",
	                                     "--help",
	                                     "--version",
	                                     "ECOLO_DATABASE_URL",
	                                     "DATABASE_URL",
	                                     "SCALINGO_POSTGRESQL_URL",
	                                     "REDIS_URL",
	                                     "SCALINGO_REDIS_URL",
	                                     "Exit status",
	                                     "  0 ",
	                                     "  1 ",
	                                     "  2 ",
	                                     "130",
	                                     "143"};
	for (size_t i = 0; i < N_ELEMS(needed); i++)
		ck_assert_msg(strstr(text, needed[i]) != NULL, "help lacks %s", needed[i]);
	free(text);
}
END_TEST

/* ------------------------------------------------------------------ */
/* configuration                                                      */

/* clear_env unsets every variable config_from_env reads. */
static void clear_env(void)
{
	unsetenv("ECOLO_DATABASE_URL");
	unsetenv("DATABASE_URL");
	unsetenv("SCALINGO_POSTGRESQL_URL");
	unsetenv("REDIS_URL");
	unsetenv("SCALINGO_REDIS_URL");
}

START_TEST(test_config_url_and_conninfo)
{
	config c;
	char err[256] = "";

	clear_env();
	setenv("ECOLO_DATABASE_URL",
	       "postgres://ecolo:s3cret@db.example:5432/ecoloweb?sslmode=require", 1);
	setenv("DATABASE_URL", "host=apilos port=5432 dbname=apilos user=app password='p@ss w0rd'",
	       1);
	ck_assert_msg(config_from_env(&c, err, sizeof(err)), "%s", err);
	ck_assert_str_eq(c.source_conninfo,
	                 "postgres://ecolo:s3cret@db.example:5432/ecoloweb?sslmode=require");
	ck_assert_str_eq(c.source_safe,
	                 "postgres://ecolo:****@db.example:5432/ecoloweb?sslmode=require");
	ck_assert_str_eq(c.target_safe,
	                 "host=apilos port=5432 dbname=apilos user=app password='****'");
	ck_assert(!c.has_redis);
	ck_assert_ptr_null(c.redis_safe);
	config_free(&c);
}
END_TEST

START_TEST(test_config_fallbacks)
{
	config c;
	char err[256] = "";

	clear_env();
	setenv("ECOLO_DATABASE_URL", "host=replica dbname=ecoloweb", 1);
	setenv("SCALINGO_POSTGRESQL_URL", "postgresql://app:pw@pg.scalingo:30000/apilos", 1);
	setenv("SCALINGO_REDIS_URL", "redis://:r3dis@redis.scalingo:31000", 1);
	ck_assert_msg(config_from_env(&c, err, sizeof(err)), "%s", err);
	ck_assert_str_eq(c.source_safe, "host=replica dbname=ecoloweb");
	ck_assert_str_eq(c.target_conninfo, "postgresql://app:pw@pg.scalingo:30000/apilos");
	ck_assert_str_eq(c.target_safe, "postgresql://app:****@pg.scalingo:30000/apilos");
	ck_assert(c.has_redis);
	ck_assert_str_eq(c.redis.host, "redis.scalingo");
	ck_assert_int_eq(c.redis.port, 31000);
	ck_assert_str_eq(c.redis.password, "r3dis");
	ck_assert_str_eq(c.redis_safe, "redis://:****@redis.scalingo:31000/0");
	config_free(&c);

	/* DATABASE_URL and REDIS_URL win over the Scalingo names */
	setenv("DATABASE_URL", "postgres://other/apilos", 1);
	setenv("REDIS_URL", "redis://localhost/3", 1);
	ck_assert_msg(config_from_env(&c, err, sizeof(err)), "%s", err);
	ck_assert_str_eq(c.target_conninfo, "postgres://other/apilos");
	ck_assert_str_eq(c.redis_safe, "redis://localhost:6379/3");
	ck_assert_ptr_null(c.redis.password);
	config_free(&c);
}
END_TEST

START_TEST(test_config_missing)
{
	config c;
	char err[256] = "";

	clear_env();
	setenv("DATABASE_URL", "postgres://h/apilos", 1);
	ck_assert(!config_from_env(&c, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "ECOLO_DATABASE_URL is not set: ", 31) == 0, "%s", err);
	ck_assert_ptr_null(c.source_conninfo);

	setenv("ECOLO_DATABASE_URL", "", 1);
	ck_assert(!config_from_env(&c, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "ECOLO_DATABASE_URL is not set", 29) == 0, "%s", err);

	clear_env();
	setenv("ECOLO_DATABASE_URL", "postgres://h/ecoloweb", 1);
	ck_assert(!config_from_env(&c, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "DATABASE_URL is not set (nor SCALINGO_POSTGRESQL_URL): ", 55) ==
	                      0,
	              "%s", err);
	ck_assert_ptr_null(c.source_conninfo);
}
END_TEST

/* expect_bad_source checks that url is refused with a message free of secret. */
static void expect_bad_source(const char *url, const char *secret, const char *want)
{
	config c;
	char err[512] = "";

	clear_env();
	setenv("ECOLO_DATABASE_URL", url, 1);
	setenv("DATABASE_URL", "postgres://h/apilos", 1);
	ck_assert_msg(!config_from_env(&c, err, sizeof(err)), "%s should be refused", url);
	ck_assert_msg(strstr(err, want) != NULL, "got '%s', want '%s'", err, want);
	ck_assert_msg(strstr(err, secret) == NULL, "password leaked: %s", err);
	ck_assert_msg(strncmp(err, "ECOLO_DATABASE_URL: ", 20) == 0, "%s", err);
}

START_TEST(test_config_invalid_no_password)
{
	expect_bad_source("postgres://u:topsecret@[::1/db", "topsecret",
	                  "invalid connection string: end of string reached when looking for "
	                  "matching \"]\" in IPv6 host address in URI: "
	                  "\"postgres://u:****@[::1/db\"");
	expect_bad_source("postgres://u:bad%zzpw@host/db", "zzpw",
	                  "invalid connection string: the password is malformed");
	expect_bad_source("postgres://u:pw@h/db?password=x%zzsecret", "zzsecret",
	                  "the password is malformed");
	/* "bogus" may be the rest of a password with a space: not quoted */
	expect_bad_source("host=x password=hunter2 bogus", "bogus",
	                  "invalid connection string: what follows the password is malformed "
	                  "(quote a password");
	expect_bad_source("host=x password=hunter2 bo=gus", "bo", "what follows the password");
	expect_bad_source("host=x bogus password=hunter2", "hunter2",
	                  "invalid connection string: missing \"=\" after \"bogus\"");
	expect_bad_source("postgres://u@h/db?password=hunt&er2", "er2",
	                  "what follows the password is malformed (percent-encode");
	/* an '@' or a '/' left in a password: libpq would take the rest as the host or port */
	expect_bad_source("postgres://u:hun@ter2@h/db", "ter2", "an '@' that does not end");
	expect_bad_source("postgres://u:hun/ter2@h/db", "hun", "an '@' that does not end");
	expect_bad_source("postgres://u@h/db?password=hun@ter2", "ter2",
	                  "an '@' that does not end");
	expect_bad_source("host=x password='hunter2", "hunter2", "unterminated quoted string");
	expect_bad_source("postgres://u:pw@h/db?foo=hunter2", "pw@",
	                  "invalid URI query parameter: \"foo\"");
	expect_bad_source("mysql://u:hunter2@h/db", "hunter2", "unsupported URL scheme 'mysql'");
	/* a typo that puts a password where libpq stops, or in the port (fuzz_config) */
	expect_bad_source("host='db password='s3cret' dbname=x", "s3cret",
	                  "malformed, libpq's reason not shown");
	expect_bad_source("postgres://u:s3cret", "s3cret", "a port is not a number");
	expect_bad_source("postgres://h:5432,h2:s3cret/db", "s3cret", "a port is not a number");
}
END_TEST

START_TEST(test_conninfo_mask)
{
	static const char *const cases[][2] = {
	        {"postgres://u:pw@h:5432/db", "postgres://u:****@h:5432/db"},
	        {"postgresql://u@h/db?password=xyz&sslmode=disable",
	         "postgresql://u@h/db?password=****&sslmode=disable"},
	        {"postgresql://u:a@h/db?sslmode=disable&password=xyz",
	         "postgresql://u:****@h/db?sslmode=disable&password=****"},
	        {"postgres://h/db", "postgres://h/db"},
	        {"postgres://u@h/db", "postgres://u@h/db"},
	        {"postgres://u:p%40ss@h1:5432,h2:5433/db", "postgres://u:****@h1:5432,h2:5433/db"},
	        {"postgres://", "postgres://"},
	        {"password=abc host=h", "password=**** host=h"},
	        {"host=h password = abc port=5", "host=h password = **** port=5"},
	        {"host=h password='a b\\' c' user=u", "host=h password='****' user=u"},
	        {"host=h password=a\\ b user=u", "host=h password=**** user=u"},
	        {"host=h passfile=/x user=password", "host=h passfile=/x user=password"},
	        {"", ""},
	        /* a '?' in the password: the query does not start there (fuzz_config) */
	        {"postgres://u:p?x@h/db?sslmode=disable&password=",
	         "postgres://u:****@h/db?sslmode=disable&password=****"},
	};

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *m = conninfo_mask(cases[i][0]);

		ck_assert_msg(m != NULL, "%s", cases[i][0]);
		ck_assert_str_eq(m, cases[i][1]);
		free(m);
	}
	ck_assert_ptr_null(conninfo_mask("host=x password=y bogus"));
	ck_assert_ptr_null(conninfo_mask("postgres://u@h/db?password=hun@ter2"));
	/* an '@' in the query is a stray '@' too: refused, not half masked (fuzz_config) */
	ck_assert_ptr_null(conninfo_mask("postgresql://u@h/db?password=xyz&application_name=a@b"));
	ck_assert_ptr_null(conninfo_mask("postgres://u:a@h/db?application_name=x@y&password=xyz"));
	ck_assert_ptr_null(conninfo_mask("postgres://u:hun@ter2@h/db"));
	ck_assert_ptr_null(conninfo_mask(NULL));
}
END_TEST

/* redis_clear frees what redis_url_parse allocated (tests only). */
static void redis_clear(redis_config *r)
{
	free(r->user);
	free(r->host);
	free(r->password);
}

START_TEST(test_redis_url)
{
	redis_config r;
	char err[256] = "";

	ck_assert_msg(redis_url_parse("redis://localhost", &r, err, sizeof(err)), "%s", err);
	ck_assert_str_eq(r.host, "localhost");
	ck_assert_int_eq(r.port, 6379);
	ck_assert_int_eq(r.db, 0);
	ck_assert_ptr_null(r.password);
	ck_assert_ptr_null(r.user);
	redis_clear(&r);

	ck_assert(redis_url_parse("redis://:pw@h:6380/2", &r, err, sizeof(err)));
	ck_assert_str_eq(r.host, "h");
	ck_assert_int_eq(r.port, 6380);
	ck_assert_int_eq(r.db, 2);
	ck_assert_str_eq(r.password, "pw");
	ck_assert_ptr_null(r.user);
	redis_clear(&r);

	ck_assert(redis_url_parse("redis://user:p%40ss@h:1234/", &r, err, sizeof(err)));
	ck_assert_str_eq(r.user, "user");
	ck_assert_str_eq(r.password, "p@ss");
	ck_assert_int_eq(r.port, 1234);
	ck_assert_int_eq(r.db, 0);
	redis_clear(&r);

	ck_assert(redis_url_parse("redis://[::1]:7000/1", &r, err, sizeof(err)));
	ck_assert_str_eq(r.host, "::1");
	ck_assert_int_eq(r.port, 7000);
	ck_assert_int_eq(r.db, 1);
	redis_clear(&r);
}
END_TEST

/* expect_bad_redis checks that url is refused with want in err and no secret. */
static void expect_bad_redis(const char *url, const char *want, const char *secret)
{
	redis_config r;
	char err[256] = "";

	ck_assert_msg(!redis_url_parse(url, &r, err, sizeof(err)), "%s should be refused", url);
	ck_assert_msg(strstr(err, want) != NULL, "got '%s', want '%s'", err, want);
	if (secret)
		ck_assert_msg(strstr(err, secret) == NULL, "leaked: %s", err);
	ck_assert_ptr_null(r.host);
	ck_assert_ptr_null(r.password);
}

START_TEST(test_redis_url_errors)
{
	expect_bad_redis("rediss://:pw@h:6380", "TLS", "pw");
	expect_bad_redis("http://h", "redis://", NULL);
	expect_bad_redis("redis://h:0", "invalid port (expected 1-65535", NULL);
	/* the password of redis://user:password with @host forgotten is not quoted */
	expect_bad_redis("redis://default:s3cret", "invalid port", "s3cret");
	expect_bad_redis("redis://h:99999", "invalid port", NULL);
	expect_bad_redis("redis://h:x", "invalid port", NULL);
	expect_bad_redis("redis://h/x", "database number", NULL);
	expect_bad_redis("redis://:pw@", "missing host", "pw");
	expect_bad_redis("redis://:s3cr%zzet@h", "malformed password", "s3cr");
	expect_bad_redis("redis://h?ssl=true", "query parameters", NULL);
	expect_bad_redis("redis://[::1:6379", "IPv6", NULL);
}
END_TEST

START_TEST(test_config_bad_redis)
{
	config c;
	char err[256] = "";

	clear_env();
	setenv("ECOLO_DATABASE_URL", "postgres://h/ecoloweb", 1);
	setenv("DATABASE_URL", "postgres://h/apilos", 1);
	setenv("REDIS_URL", "rediss://:secret@h:6380", 1);
	ck_assert(!config_from_env(&c, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "REDIS_URL: rediss://", 20) == 0, "%s", err);
	ck_assert(strstr(err, "secret") == NULL);
	ck_assert_ptr_null(c.source_conninfo);
}
END_TEST

/* ------------------------------------------------------------------ */
/* protocol                                                           */

START_TEST(test_proto_hello_bytes)
{
	static const uint8_t want[] = {MSG_HELLO, 0, 8, 0, 0x04, 0x03, 0x02, 0x01, '2', 'A', 0, 0};
	message m = {.type = MSG_HELLO, .pid = 0x01020304, .departement = "2A"};
	uint8_t buf[PROTO_MAX_FRAME];
	size_t n = proto_encode(&m, buf);

	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));

	/* READY: a bare header */
	m = (message){.type = MSG_READY};
	ck_assert_uint_eq(proto_encode(&m, buf), 4);
	ck_assert_mem_eq(buf, "\x06\x00\x00\x00", 4);
}
END_TEST

/* sample fills a message of type t with recognisable values. */
static message sample(msg_type t)
{
	message m;

	memset(&m, 0, sizeof(m));
	m.type = t;
	switch (t) {
	case MSG_HELLO:
		m.pid = 123456;
		snprintf(m.departement, sizeof(m.departement), "%s", "974");
		break;
	case MSG_PLAN:
	case MSG_PROGRESS:
	case MSG_DONE:
		for (int e = 0; e < ENT_COUNT; e++) {
			m.counts[e].read = 1000000u * (uint32_t)e + 1;
			m.counts[e].created = 0xFFFFFFFFu - (uint32_t)e;
			m.counts[e].matched = (uint32_t)e * 3;
			m.counts[e].skipped = (uint32_t)e * 5;
			m.counts[e].updated = (uint32_t)e * 7;
			m.counts[e].errors = (uint32_t)e * 11;
		}
		if (t == MSG_PROGRESS) {
			snprintf(m.phase, sizeof(m.phase), "%s", "logement");
			m.waiting = true;
		}
		if (t == MSG_DONE)
			m.status = DONE_ROLLED_BACK;
		break;
	case MSG_LOG:
		m.level = LOG_WARN;
		m.event = LOGEV_PHASE;
		snprintf(m.text, sizeof(m.text), "%s", "déjà vu: ligne\tavec tabulation");
		break;
	case MSG_STATS:
		m.stats.peak_rss_kb = 0xFEDCBA98u;
		m.stats.total = (entity_perf){.source_queries = 12,
		                              .target_queries = 0xFFFFFFFFu,
		                              .read_us = 0x0102030405060708ull,
		                              .write_us = 42};
		for (int e = 0; e < ENT_COUNT; e++)
			m.stats.entities[e] = (entity_perf){.source_queries = (uint32_t)e + 1,
			                                    .target_queries = (uint32_t)e * 1000,
			                                    .read_us = (uint64_t)e << 40,
			                                    .write_us = (uint64_t)e * 999999};
		break;
	case MSG_ERROR:
		snprintf(m.sqlstate, sizeof(m.sqlstate), "%s", "40001");
		snprintf(m.text, sizeof(m.text), "%s",
		         "logement 1234567: could not serialize access");
		break;
	default:
		break;
	}
	return m;
}

START_TEST(test_proto_round_trip)
{
	for (int t = MSG_HELLO; t < MSG_TYPE_MAX; t++) {
		message m = sample((msg_type)t), got;
		uint8_t buf[PROTO_MAX_FRAME];
		proto_decoder d;
		size_t n = proto_encode(&m, buf);

		ck_assert_msg(n >= PROTO_HEADER_SIZE && n <= PROTO_MAX_FRAME, "%s",
		              msg_type_name((msg_type)t));
		proto_decoder_init(&d);
		ck_assert(proto_feed(&d, buf, n));
		ck_assert_int_eq(proto_next(&d, &got), 1);
		ck_assert_int_eq(got.type, t);
		ck_assert_int_eq(got.pid, m.pid);
		ck_assert_str_eq(got.departement, m.departement);
		ck_assert_mem_eq(got.counts, m.counts, sizeof(m.counts));
		ck_assert_str_eq(got.phase, m.phase);
		ck_assert_int_eq(got.waiting, m.waiting);
		ck_assert_int_eq(got.level, m.level);
		ck_assert_int_eq(got.event, m.event);
		ck_assert_mem_eq(&got.stats, &m.stats, sizeof(m.stats));
		ck_assert_str_eq(got.sqlstate, m.sqlstate);
		ck_assert_str_eq(got.text, m.text);
		ck_assert_int_eq(got.status, m.status);
		ck_assert_int_eq(proto_next(&d, &got), 0);
		ck_assert_uint_eq(d.len, 0);
	}
}
END_TEST

/* encode_stream encodes one message of every type back to back; returns the length. */
static size_t encode_stream(uint8_t *buf)
{
	size_t len = 0;

	for (int t = MSG_HELLO; t < MSG_TYPE_MAX; t++) {
		message m = sample((msg_type)t);

		len += proto_encode(&m, buf + len);
	}
	return len;
}

START_TEST(test_proto_byte_by_byte)
{
	uint8_t stream[(MSG_TYPE_MAX - 1) * PROTO_MAX_FRAME];
	size_t len = encode_stream(stream);
	proto_decoder d;
	message m;
	int expected = MSG_HELLO;

	proto_decoder_init(&d);
	for (size_t i = 0; i < len; i++) {
		int r;

		ck_assert(proto_feed(&d, stream + i, 1));
		r = proto_next(&d, &m);
		ck_assert_int_ne(r, -1);
		if (r == 1) {
			ck_assert_int_eq(m.type, expected);
			expected++;
			ck_assert_int_eq(proto_next(&d, &m), 0);
		}
	}
	ck_assert_int_eq(expected, MSG_TYPE_MAX);
}
END_TEST

START_TEST(test_proto_several_in_one_feed)
{
	uint8_t stream[(MSG_TYPE_MAX - 1) * PROTO_MAX_FRAME];
	size_t len = encode_stream(stream);
	proto_decoder d;
	message m;
	size_t off = 0;
	int expected = MSG_HELLO;

	/* feed in chunks of up to PROTO_MAX_FRAME, draining each time, as the coordinator does */
	proto_decoder_init(&d);
	while (off < len) {
		size_t n = len - off < 1000 ? len - off : 1000;

		ck_assert(proto_feed(&d, stream + off, n));
		off += n;
		while (proto_next(&d, &m) == 1)
			ck_assert_int_eq(m.type, expected++);
		ck_assert(!d.broken);
	}
	ck_assert_int_eq(expected, MSG_TYPE_MAX);

	/* two frames, one feed */
	message a = sample(MSG_LOG), b = sample(MSG_READY);
	uint8_t two[2 * PROTO_MAX_FRAME];
	size_t n = proto_encode(&a, two);

	n += proto_encode(&b, two + n);
	proto_decoder_init(&d);
	ck_assert(proto_feed(&d, two, n));
	ck_assert_int_eq(proto_next(&d, &m), 1);
	ck_assert_int_eq(m.type, MSG_LOG);
	ck_assert_int_eq(proto_next(&d, &m), 1);
	ck_assert_int_eq(m.type, MSG_READY);
	ck_assert_int_eq(proto_next(&d, &m), 0);
}
END_TEST

/* expect_malformed feeds n bytes and checks that the decoder refuses them for good. */
static void expect_malformed(const uint8_t *bytes, size_t n, const char *what)
{
	proto_decoder d;
	message m;
	uint8_t ready[4] = {MSG_READY, 0, 0, 0};

	proto_decoder_init(&d);
	ck_assert(proto_feed(&d, bytes, n));
	ck_assert_msg(proto_next(&d, &m) == -1, "%s should be refused", what);
	ck_assert(d.broken);
	/* nothing after a bad frame is trusted */
	ck_assert(!proto_feed(&d, ready, 4));
	ck_assert_int_eq(proto_next(&d, &m), -1);
}

START_TEST(test_proto_bad_frames)
{
	static const uint8_t type0[] = {0, 0, 0, 0};
	static const uint8_t type_max[] = {MSG_TYPE_MAX, 0, 0, 0};
	static const uint8_t type200[] = {200, 0, 0, 0};
	static const uint8_t flags[] = {MSG_READY, 1, 0, 0};
	static const uint8_t ready_len[] = {MSG_READY, 0, 1, 0, 0};
	static const uint8_t hello_short[] = {MSG_HELLO, 0, 7, 0, 1, 0, 0, 0, '2', '2', 0};
	static const uint8_t hello_dep[] = {MSG_HELLO, 0, 8, 0, 1, 0, 0, 0, '2', '0', 0, 0};
	static const uint8_t hello_pad[] = {MSG_HELLO, 0, 8, 0, 1, 0, 0, 0, '2', '2', 0, 'x'};
	static const uint8_t hello_pid0[] = {MSG_HELLO, 0, 8, 0, 0, 0, 0, 0, '2', '2', 0, 0};
	static const uint8_t log_len[] = {MSG_LOG, 0, 6, 0, 1, 0, 3, 0, 'a', 'b'};
	static const uint8_t bad_level[] = {MSG_LOG, 0, 6, 0, 9, 0, 2, 0, 'a', 'b'};
	static const uint8_t bad_event[] = {MSG_LOG, 0, 6, 0, 1, LOGEV_COUNT, 2, 0, 'a', 'b'};
	static const uint8_t log_nul[] = {MSG_LOG, 0, 6, 0, 1, 0, 2, 0, 'a', 0};
	static const uint8_t log_short[] = {MSG_LOG, 0, 3, 0, 1, 0, 0};
	static const uint8_t stats_short[] = {MSG_STATS, 0, 4, 0, 1, 2, 3, 4};
	static const uint8_t log_huge[] = {MSG_LOG, 0, 0xff, 0xff};
	static const uint8_t err_state[] = {MSG_ERROR, 0, 8, 0, '4', '0', 'x', '0', '1', 1, 0, 'a'};
	/* an empty SQLSTATE with bytes after its NUL (fuzz_protocol) */
	static const uint8_t err_pad[] = {MSG_ERROR, 0, 8, 0, 0, 'N', '5', '0', '5', 1, 0, 'a'};
	static const uint8_t err_pad2[] = {MSG_ERROR, 0, 8, 0, 0, 0, 0, 0, 'x', 1, 0, 'a'};

	expect_malformed(type0, sizeof(type0), "type 0");
	expect_malformed(type_max, sizeof(type_max), "type MSG_TYPE_MAX");
	expect_malformed(type200, sizeof(type200), "type 200");
	expect_malformed(flags, sizeof(flags), "flags 1");
	expect_malformed(ready_len, sizeof(ready_len), "READY with a payload");
	expect_malformed(hello_short, sizeof(hello_short), "HELLO of 7 bytes");
	expect_malformed(hello_dep, sizeof(hello_dep), "HELLO for département 20");
	expect_malformed(hello_pad, sizeof(hello_pad), "HELLO with dirty padding");
	expect_malformed(hello_pid0, sizeof(hello_pid0), "HELLO with pid 0");
	expect_malformed(log_len, sizeof(log_len), "LOG whose text length disagrees");
	expect_malformed(bad_level, sizeof(bad_level), "LOG of level 9");
	expect_malformed(bad_event, sizeof(bad_event), "LOG of an unknown event");
	expect_malformed(log_short, sizeof(log_short), "LOG without its event byte");
	expect_malformed(stats_short, sizeof(stats_short), "STATS of 4 bytes");
	expect_malformed(log_nul, sizeof(log_nul), "LOG with a NUL");
	expect_malformed(log_huge, sizeof(log_huge), "LOG longer than a frame");
	expect_malformed(err_state, sizeof(err_state), "ERROR with a bad SQLSTATE");
	expect_malformed(err_pad, sizeof(err_pad), "ERROR with dirty SQLSTATE padding");
	expect_malformed(err_pad2, sizeof(err_pad2), "ERROR with dirty SQLSTATE padding");

	/* DONE with an unknown status */
	message m = sample(MSG_DONE);
	uint8_t buf[PROTO_MAX_FRAME];
	size_t n = proto_encode(&m, buf);

	buf[n - 1] = 7;
	expect_malformed(buf, n, "DONE of status 7");

	/* PLAN one byte short: refused from the header on */
	m = sample(MSG_PLAN);
	n = proto_encode(&m, buf);
	buf[2] = (uint8_t)(buf[2] - 1);
	expect_malformed(buf, 4, "PLAN of a wrong length");
}
END_TEST

/*
 * PROGRESS says whether the worker waits on the source query of its phase:
 * one byte after the counters, 0 or 1, anything else refused.
 */
START_TEST(test_proto_progress_waiting)
{
	const size_t at = PROTO_HEADER_SIZE + ENT_COUNT * 6 * 4; /* after the counters */
	message m = sample(MSG_PROGRESS), got;
	uint8_t buf[PROTO_MAX_FRAME];
	proto_decoder d;
	size_t n = proto_encode(&m, buf);

	ck_assert_uint_eq(n, at + 2 + strlen("logement"));
	ck_assert_uint_eq(buf[at], 1);
	ck_assert_uint_eq(buf[at + 1], strlen("logement"));

	/* the row came: same phase, no longer waiting */
	m.waiting = false;
	n = proto_encode(&m, buf);
	ck_assert_uint_eq(buf[at], 0);
	proto_decoder_init(&d);
	ck_assert(proto_feed(&d, buf, n));
	ck_assert_int_eq(proto_next(&d, &got), 1);
	ck_assert(!got.waiting);
	ck_assert_str_eq(got.phase, "logement");

	/* an empty phase still carries the flag */
	m.waiting = true;
	m.phase[0] = '\0';
	n = proto_encode(&m, buf);
	ck_assert_uint_eq(n, at + 2);
	proto_decoder_init(&d);
	ck_assert(proto_feed(&d, buf, n));
	ck_assert_int_eq(proto_next(&d, &got), 1);
	ck_assert(got.waiting);
	ck_assert_str_eq(got.phase, "");

	/* neither 0 nor 1 */
	buf[at] = 2;
	expect_malformed(buf, n, "PROGRESS whose waiting flag is 2");
	/* a PROGRESS frame without the flag byte is one byte short */
	m = sample(MSG_PROGRESS);
	m.phase[0] = '\0';
	n = proto_encode(&m, buf);
	buf[2] = (uint8_t)(buf[2] - 1);
	expect_malformed(buf, 4, "PROGRESS without its waiting flag");
}
END_TEST

START_TEST(test_proto_encode_invalid)
{
	uint8_t buf[PROTO_MAX_FRAME];
	message m;

	memset(&m, 0, sizeof(m));
	ck_assert_uint_eq(proto_encode(&m, buf), 0); /* type 0 */
	m.type = MSG_TYPE_MAX;
	ck_assert_uint_eq(proto_encode(&m, buf), 0);
	m = sample(MSG_HELLO);
	snprintf(m.departement, sizeof(m.departement), "%s", "99");
	ck_assert_uint_eq(proto_encode(&m, buf), 0);
	m = sample(MSG_LOG);
	m.level = 7;
	ck_assert_uint_eq(proto_encode(&m, buf), 0);
	m = sample(MSG_LOG);
	m.event = LOGEV_COUNT;
	ck_assert_uint_eq(proto_encode(&m, buf), 0);
	m.event = -1;
	ck_assert_uint_eq(proto_encode(&m, buf), 0);
	m = sample(MSG_ERROR);
	snprintf(m.sqlstate, sizeof(m.sqlstate), "%s", "4000");
	ck_assert_uint_eq(proto_encode(&m, buf), 0);
	m = sample(MSG_DONE);
	m.status = DONE_PREPARED + 1;
	ck_assert_uint_eq(proto_encode(&m, buf), 0);

	/* an empty SQLSTATE is fine (an error that did not come from the server) */
	m = sample(MSG_ERROR);
	m.sqlstate[0] = '\0';
	ck_assert_uint_gt(proto_encode(&m, buf), 0);
}
END_TEST

START_TEST(test_proto_utf8_cut)
{
	message m = sample(MSG_LOG), got;
	uint8_t buf[PROTO_MAX_FRAME];
	proto_decoder d;
	size_t n;

	/* 1024 × "é" fills text without a NUL: cut to 1023 whole characters */
	for (int i = 0; i < PROTO_MAX_TEXT; i += 2)
		memcpy(m.text + i, "\xc3\xa9", 2);
	n = proto_encode(&m, buf);
	ck_assert_uint_eq(n, PROTO_HEADER_SIZE + 4 + 2046);
	proto_decoder_init(&d);
	ck_assert(proto_feed(&d, buf, n));
	ck_assert_int_eq(proto_next(&d, &got), 1);
	ck_assert_uint_eq(strlen(got.text), 2046);
	ck_assert_mem_eq(got.text + 2044, "\xc3\xa9", 2);

	/* "a" + 1023 × "é" + a lone lead byte: cut before the lead byte */
	m.text[0] = 'a';
	for (int i = 1; i < PROTO_MAX_TEXT - 1; i += 2)
		memcpy(m.text + i, "\xc3\xa9", 2);
	m.text[PROTO_MAX_TEXT - 1] = '\xc3';
	n = proto_encode(&m, buf);
	ck_assert_uint_eq(n, PROTO_HEADER_SIZE + 4 + 2047);

	/* phase too: 31 bytes at most, whole characters */
	m = sample(MSG_PROGRESS);
	for (int i = 0; i < 32; i += 2)
		memcpy(m.phase + i, "\xc3\xa9", 2);
	proto_decoder_init(&d);
	ck_assert(proto_feed(&d, buf, proto_encode(&m, buf)));
	ck_assert_int_eq(proto_next(&d, &got), 1);
	ck_assert_uint_eq(strlen(got.phase), 30);
}
END_TEST

/*
 * STATS: exact bytes of the head of the frame (peak RSS, then the totals:
 * u32, u32, u64, u64, little-endian), and its fixed length.
 */
START_TEST(test_proto_stats_bytes)
{
	static const uint8_t want[] = {
	        MSG_STATS, 0,    0x24, 0x01,                         /* 292 bytes */
	        0x98,      0xBA, 0xDC, 0xFE,                         /* peak RSS kB */
	        12,        0,    0,    0,    0xFF, 0xFF, 0xFF, 0xFF, /* queries */
	        8,         7,    6,    5,    4,    3,    2,    1,
	        42,        0,    0,    0,    0,    0,    0,    0 /* read, write us */
	};
	message m = sample(MSG_STATS);
	uint8_t buf[PROTO_MAX_FRAME];
	size_t n = proto_encode(&m, buf);

	ck_assert_uint_eq(n, PROTO_HEADER_SIZE + 4 + (ENT_COUNT + 1) * 24);
	ck_assert_mem_eq(buf, want, sizeof(want));
	/* one byte more than that: refused from the header on */
	buf[2] = (uint8_t)(buf[2] + 1);
	expect_malformed(buf, 4, "STATS one byte too long");
}
END_TEST

START_TEST(test_proto_feed_overflow)
{
	static uint8_t junk[3 * PROTO_MAX_FRAME];
	proto_decoder d;

	proto_decoder_init(&d);
	ck_assert(!proto_feed(&d, junk, sizeof(junk)));
	ck_assert(d.broken);
}
END_TEST

START_TEST(test_proto_pipe)
{
	int fds[2];
	uint8_t buf[PROTO_MAX_FRAME];
	message m = sample(MSG_PROGRESS), got;
	proto_decoder d;
	ssize_t n;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert(proto_send(fds[1], &m));
	n = read(fds[0], buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	proto_decoder_init(&d);
	ck_assert(proto_feed(&d, buf, (size_t)n));
	ck_assert_int_eq(proto_next(&d, &got), 1);
	ck_assert_str_eq(got.phase, "logement");
	ck_assert(got.waiting);

	/* invalid message: nothing written */
	m.type = (msg_type)0;
	ck_assert(!proto_send(fds[1], &m));
	ck_assert_int_eq(errno, EINVAL);

	/* closed reader: EPIPE, not death (the worker ignores SIGPIPE) */
	signal(SIGPIPE, SIG_IGN);
	close(fds[0]);
	m = sample(MSG_READY);
	ck_assert(!proto_send(fds[1], &m));
	ck_assert_int_eq(errno, EPIPE);
	close(fds[1]);
}
END_TEST

/* count_msg counts the messages proto_read hands out, checking their order. */
static void count_msg(void *ctx, const message *msg)
{
	int *count = ctx;

	ck_assert_int_eq(msg->type, MSG_LOG);
	ck_assert_int_eq(msg->level, *count % 2 ? LOG_INFO : LOG_DEBUG);
	(*count)++;
}

/* long_log is a LOG frame of about 2 KB, as --debug writes SQL text. */
static size_t long_log(int i, uint8_t *buf)
{
	message m = {.type = MSG_LOG, .level = i % 2 ? LOG_INFO : LOG_DEBUG};

	memset(m.text, 'x', PROTO_MAX_TEXT - 1);
	m.text[PROTO_MAX_TEXT - 1] = '\0';
	return proto_encode(&m, buf);
}

/*
 * A partial frame buffered, then a backlog bigger than the decoder: the
 * coordinator was busy while a worker logged. proto_read must take it in
 * turns, never refuse it as malformed (a healthy worker was SIGKILLed so).
 */
START_TEST(test_proto_read_backlog)
{
	enum { FRAMES = 24 }; /* ~48 KB: more than the decoder holds */
	int fds[2], count = 0;
	uint8_t frame[PROTO_MAX_FRAME];
	proto_decoder d;
	size_t n = long_log(0, frame);

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	/* a pipe takes a page per write of 2 KB: 16 of them by default, room for more here */
	ck_assert_int_ge(fcntl(fds[1], F_SETPIPE_SZ, 256 * 1024), FRAMES * 4096);
	proto_decoder_init(&d);
	/* half a frame: the reader keeps it buffered */
	ck_assert_int_eq(write(fds[1], frame, n / 2), (ssize_t)(n / 2));
	ck_assert_int_eq(proto_read(&d, fds[0], 4, count_msg, &count), PROTO_READ_AGAIN);
	ck_assert_int_eq(count, 0);
	ck_assert_uint_eq(d.len, n / 2);
	/* the rest of it, then the backlog */
	ck_assert_int_eq(write(fds[1], frame + n / 2, n - n / 2), (ssize_t)(n - n / 2));
	for (int i = 1; i < FRAMES; i++) {
		n = long_log(i, frame);
		ck_assert_int_eq(write(fds[1], frame, n), (ssize_t)n);
	}
	/* one read per turn: the event loop calls again while the pipe is readable */
	for (int turn = 0; turn < 100 && count < FRAMES; turn++)
		ck_assert_int_eq(proto_read(&d, fds[0], 1, count_msg, &count), PROTO_READ_AGAIN);
	ck_assert_int_eq(count, FRAMES);
	ck_assert_uint_eq(d.len, 0);
	close(fds[1]);
	ck_assert_int_eq(proto_read(&d, fds[0], 4, count_msg, &count), PROTO_READ_EOF);
	close(fds[0]);
}
END_TEST

/* A bad frame read from the pipe is reported, and the messages before it handed out. */
START_TEST(test_proto_read_malformed)
{
	int fds[2], count = 0;
	uint8_t frame[PROTO_MAX_FRAME], bad[4] = {0xEE, 0, 0, 0};
	proto_decoder d;
	size_t n = long_log(0, frame);

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	proto_decoder_init(&d);
	ck_assert_int_eq(write(fds[1], frame, n), (ssize_t)n);
	ck_assert_int_eq(write(fds[1], bad, sizeof(bad)), (ssize_t)sizeof(bad));
	ck_assert_int_eq(proto_read(&d, fds[0], 4, count_msg, &count), PROTO_READ_MALFORMED);
	ck_assert_int_eq(count, 1);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_msg_type_name)
{
	ck_assert_str_eq(msg_type_name(MSG_HELLO), "HELLO");
	ck_assert_str_eq(msg_type_name(MSG_ABORT), "ABORT");
	ck_assert_str_eq(msg_type_name(MSG_STATS), "STATS");
	ck_assert_str_eq(msg_type_name((msg_type)0), "?");
	ck_assert_str_eq(msg_type_name(MSG_TYPE_MAX), "?");
}
END_TEST

/* ------------------------------------------------------------------ */
/* strbuf                                                             */

START_TEST(test_strbuf_copy)
{
	strbuf sb;

	sb_init(&sb);
	sb_copy_field(&sb, "1", true);
	sb_copy_field(&sb, NULL, false);
	sb_copy_field(&sb, "a\tb", false);
	sb_copy_field(&sb, "back\\slash", false);
	sb_copy_field(&sb, "two\nlines\r\n", false);
	sb_copy_field(&sb, "", false);
	sb_copy_field(&sb, "\\N", false);
	sb_copy_field(&sb, "déjà", false);
	ck_assert_str_eq(sb.data, "1\t\\N\ta\\tb\tback\\\\slash\ttwo\\nlines\\r\\n\t\t\\\\N\tdéjà");
	ck_assert_uint_eq(sb.len, strlen(sb.data));

	sb_reset(&sb);
	ck_assert_str_eq(sb.data, "");
	sb_copy_field(&sb, NULL, true);
	ck_assert_str_eq(sb.data, "\\N");
	sb_free(&sb);
	ck_assert_ptr_null(sb.data);
}
END_TEST

START_TEST(test_strbuf_grow)
{
	strbuf sb;
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sb_init(&sb);
	sb_append(&sb, "a");
	sb_append_char(&sb, 'b');
	sb_append_n(&sb, "cdef", 2);
	ck_assert_str_eq(sb.data, "abcd");
	sb_printf(&sb, "-%d-%s", 42, big);
	ck_assert_uint_eq(sb.len, 4 + 4 + sizeof(big) - 1);
	ck_assert(strncmp(sb.data, "abcd-42-xxx", 11) == 0);
	ck_assert_uint_eq(strlen(sb.data), sb.len);
	for (int i = 0; i < 1000; i++)
		sb_printf(&sb, "%d,", i);
	ck_assert(strstr(sb.data, "998,999,") != NULL);
	sb_free(&sb);
}
END_TEST

/* ------------------------------------------------------------------ */
/* log                                                                */

/* matches tells whether s matches the extended regular expression re. */
static bool matches(const char *s, const char *re)
{
	regex_t r;
	bool ok;

	ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

#define STAMP "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "

START_TEST(test_log_format)
{
	char line[256];

	log_format_line(line, sizeof(line), LOG_INFO, "33", "text");
	ck_assert_msg(matches(line, STAMP "INFO  \\[33\\] text$"), "%s", line);
	log_format_line(line, sizeof(line), LOG_ERROR, NULL, "boom");
	ck_assert_msg(matches(line, STAMP "ERROR \\[-\\] boom$"), "%s", line);
	log_format_line(line, sizeof(line), LOG_WARN, "", "w");
	ck_assert_msg(matches(line, STAMP "WARN  \\[-\\] w$"), "%s", line);
	log_format_line(line, sizeof(line), LOG_DEBUG, "2A", "d");
	ck_assert_msg(matches(line, STAMP "DEBUG \\[2A\\] d$"), "%s", line);
	ck_assert_str_eq(log_level_name(LOG_WARN), "WARN");
}
END_TEST

typedef struct captured {
	int n;
	log_level level[8];
	log_event event[8];
	char text[8][64];
} captured;

/* capture_sink records what reaches a sink. */
static void capture_sink(log_level level, log_event event, const char *line, void *ctx)
{
	captured *c = ctx;

	if (c->n < 8) {
		c->level[c->n] = level;
		c->event[c->n] = event;
		snprintf(c->text[c->n], sizeof(c->text[0]), "%s", line);
		c->n++;
	}
}

START_TEST(test_log_sink)
{
	captured c = {0};

	log_set_sink(capture_sink, &c);
	log_set_level(LOG_INFO);
	log_debug("hidden %d", 1);
	log_info("shown %d", 2);
	errno = ENOENT;
	log_error("ERROR:  relation \"x\" does not exist\nLINE 1: select\n");
	ck_assert_int_eq(errno, ENOENT);
	log_set_level(LOG_DEBUG);
	ck_assert_int_eq(log_get_level(), LOG_DEBUG);
	log_debug("now shown");
	log_set_sink(NULL, NULL);

	ck_assert_int_eq(c.n, 4);
	ck_assert_str_eq(c.text[0], "shown 2");
	ck_assert_int_eq(c.level[0], LOG_INFO);
	ck_assert_str_eq(c.text[1], "ERROR:  relation \"x\" does not exist");
	ck_assert_str_eq(c.text[2], "LINE 1: select");
	ck_assert_int_eq(c.level[2], LOG_ERROR);
	ck_assert_str_eq(c.text[3], "now shown");
}
END_TEST

/* json_field returns the string member key of obj, or "" (never NULL, for ck_assert_str_eq). */
static const char *json_field(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v ? v : "";
}

/*
 * log_json_line: one object with time (ISO 8601 UTC, milliseconds), level,
 * departement (left out for none), event, message, then the extra
 * members; bytes that are not UTF-8 replaced, quotes and controls escaped.
 */
START_TEST(test_log_json_line)
{
	json_error_t jerr;
	json_t *extra = json_pack("{s:i, s:{s:i}}", "n", 7, "counts", "lot", 3);
	char *line = log_json_line(LOG_WARN, LOGEV_PROGRESS, "2A", "say \"hi\"\tné", extra);
	json_t *o = json_loads(line, 0, &jerr);

	ck_assert_msg(o != NULL, "%s: %s", line, jerr.text);
	ck_assert(strchr(line, '\n') == NULL);
	ck_assert_msg(
	        matches(json_field(o, "time"),
	                "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"),
	        "%s", line);
	ck_assert_str_eq(json_field(o, "level"), "WARN");
	ck_assert_str_eq(json_field(o, "departement"), "2A");
	ck_assert_str_eq(json_field(o, "event"), "progress");
	ck_assert_str_eq(json_field(o, "message"), "say \"hi\"\tné");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "n")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "counts"), "lot")),
	                 3);
	/* the fixed members first, in this order: a reader scanning lines finds them at once */
	ck_assert_msg(strncmp(line, "{\"time\":", 8) == 0, "%s", line);
	json_decref(o);
	free(line);
	json_decref(extra);

	/* no département, no extra, a byte that is not UTF-8 */
	line = log_json_line(LOG_ERROR, LOGEV_NONE, "-", "bad \xe9 byte", NULL);
	o = json_loads(line, 0, &jerr);
	ck_assert_msg(o != NULL, "%s: %s", line, jerr.text);
	ck_assert_ptr_null(json_object_get(o, "departement"));
	ck_assert_str_eq(json_field(o, "event"), "error");
	ck_assert_str_eq(json_field(o, "message"), "bad ? byte");
	ck_assert_uint_eq(json_object_size(o), 4);
	json_decref(o);
	free(line);
}
END_TEST

START_TEST(test_log_event_name)
{
	ck_assert_str_eq(log_event_name(LOGEV_NONE, LOG_DEBUG), "debug");
	ck_assert_str_eq(log_event_name(LOGEV_NONE, LOG_INFO), "info");
	ck_assert_str_eq(log_event_name(LOGEV_NONE, LOG_WARN), "warning");
	ck_assert_str_eq(log_event_name(LOGEV_NONE, LOG_ERROR), "error");
	ck_assert_str_eq(log_event_name(LOGEV_ROLLED_BACK, LOG_INFO), "rolled_back");
	ck_assert_str_eq(log_event_name(LOGEV_EXIT, LOG_ERROR), "exit");
	/* every event has a name of its own, none repeated */
	for (int a = LOGEV_NONE + 1; a < LOGEV_COUNT; a++) {
		const char *na = log_event_name((log_event)a, LOG_INFO);
		ck_assert_msg(matches(na, "^[a-z_]+$"), "event %d: %s", a, na);
		for (int b = a + 1; b < LOGEV_COUNT; b++)
			ck_assert_str_ne(na, log_event_name((log_event)b, LOG_INFO));
	}
	ck_assert_str_eq(log_event_name(LOGEV_COUNT, LOG_WARN), "warning");
}
END_TEST

/* With --log-format json the default sink writes JSON lines too, one per line of text. */
START_TEST(test_log_stderr_json)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	char out[1024] = "";
	size_t n;

	ck_assert_ptr_nonnull(tmp);
	dup2(fileno(tmp), 2);
	log_set_level(LOG_INFO);
	log_set_format(LOG_FORMAT_JSON);
	log_set_departement("29");
	log_event_msg(LOG_INFO, LOGEV_EXIT, "exit status %d\nsecond line", 0);
	log_set_departement(NULL);
	log_set_format(LOG_FORMAT_PLAIN);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	ck_assert_msg(matches(out, "^\\{\"time\":\"[^\"]+\",\"level\":\"INFO\",\"departement\":"
	                           "\"29\",\"event\":\"exit\",\"message\":\"exit status 0\"\\}\n"
	                           "\\{[^\n]*\"message\":\"second line\"\\}\n$"),
	              "%s", out);
}
END_TEST

/* entity_counts_json: every entity class, each with its six counters. */
START_TEST(test_entity_counts_json)
{
	entity_counts c[ENT_COUNT] = {0};

	c[ENT_LOGEMENT] = (entity_counts){.read = 5, .created = 4, .skipped = 1, .errors = 0};
	json_t *o = entity_counts_json(c);

	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(json_object_size(o), ENT_COUNT);
	json_t *l = json_object_get(o, "logement");
	ck_assert_uint_eq(json_object_size(l), 6);
	ck_assert_int_eq(json_integer_value(json_object_get(l, "read")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(l, "created")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(l, "skipped")), 1);
	ck_assert_int_eq(
	        json_integer_value(json_object_get(json_object_get(o, "bailleur"), "read")), 0);
	json_decref(o);
}
END_TEST

START_TEST(test_log_stderr)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	char out[512] = "";
	size_t n;

	ck_assert_ptr_nonnull(tmp);
	dup2(fileno(tmp), 2);
	log_set_level(LOG_INFO);
	log_set_departement("29");
	log_warn("hello %s", "world");
	log_set_departement(NULL);
	log_info("no département");
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	ck_assert_msg(matches(out, STAMP "WARN  \\[29\\] hello world\n[0-9]{4}-[^ ]+ INFO  \\[-\\] "
	                                 "no département\n$"),
	              "%s", out);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Python float semantics (values from python3 3.11)                  */

static const struct {
	double x;
	const char *repr;
} repr_cases[] = {
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {1.0, "1.0"},
        {-1.0, "-1.0"},
        {12.0, "12.0"},
        {0.1, "0.1"},
        {0.2, "0.2"},
        {0.30000000000000004, "0.30000000000000004"},
        {0.3333333333333333, "0.3333333333333333"},
        {0.6666666666666666, "0.6666666666666666"},
        {100.0, "100.0"},
        {1000000000000000.0, "1000000000000000.0"},
        {1e+16, "1e+16"},
        {1e+17, "1e+17"},
        {9999999999999998.0, "9999999999999998.0"},
        {123456789012345.6, "123456789012345.6"},
        {0.0001, "0.0001"},
        {1e-05, "1e-05"},
        {1.5e-07, "1.5e-07"},
        {1e+22, "1e+22"},
        {1e-07, "1e-07"},
        {5e-324, "5e-324"},
        {1.7976931348623157e+308, "1.7976931348623157e+308"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {34.559999999999945, "34.559999999999945"},
        {2.675, "2.675"},
        {-123.456, "-123.456"},
        {1e+100, "1e+100"},
        /* powers of two where the nearest 16-digit decimal misses: 2**-140, 2**-382 */
        {7.174648137343064e-43, "7.174648137343064e-43"},
        {1.0151767349262597e-115, "1.0151767349262597e-115"},
        {6.653062250012736e-111, "6.653062250012736e-111"},
        {4.35, "4.35"},
        {123456789.0, "123456789.0"},
        {1234567890123456.0, "1234567890123456.0"},
        {1.2345678901234568e+16, "1.2345678901234568e+16"},
        {0.5, "0.5"},
        {3.14159, "3.14159"},
        {9007199254740992.0, "9007199254740992.0"},
        {9007199254740994.0, "9007199254740994.0"},
        {0.00030000000000000003, "0.00030000000000000003"},
        {-1.5e-07, "-1.5e-07"},
        {-1e+16, "-1e+16"},
};

START_TEST(test_py_repr)
{
	char buf[64];

	py_repr(repr_cases[_i].x, buf, sizeof(buf));
	ck_assert_str_eq(buf, repr_cases[_i].repr);
}
END_TEST

START_TEST(test_py_repr_special)
{
	char buf[64];

	py_repr(1.0 / 0.0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "inf");
	py_repr(-1.0 / 0.0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-inf");
	py_repr(0.0 / 0.0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "nan");
}
END_TEST

static const struct {
	double a, b;
	const char *floordiv, *mod;
} divmod_cases[] = {
        {7.5, 2.0, "3.0", "1.5"},
        {-7.5, 2.0, "-4.0", "0.5"},
        {7.5, -2.0, "-4.0", "-0.5"},
        {-7.5, -2.0, "3.0", "-1.5"},
        {1103.0, 10000.0, "0.0", "1103.0"},
        {1103.0, 100.0, "11.0", "3.0"},
        {-1.0, 100.0, "-1.0", "99.0"},
        {-0.0, 100.0, "-0.0", "0.0"},
        {0.0, -100.0, "-0.0", "-0.0"},
        {1234.56, 100.0, "12.0", "34.559999999999945"},
        {1234.56, 10000.0, "0.0", "1234.56"},
        {-1234.56, 100.0, "-13.0", "65.44000000000005"},
        {1e+300, 7.0, "1.4285714285714286e+299", "1.0"},
        {5e-324, 100.0, "0.0", "5e-324"},
        {-5e-324, 100.0, "-1.0", "100.0"},
        {0.3, 0.1, "2.0", "0.09999999999999998"},
        {-0.3, 0.1, "-3.0", "2.7755575615628914e-17"},
        {9999.999999999998, 100.0, "99.0", "99.99999999999818"},
        {123456789.123, 10000.0, "12345.0", "6789.122999995947"},
        {-0.0, 10000.0, "-0.0", "0.0"},
};

START_TEST(test_py_divmod)
{
	char q[64], r[64];

	py_repr(py_floordiv(divmod_cases[_i].a, divmod_cases[_i].b), q, sizeof(q));
	py_repr(py_mod(divmod_cases[_i].a, divmod_cases[_i].b), r, sizeof(r));
	ck_assert_str_eq(q, divmod_cases[_i].floordiv);
	ck_assert_str_eq(r, divmod_cases[_i].mod);
}
END_TEST

static const char *const surface_cases[][2] = {
        {"1103", "0.0 ha 11.0 a 3.0 ca"},
        {"25000", "2.0 ha 50.0 a 0.0 ca"},
        {"1234.56", "0.0 ha 12.0 a 34.559999999999945 ca"},
        {"0", "0.0 ha 0.0 a 0.0 ca"},
        {"-0", "-0.0 ha 0.0 a 0.0 ca"},
        {"-1", "-1.0 ha 99.0 a 99.0 ca"},
        {"-100.5", "-1.0 ha 98.0 a 99.5 ca"},
        {"99.99", "0.0 ha 0.0 a 99.99 ca"},
        {"1e-05", "0.0 ha 0.0 a 1e-05 ca"},
        {"123456789.123", "12345.0 ha 67.0 a 89.12299999594688 ca"},
        {"9999.999999999998", "0.0 ha 99.0 a 99.99999999999818 ca"},
        {"1e+20", "1e+16 ha 0.0 a 0.0 ca"},
        {"-12345.678", "-2.0 ha 76.0 a 54.322000000000116 ca"},
        {"0.005", "0.0 ha 0.0 a 0.005 ca"},
        {"NaN", "nan ha nan a nan ca"},
        {"Infinity", "nan ha nan a nan ca"},
        {"-Infinity", "nan ha nan a nan ca"},
};

START_TEST(test_surface_text)
{
	char buf[128];

	ck_assert_msg(surface_text(surface_cases[_i][0], buf, sizeof(buf)), "%s",
	              surface_cases[_i][0]);
	ck_assert_str_eq(buf, surface_cases[_i][1]);
}
END_TEST

START_TEST(test_surface_text_edges)
{
	char buf[128], tiny[8];

	ck_assert(surface_text(NULL, buf, sizeof(buf)));
	ck_assert_str_eq(buf, "0 ha 0 a 0 ca");
	ck_assert(!surface_text("", buf, sizeof(buf)));
	ck_assert(!surface_text("12 ha", buf, sizeof(buf)));
	ck_assert(!surface_text("abc", buf, sizeof(buf)));
	ck_assert(!surface_text("1103", tiny, sizeof(tiny)));
}
END_TEST

static const char *const round2_cases[][2] = {
        {"2.675", "2.67"},
        {"0.125", "0.12"},
        {"0.135", "0.14"},
        {"1.005", "1.00"},
        {"-0.001", "0.00"},
        {"-0.005", "-0.01"},
        {"12345.678", "12345.68"},
        {"621.02", "621.02"},
        {"1e-07", "0.00"},
        {"-1.5", "-1.50"},
        {"0", "0.00"},
        {"-0", "0.00"},
        {"100", "100.00"},
        {"1e+15", "1000000000000000.00"},
        {"3.14159", "3.14"},
        {"0.015", "0.01"},
        {"0.025", "0.03"},
};

START_TEST(test_py_round2)
{
	char buf[64];

	ck_assert(py_round2_text(round2_cases[_i][0], buf, sizeof(buf)));
	ck_assert_str_eq(buf, round2_cases[_i][1]);
}
END_TEST

START_TEST(test_py_round2_bad)
{
	char buf[64], tiny[4];

	ck_assert(!py_round2_text(NULL, buf, sizeof(buf)));
	ck_assert(!py_round2_text("", buf, sizeof(buf)));
	ck_assert(!py_round2_text("NaN", buf, sizeof(buf)));
	ck_assert(!py_round2_text("Infinity", buf, sizeof(buf)));
	ck_assert(!py_round2_text("-Infinity", buf, sizeof(buf)));
	ck_assert(!py_round2_text("1.5x", buf, sizeof(buf)));
	ck_assert(!py_round2_text("12.5", tiny, sizeof(tiny)));
}
END_TEST

/* ------------------------------------------------------------------ */
/* uuid                                                               */

/* check_uuid asserts the canonical v4 form of u. */
static void check_uuid(const char *u)
{
	ck_assert_uint_eq(strlen(u), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			ck_assert_int_eq(u[i], '-');
		else
			ck_assert_msg(strchr("0123456789abcdef", u[i]) && u[i], "%s", u);
	}
	ck_assert_int_eq(u[14], '4');
	ck_assert_msg(strchr("89ab", u[19]) != NULL, "variant of %s", u);
}

START_TEST(test_uuid_format)
{
	char a[37], b[37];

	ck_assert(uuid_init());
	uuid_v4(a);
	check_uuid(a);
	for (int i = 0; i < 1000; i++) {
		uuid_v4(b);
		check_uuid(b);
		ck_assert_str_ne(a, b);
		memcpy(a, b, sizeof(a));
	}
}
END_TEST

/* resolve: localhost is pinned to its addresses, one host name per address */
START_TEST(test_resolve_pin_localhost)
{
	pg_pin pin;

	ck_assert(resolve_pg_pin("postgresql://u@localhost:5432/db", &pin));
	ck_assert_msg(strstr(pin.hostaddr, "127.0.0.1") || strstr(pin.hostaddr, "::1"),
	              "hostaddr %s", pin.hostaddr);
	ck_assert(strncmp(pin.host, "localhost", 9) == 0);
	/* as many host names as addresses */
	size_t commas_h = 0, commas_a = 0;
	for (const char *p = pin.host; *p; p++)
		commas_h += *p == ',';
	for (const char *p = pin.hostaddr; *p; p++)
		commas_a += *p == ',';
	ck_assert_uint_eq(commas_h, commas_a);
}
END_TEST

/* resolve: nothing to pin, nothing looked up */
START_TEST(test_resolve_pin_none)
{
	const char *cases[] = {"host=/tmp dbname=x",
	                       "host=127.0.0.1 dbname=x",
	                       "postgresql://u@[::1]:5432/db",
	                       "host=a,b dbname=x",
	                       "host=localhost hostaddr=127.0.0.1 dbname=x",
	                       "dbname=x"};
	pg_pin pin;
	char ip[64];

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		ck_assert_msg(!resolve_pg_pin(cases[i], &pin), "%s pinned", cases[i]);
		ck_assert_str_eq(pin.hostaddr, "");
	}
	ck_assert(!resolve_host("127.0.0.1", ip, sizeof(ip)));
	ck_assert(!resolve_host("", ip, sizeof(ip)));
	ck_assert(resolve_host("localhost", ip, sizeof(ip)));
}
END_TEST

START_TEST(test_uuid_fork)
{
	char parent[37], child[37] = "";
	int fds[2];
	pid_t pid;

	uuid_init();
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* no uuid_init(): the generator must notice the fork by itself */
		uuid_v4(child);
		_exit(write(fds[1], child, sizeof(child)) == sizeof(child) ? 0 : 1);
	}
	uuid_v4(parent);
	ck_assert_int_eq(read(fds[0], child, sizeof(child)), sizeof(child));
	waitpid(pid, NULL, 0);
	close(fds[0]);
	close(fds[1]);
	check_uuid(child);
	ck_assert_str_ne(parent, child);
}
END_TEST

/* ------------------------------------------------------------------ */

/* units_suite builds the suite: one test case per module. */
static Suite *units_suite(void)
{
	Suite *s = suite_create("units");
	TCase *tc;

	tc = tcase_create("departement");
	tcase_add_test(tc, test_departement_valid);
	tcase_add_test(tc, test_departement_invalid);
	tcase_add_test(tc, test_departement_all);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_add_test(tc, test_options_several);
	tcase_add_test(tc, test_options_repeated);
	tcase_add_test(tc, test_options_flags);
	tcase_add_test(tc, test_options_all);
	tcase_add_test(tc, test_options_errors);
	tcase_add_test(tc, test_options_verify);
	tcase_add_test(tc, test_options_quoting);
	tcase_add_test(tc, test_options_help);
	tcase_add_test(tc, test_options_log_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, test_config_url_and_conninfo);
	tcase_add_test(tc, test_config_fallbacks);
	tcase_add_test(tc, test_config_missing);
	tcase_add_test(tc, test_config_invalid_no_password);
	tcase_add_test(tc, test_conninfo_mask);
	tcase_add_test(tc, test_redis_url);
	tcase_add_test(tc, test_redis_url_errors);
	tcase_add_test(tc, test_config_bad_redis);
	suite_add_tcase(s, tc);

	tc = tcase_create("protocol");
	tcase_add_test(tc, test_proto_hello_bytes);
	tcase_add_test(tc, test_proto_round_trip);
	tcase_add_test(tc, test_proto_byte_by_byte);
	tcase_add_test(tc, test_proto_several_in_one_feed);
	tcase_add_test(tc, test_proto_bad_frames);
	tcase_add_test(tc, test_proto_progress_waiting);
	tcase_add_test(tc, test_proto_encode_invalid);
	tcase_add_test(tc, test_proto_utf8_cut);
	tcase_add_test(tc, test_proto_feed_overflow);
	tcase_add_test(tc, test_proto_stats_bytes);
	tcase_add_test(tc, test_proto_pipe);
	tcase_add_test(tc, test_proto_read_backlog);
	tcase_add_test(tc, test_proto_read_malformed);
	tcase_add_test(tc, test_msg_type_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("strbuf");
	tcase_add_test(tc, test_strbuf_copy);
	tcase_add_test(tc, test_strbuf_grow);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, test_log_format);
	tcase_add_test(tc, test_log_sink);
	tcase_add_test(tc, test_log_stderr);
	tcase_add_test(tc, test_log_json_line);
	tcase_add_test(tc, test_log_event_name);
	tcase_add_test(tc, test_log_stderr_json);
	tcase_add_test(tc, test_entity_counts_json);
	suite_add_tcase(s, tc);

	tc = tcase_create("pyfloat");
	tcase_add_loop_test(tc, test_py_repr, 0, N_ELEMS(repr_cases));
	tcase_add_test(tc, test_py_repr_special);
	tcase_add_loop_test(tc, test_py_divmod, 0, N_ELEMS(divmod_cases));
	tcase_add_loop_test(tc, test_surface_text, 0, N_ELEMS(surface_cases));
	tcase_add_test(tc, test_surface_text_edges);
	tcase_add_loop_test(tc, test_py_round2, 0, N_ELEMS(round2_cases));
	tcase_add_test(tc, test_py_round2_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolve");
	tcase_add_test(tc, test_resolve_pin_localhost);
	tcase_add_test(tc, test_resolve_pin_none);
	suite_add_tcase(s, tc);

	tc = tcase_create("uuid");
	tcase_add_test(tc, test_uuid_format);
	tcase_add_test(tc, test_uuid_fork);
	suite_add_tcase(s, tc);
	return s;
}

/* main runs every test and prints Check's summary line. */
int main(void)
{
	SRunner *sr = srunner_create(units_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
