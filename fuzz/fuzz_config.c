/*
 * fuzz/fuzz_config.c
 *     Fuzz target of src/config.c: the PostgreSQL URL/conninfo checks and
 *     masking, and the Redis URL parser, through config_from_env as the
 *     program calls it (the variables are set from the input).
 *
 * Input: a mode byte, then the rest. Mode 0 takes the rest as
 * ECOLO_DATABASE_URL, mode 1 as REDIS_URL. The other modes put a password
 * PW into a template, the rest being "A\0PW\0B":
 *   2  postgres://A:PW@B                4  A password=PW B
 *   3  postgresql://A?password=PW&B     5  A password='PW' B
 *   6  redis://A:PW@B
 * Properties checked, besides no crash and no leak:
 *   - conninfo_mask succeeds exactly when libpq parses the string, and in
 *     its result libpq finds no password, or one made of "****" and perhaps
 *     more of the string (the mask may hide too much), not the original;
 *     the mask of a key=value string changes no other option;
 *   - config_from_env accepts exactly what libpq (or the Redis parser)
 *     accepts, its safe form is conninfo_mask's, and a refusal comes with
 *     a message naming the variable;
 *   - the password put in a template never shows in the safe form (when
 *     libpq or the Redis parser reads it as the password, or in it), nor
 *     in the error message (see err_checked): another password of the same
 *     shape gives the very same safe form or message.
 */
#include <libpq-fe.h>
#include <stdbool.h>

#include "config.h"
#include "fuzz.h"

#define MAX_VALUE 16384

enum mode {
	MODE_PG_RAW,
	MODE_REDIS_RAW,
	MODE_PG_USERINFO,
	MODE_PG_QUERY,
	MODE_KV,
	MODE_KV_QUOTED,
	MODE_REDIS_USERINFO,
	MODE_COUNT
};

/*
 * The variables config_from_env reads live in these buffers (putenv keeps
 * the pointer): setenv would keep a copy of every value ever set.
 */
static char source_var[MAX_VALUE + 32] = "ECOLO_DATABASE_URL=";
static char redis_var[MAX_VALUE + 32] = "REDIS_URL=";

/* set_var points the variable of buf (prefix "NAME=") at value, or unsets it when NULL. */
static void set_var(char *buf, const char *name, const char *value)
{
	size_t prefix = strlen(name) + 1;

	if (!value) {
		unsetenv(name);
		return;
	}
	snprintf(buf + prefix, MAX_VALUE, "%s", value);
	putenv(buf);
}

/* the result of one config_from_env call */
typedef struct outcome {
	bool ok;
	char err[512];
	config cfg;
} outcome;

/* run_config calls config_from_env with ECOLO_DATABASE_URL=source and REDIS_URL=redis. */
static void run_config(const char *source, const char *redis, outcome *o)
{
	set_var(source_var, "ECOLO_DATABASE_URL", source);
	set_var(redis_var, "REDIS_URL", redis);
	o->err[0] = '\0';
	o->ok = config_from_env(&o->cfg, o->err, sizeof(o->err));
	if (!o->ok) {
		FUZZ_CHECK(o->err[0] != '\0', "refused without a message");
		FUZZ_CHECK(o->cfg.source_conninfo == NULL && o->cfg.redis.host == NULL,
		           "refused but not emptied");
	}
}

/*
 * libpq_password returns a malloc'd copy of the password libpq finds in
 * conninfo (NULL when none); *parsed tells whether libpq parses it at all.
 */
static char *libpq_password(const char *conninfo, bool *parsed)
{
	char *errmsg = NULL, *pw = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);

	PQfreemem(errmsg);
	*parsed = opts != NULL;
	if (!opts)
		return NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val)
			pw = strdup(o->val);
	PQconninfoFree(opts);
	return pw;
}

/*
 * check_kv_mask checks the mask of a key=value string that libpq parses:
 * it only replaces the password, so libpq reads the same other options.
 */
static void check_kv_mask(const char *s, const char *masked)
{
	char *errmsg = NULL;
	PQconninfoOption *a = PQconninfoParse(s, &errmsg), *b;

	PQfreemem(errmsg);
	errmsg = NULL;
	b = PQconninfoParse(masked, &errmsg);
	FUZZ_CHECK(b, "'%s' masked as '%s', which libpq refuses: %s", s, masked, errmsg);
	for (size_t i = 0; a[i].keyword; i++) {
		bool same = (!a[i].val && !b[i].val) ||
		            (a[i].val && b[i].val && strcmp(a[i].val, b[i].val) == 0);

		FUZZ_CHECK(strcmp(a[i].keyword, b[i].keyword) == 0, "libpq's options differ");
		FUZZ_CHECK(same || strcmp(a[i].keyword, "password") == 0,
		           "'%s' masked as '%s': %s '%s' became '%s'", s, masked, a[i].keyword,
		           a[i].val ? a[i].val : "(none)", b[i].val ? b[i].val : "(none)");
	}
	PQconninfoFree(a);
	PQconninfoFree(b);
}

/*
 * stray_at: a URL with an '@' other than the one ending user:password,
 * which the importer refuses though libpq parses it (config.c, url_stray_at:
 * libpq would read the rest of a password as the host or the port).
 */
static bool stray_at(const char *s)
{
	const char *rest = strstr(s, "://");
	size_t n;

	if (!rest || (strncmp(s, "postgres://", 11) != 0 && strncmp(s, "postgresql://", 13) != 0))
		return false;
	rest += 3;
	n = strcspn(rest, "@/");
	return strchr(rest[n] == '@' ? rest + n + 1 : rest, '@') != NULL;
}

/* check_pg checks conninfo_mask and config_from_env on one PostgreSQL setting. */
static void check_pg(const char *s)
{
	bool parsed, masked_parsed;
	char *pw = libpq_password(s, &parsed), *masked = conninfo_mask(s), *masked_pw;
	outcome o;

	FUZZ_CHECK((masked != NULL) == (parsed && !stray_at(s)),
	           "conninfo_mask and libpq disagree on '%s'", s);
	if (masked) {
		masked_pw = libpq_password(masked, &masked_parsed);
		/* "****@x" is fine: the mask may hide more than the password */
		FUZZ_CHECK(!masked_pw ||
		                   (strstr(masked_pw, "****") &&
		                    (!pw || strcmp(pw, masked_pw) != 0 || strcmp(pw, "****") == 0)),
		           "'%s' masked as '%s', where libpq finds the password '%s'", s, masked,
		           masked_pw);
		free(masked_pw);
		/* a URL's mask may hide more, up to its last '@' */
		if (strncmp(s, "postgres://", 11) != 0 && strncmp(s, "postgresql://", 13) != 0)
			check_kv_mask(s, masked);
	}
	run_config(s, NULL, &o);
	if (o.ok) {
		FUZZ_CHECK(parsed, "'%s' accepted, libpq refuses it", s);
		FUZZ_CHECK(strcmp(o.cfg.source_safe, masked) == 0, "safe form '%s', mask '%s'",
		           o.cfg.source_safe, masked);
		config_free(&o.cfg);
	} else {
		/* also refused: a port that is not a number (libpq only checks it at connect) */
		FUZZ_CHECK(!parsed || !*s || strstr(s, "://") ||
		                   strstr(o.err, "port is not a number"),
		           "'%s' refused (%s), libpq parses it", s, o.err);
		FUZZ_CHECK(strncmp(o.err, "ECOLO_DATABASE_URL", 18) == 0, "message '%s'", o.err);
	}
	free(pw);
	free(masked);
}

/* check_redis checks config_from_env on one REDIS_URL. */
static void check_redis(const char *url)
{
	outcome o;
	redis_config r;
	char err[256] = "";
	bool ok = redis_url_parse(url, &r, err, sizeof(err));

	if (ok) {
		FUZZ_CHECK(r.host && r.host[0], "no host in '%s'", url);
		FUZZ_CHECK(r.port >= 1 && r.port <= 65535 && r.db >= 0, "port %d, db %d", r.port,
		           r.db);
		free(r.user);
		free(r.host);
		free(r.password);
	} else {
		FUZZ_CHECK(err[0], "refused '%s' without a message", url);
		FUZZ_CHECK(!r.user && !r.host && !r.password, "refused but not emptied");
	}
	run_config("postgres://h/ecoloweb", url, &o);
	FUZZ_CHECK(o.ok == (ok || !*url), "'%s': redis_url_parse %d, config_from_env %d (%s)", url,
	           ok, o.ok, o.err);
	if (o.ok && *url) {
		FUZZ_CHECK(o.cfg.has_redis && o.cfg.redis_safe, "no safe form");
		FUZZ_CHECK(!o.cfg.redis.password || strstr(o.cfg.redis_safe, ":****@"),
		           "safe form '%s' has no ****", o.cfg.redis_safe);
	}
	if (o.ok)
		config_free(&o.cfg);
}

/* build_template returns the (malloc'd) string of mode m around a, pw, b. */
static char *build_template(enum mode m, const char *a, const char *pw, const char *b)
{
	static const char *const forms[MODE_COUNT] = {
	        [MODE_PG_USERINFO] = "postgres://%s:%s@%s",
	        [MODE_PG_QUERY] = "postgresql://%s?password=%s&%s",
	        [MODE_KV] = "%s password=%s %s",
	        [MODE_KV_QUOTED] = "%s password='%s' %s",
	        [MODE_REDIS_USERINFO] = "redis://%s:%s@%s",
	};
	char *out = NULL;

	if (asprintf(&out, forms[m], a, pw, b) < 0)
		abort();
	return out;
}

/*
 * next_in moves *c by one within [lo, hi] when it lies there, hi going to
 * first, and tells whether it did.
 */
static bool next_in(char *c, char lo, char hi, char first)
{
	if (*c < lo || *c > hi)
		return false;
	*c = *c == hi ? first : (char)(*c + 1);
	return true;
}

/*
 * other_password returns a malloc'd copy of pw with its ASCII digits and
 * letters changed, each kept in its class so that both strings parse the
 * same way: 1-9 (0 stays, so that %00 stays and no other %XX becomes it),
 * a-f, A-F (hex digits of %XX), g-z, G-Z. Letters stay when pw holds an
 * '=': a key written in it ("x?password=") must stay the same key. Other
 * bytes stay. *changed tells whether any byte changed.
 */
static char *other_password(const char *pw, bool *changed)
{
	char *o = strdup(pw);
	bool letters = !strchr(pw, '=');

	if (!o)
		abort();
	*changed = false;
	for (char *p = o; *p; p++)
		*changed |= next_in(p, '1', '9', '1') ||
		            (letters && (next_in(p, 'a', 'f', 'a') || next_in(p, 'A', 'F', 'A') ||
		                         next_in(p, 'g', 'z', 'g') || next_in(p, 'G', 'Z', 'G')));
	return o;
}

/* parsed_password returns a malloc'd copy of the password the parser of mode m finds, or NULL. */
static char *parsed_password(enum mode m, const char *s)
{
	redis_config r;
	char err[256];
	bool parsed;

	if (m != MODE_REDIS_USERINFO)
		return libpq_password(s, &parsed);
	if (!redis_url_parse(s, &r, err, sizeof(err)))
		return NULL;
	free(r.user);
	free(r.host);
	return r.password;
}

/* run_template runs config_from_env on the template of mode m. */
static void run_template(enum mode m, const char *s, outcome *o)
{
	if (m == MODE_REDIS_USERINFO)
		run_config("postgres://h/ecoloweb", s, o);
	else
		run_config(s, NULL, o);
}

/* safe_form returns the logged form of the setting run_template set. */
static const char *safe_form(enum mode m, const outcome *o)
{
	return m == MODE_REDIS_USERINFO ? o->cfg.redis_safe : o->cfg.source_safe;
}

/* plain tells whether s holds none of the bytes in set. */
static bool plain(const char *s, const char *set)
{
	return s[strcspn(s, set)] == '\0';
}

/*
 * err_checked tells whether the message for the template s of mode m
 * around a, pw, b must not show pw. Not when the text makes pw no password
 * at all, where the message may quote it: after a query parameter (libpq
 * reads pw as part of that one's value); in a key=value template turned
 * into a URL by a; next to a quote or backslash in a or b, or after an
 * a ending with '=', or with a space, quote or backslash in pw, for the
 * key=value templates (then libpq may read pw, or a part of it, as a key,
 * and name it).
 */
static bool err_checked(enum mode m, const char *s, const char *a, const char *pw, const char *b)
{
	bool url = strncmp(s, "postgres://", 11) == 0 || strncmp(s, "postgresql://", 13) == 0;
	size_t n = strlen(a);
	bool kv;

	/* "x= password=..." makes "password=..." the value of x */
	while (n > 0 && strchr(" \t\n\r\f\v", a[n - 1]))
		n--;
	kv = !url && plain(a, "'\\") && plain(b, "'\\") && (n == 0 || a[n - 1] != '=');
	switch (m) {
	case MODE_PG_QUERY:
		return false;
	case MODE_KV:
		return kv && plain(pw, "'\\ \t\n\r\f\v");
	case MODE_KV_QUOTED:
		return kv && plain(pw, "'\\");
	default:
		return true;
	}
}

/*
 * check_template checks that the password pw, put into the template of
 * mode m between a and b, never shows in the safe form or message: with
 * another password (other_password) in its place, they must be the same.
 */
static void check_template(enum mode m, const char *a, const char *pw, const char *b)
{
	char *s = build_template(m, a, pw, b), *pw2, *s2, *seen, *seen2;
	bool changed;
	outcome o, o2;

	if (m == MODE_REDIS_USERINFO)
		check_redis(s);
	else
		check_pg(s);
	pw2 = other_password(pw, &changed);
	if (!changed) {
		free(pw2);
		free(s);
		return;
	}
	s2 = build_template(m, a, pw2, b);
	seen = parsed_password(m, s);
	seen2 = parsed_password(m, s2);
	run_template(m, s, &o);
	run_template(m, s2, &o2);
	/* the same shape may still parse otherwise: pw may hold keys ("a host=h") */
	if (o.ok != o2.ok)
		goto out;
	/* when pw is in the password (not partly: the rest may be the host) */
	if (o.ok && seen && seen2 && strcmp(seen, seen2) != 0 && strstr(seen, pw))
		FUZZ_CHECK(strcmp(safe_form(m, &o), safe_form(m, &o2)) == 0,
		           "the password '%s' of '%s' shows in '%s'", pw, s, safe_form(m, &o));
	if (!o.ok && err_checked(m, s, a, pw, b))
		FUZZ_CHECK(strcmp(o.err, o2.err) == 0, "the password '%s' of '%s' shows in '%s'",
		           pw, s, o.err);
out:
	if (o.ok)
		config_free(&o.cfg);
	if (o2.ok)
		config_free(&o2.cfg);
	free(seen);
	free(seen2);
	free(s);
	free(s2);
	free(pw2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool started;
	char *parts[3];
	size_t n;
	enum mode m;

	/* the templates add a few bytes: all must fit in the variables' buffers */
	if (size < 1 || size > MAX_VALUE / 2)
		return 0;
	if (!started) {
		setenv("DATABASE_URL", "postgres://h/apilos", 1);
		started = true;
	}
	m = (enum mode)(data[0] % MODE_COUNT);
	if (m == MODE_PG_RAW || m == MODE_REDIS_RAW) {
		n = fuzz_split(data + 1, size - 1, '\0', parts, 1);
		if (m == MODE_PG_RAW)
			check_pg(parts[0]);
		else
			check_redis(parts[0]);
	} else {
		n = fuzz_split(data + 1, size - 1, '\0', parts, 3);
		if (n == 3)
			check_template(m, parts[0], parts[1], parts[2]);
	}
	fuzz_free_parts(parts, n);
	return 0;
}
