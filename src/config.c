/*
 * src/config.c
 *     Connection settings from the environment (Scalingo names), checked
 *     before anything connects: PostgreSQL URLs or key=value conninfo
 *     strings validated with libpq's own parser, Redis URLs parsed here
 *     (hiredis parses none), and the password-free forms that alone may
 *     appear in logs.
 *
 * Masking works on the text, not on libpq's parsed options, so the logged
 * form stays the one the operator wrote (minus the password). It is also
 * lenient on purpose: when libpq refuses a string, its error message may
 * quote any part of it, password included, so the message reported is the
 * one libpq gives for the masked string instead.
 */
#include "config.h"

#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define MASK "****"

/* is_space tells whether c separates key=value pairs, as libpq's isspace() test. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* pg_url_prefix returns the length of a postgres:// or postgresql:// prefix, or 0. */
static size_t pg_url_prefix(const char *s)
{
	/* libpq compares the prefix case-sensitively: so do we */
	if (strncmp(s, "postgresql://", 13) == 0)
		return 13;
	if (strncmp(s, "postgres://", 11) == 0)
		return 11;
	return 0;
}

/*
 * url_scheme_len returns the length of "scheme" when s starts with
 * "scheme://" (RFC 3986 scheme characters), or 0: how a URL of another
 * kind (mysql://, redis://) is told from a key=value string.
 */
static size_t url_scheme_len(const char *s)
{
	size_t i = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	       (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.')
		i++;
	return strncmp(s + i, "://", 3) == 0 ? i : 0;
}

/* hex_value returns the value of hex digit c, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * percent_decode returns a malloc'd, decoded copy of the n bytes at s, or
 * NULL when a %XX is malformed or decodes to NUL (neither libpq nor Redis
 * could use such a value).
 */
static char *percent_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t i, o = 0;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
		lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

/* query_key_is_password tells whether the URL query parameter key is "password". */
static bool query_key_is_password(const char *key, size_t n)
{
	char *decoded = percent_decode(key, n);
	bool is = decoded && strcmp(decoded, "password") == 0;

	free(decoded);
	/* an undecodable key might hide anything: treat it as secret */
	return is || !decoded;
}

/*
 * note_password records in *after_pw, the first time, where the masked
 * value of a password ends in out (see mask_lenient).
 */
static void note_password(const strbuf *out, size_t *after_pw)
{
	if (*after_pw == 0)
		*after_pw = out->len;
}

/*
 * password_param tells whether a URL query parameter starting at p is a
 * password: if so, returns the end of its value and sets *value to its
 * start; else returns NULL.
 */
static const char *password_param(const char *p, const char **value)
{
	size_t k = strcspn(p, "&=");

	if (p[k] != '=' || !query_key_is_password(p, k))
		return NULL;
	*value = p + k + 1;
	return *value + strcspn(*value, "&");
}

/*
 * mask_url appends a postgres:// URL with each run of bytes that may
 * belong to a password replaced by one "****":
 *   - in user:password@, from the first ':' to the last '@'. libpq stops at
 *     the first '@', but an operator who left an '@' unencoded in a
 *     password means the last one, and masking too much is harmless where
 *     masking too little is not (such a URL is refused anyway, url_stray_at,
 *     before its masked form is shown);
 *   - the value of every password= parameter, a parameter being what
 *     follows any '?' or '&' up to the next '&'. The query is not taken to
 *     start after the last '@': a value may hold an '@' (the user
 *     information then ends before it), and a password a '?'.
 * *after_pw notes where the first password= value's mask ends (mask_lenient).
 */
static void mask_url(strbuf *out, const char *s, size_t prefix, size_t *after_pw)
{
	const char *rest = s + prefix, *at = strrchr(rest, '@');
	const char *colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
	const char *userinfo_pw = colon ? colon + 1 : NULL;
	const char *value = NULL, *value_end = NULL, *hide_end = rest;
	bool hiding = false;

	sb_append_n(out, s, prefix);
	for (const char *p = rest;; p++) {
		bool starts = false;

		if (p > rest && (p[-1] == '?' || p[-1] == '&')) {
			const char *v, *end = password_param(p, &v);

			/* a parameter starting in this one's name has the same value */
			if (end) {
				value = v;
				value_end = end;
			}
		}
		if (p == userinfo_pw) {
			starts = true;
			hide_end = at > hide_end ? at : hide_end;
		}
		if (p == value) {
			starts = true;
			hide_end = value_end > hide_end ? value_end : hide_end;
		}
		/* an empty password too shows as ****, once per run */
		if (starts && !hiding) {
			sb_append(out, MASK);
			hiding = true;
		}
		if (p == value)
			note_password(out, after_pw);
		if (!*p)
			break;
		if (p < hide_end)
			continue;
		hiding = false;
		sb_append_char(out, *p);
	}
}

/* skip_value returns the end of the conninfo value at p, quoted or not. */
static const char *skip_value(const char *p)
{
	if (*p == '\'') {
		for (p++; *p && *p != '\''; p++)
			if (*p == '\\' && p[1])
				p++;
		return *p == '\'' ? p + 1 : p;
	}
	for (; *p && !is_space(*p); p++)
		if (*p == '\\' && p[1])
			p++;
	return p;
}

/*
 * mask_kv appends a key=value conninfo string with the value of password=
 * replaced, tokenized as libpq does (spaces around '=', quoted values with
 * backslash escapes). A malformed pair is copied as is and scanning goes on.
 */
static void mask_kv(strbuf *out, const char *s, size_t *after_pw)
{
	const char *p = s;

	while (*p) {
		const char *key, *val, *end;
		bool secret;

		if (is_space(*p)) {
			sb_append_char(out, *p++);
			continue;
		}
		key = p;
		while (*p && *p != '=' && !is_space(*p))
			p++;
		secret = (size_t)(p - key) == 8 && strncmp(key, "password", 8) == 0;
		while (is_space(*p))
			p++;
		if (*p != '=') {
			sb_append_n(out, key, (size_t)(p - key));
			continue;
		}
		p++;
		while (is_space(*p))
			p++;
		val = p;
		end = skip_value(p);
		sb_append_n(out, key, (size_t)(val - key));
		if (!secret) {
			sb_append_n(out, val, (size_t)(end - val));
		} else if (*val != '\'') {
			sb_append(out, MASK);
		} else {
			/* keep an unterminated quote: libpq's message then names it */
			bool closed = end - val >= 2 && end[-1] == '\'';

			sb_append(out, closed ? "'" MASK "'" : "'" MASK);
		}
		if (secret)
			note_password(out, after_pw);
		p = end;
	}
}

/*
 * mask_lenient returns a malloc'd masked copy of conninfo, parsable or not,
 * and in *after_pw the length of its part up to the end of the first
 * masked password of a key=value pair or a URL query parameter (0 when
 * none): what libpq finds wrong past it may be the rest of a password the
 * operator did not quote or encode.
 */
static char *mask_lenient(const char *conninfo, size_t *after_pw)
{
	strbuf out;
	size_t prefix = pg_url_prefix(conninfo);

	*after_pw = 0;
	sb_init(&out);
	sb_append(&out, "");
	if (prefix)
		mask_url(&out, conninfo, prefix, after_pw);
	else
		mask_kv(&out, conninfo, after_pw);
	return out.data;
}

/*
 * url_stray_at tells whether the URL's text after its scheme (rest) holds
 * an '@' other than the one libpq takes as the end of user:password: the
 * first '@' with no '/' before it. Such an '@' is most likely a password's,
 * unencoded; libpq would then read the rest of that password as the host,
 * the port or the database, and quote it in its messages.
 */
static bool url_stray_at(const char *rest)
{
	size_t n = strcspn(rest, "@/");

	return strchr(rest[n] == '@' ? rest + n + 1 : rest, '@') != NULL;
}

/*
 * conninfo_mask returns a malloc'd copy of a libpq URL or conninfo string
 * with any password replaced by "****", or NULL if libpq cannot parse it or
 * a URL holds a stray '@' (url_stray_at).
 */
char *conninfo_mask(const char *conninfo)
{
	PQconninfoOption *opts;
	char *errmsg = NULL;
	size_t prefix, after_pw;

	if (!conninfo)
		return NULL;
	prefix = pg_url_prefix(conninfo);
	if (prefix && url_stray_at(conninfo + prefix))
		return NULL;
	opts = PQconninfoParse(conninfo, &errmsg);
	if (!opts) {
		PQfreemem(errmsg);
		return NULL;
	}
	PQconninfoFree(opts);
	return mask_lenient(conninfo, &after_pw);
}

/* copy_reason copies a libpq message into buf without its trailing newline. */
static void copy_reason(char *buf, size_t len, const char *msg)
{
	size_t n;

	snprintf(buf, len, "%s", msg ? msg : "out of memory");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
}

/*
 * parses_up_to tells whether libpq can parse the first n bytes of conninfo.
 */
static bool parses_up_to(const char *conninfo, size_t n)
{
	char *head = strndup(conninfo, n), *errmsg = NULL;
	PQconninfoOption *opts = head ? PQconninfoParse(head, &errmsg) : NULL;

	PQconninfoFree(opts);
	PQfreemem(errmsg);
	free(head);
	return opts != NULL;
}

/*
 * check_conninfo validates value (of environment variable var) with libpq's
 * parser. On failure err names the variable and gives libpq's reason for
 * the masked string, which cannot quote the password; not even that when
 * the fault lies past a password, where libpq would quote what may be the
 * rest of a password the operator did not quote or encode. A URL with a
 * stray '@' is refused (url_stray_at).
 */
/*
 * ports_are_numbers: every port libpq read (a comma-separated list) is
 * digits. libpq checks it only when it connects, and quotes it then.
 */
static bool ports_are_numbers(const PQconninfoOption *opts)
{
	for (; opts->keyword; opts++) {
		if (strcmp(opts->keyword, "port") == 0 && opts->val)
			return strspn(opts->val, "0123456789,") == strlen(opts->val);
	}
	return true;
}

static bool check_conninfo(const char *var, const char *value, char *err, size_t errlen)
{
	PQconninfoOption *opts;
	char *errmsg = NULL, *masked;
	char reason[512];
	size_t scheme = url_scheme_len(value), prefix = pg_url_prefix(value), after_pw;

	if (scheme && !prefix) {
		snprintf(err, errlen,
		         "%s: unsupported URL scheme '%.*s' (expected postgres:// or "
		         "postgresql://, or a key=value connection string)",
		         var, (int)scheme, value);
		return false;
	}
	if (prefix && url_stray_at(value + prefix)) {
		snprintf(err, errlen,
		         "%s: invalid connection string: an '@' that does not end the user name "
		         "and password (percent-encode @ as %%40 and / as %%2F in a password, a "
		         "user name, the database name or a parameter)",
		         var);
		return false;
	}
	opts = PQconninfoParse(value, &errmsg);
	if (opts) {
		bool port_ok = ports_are_numbers(opts);
		PQconninfoFree(opts);
		if (!port_ok)
			snprintf(
			        err, errlen,
			        "%s: invalid connection string: a port is not a number (not shown: "
			        "in postgresql://user:password@host:port/db, a password without "
			        "its user@ is read as the port)",
			        var);
		return port_ok;
	}
	PQfreemem(errmsg);
	errmsg = NULL;

	masked = mask_lenient(value, &after_pw);
	opts = PQconninfoParse(masked, &errmsg);
	if (opts && prefix)
		/* only the password differs: it is what libpq refused */
		snprintf(reason, sizeof(reason),
		         "the password is malformed (in a URL, percent-encode reserved characters "
		         "such as @ : / ? # %%)");
	else if (opts)
		snprintf(reason, sizeof(reason), "the password value is malformed");
	else if (after_pw > 0 && parses_up_to(masked, after_pw))
		snprintf(reason, sizeof(reason), "%s",
		         prefix ? "what follows the password is malformed (percent-encode "
		                  "reserved characters such as & # % in a password)"
		                : "what follows the password is malformed (quote a password "
		                  "holding spaces or quotes: password='...', with \\' and "
		                  "\\\\ inside)");
	else if (strcmp(masked, value) == 0 && strstr(value, "password"))
		/* libpq's reason quotes the masked string; nothing was masked, yet a
		 * password is there (inside a value left open): it may quote it */
		snprintf(reason, sizeof(reason),
		         "malformed, libpq's reason not shown as it may quote the password "
		         "(quote values holding spaces or quotes: key='...', with \\' and \\\\ "
		         "inside)");
	else
		copy_reason(reason, sizeof(reason), errmsg);
	PQconninfoFree(opts);
	PQfreemem(errmsg);
	free(masked);
	snprintf(err, errlen, "%s: invalid connection string: %s", var, reason);
	return false;
}

/* getenv_set returns the value of var, or NULL when it is unset or empty. */
static const char *getenv_set(const char *var)
{
	const char *v = getenv(var);

	return v && *v ? v : NULL;
}

/*
 * pg_from_env reads a PostgreSQL setting from var (else from fallback when
 * not NULL), validates it and fills *conninfo and *safe (malloc'd).
 */
static bool pg_from_env(const char *var, const char *fallback, const char *hint, char **conninfo,
                        char **safe, char *err, size_t errlen)
{
	const char *name = var, *value = getenv_set(var);

	if (!value && fallback) {
		name = fallback;
		value = getenv_set(fallback);
	}
	if (!value) {
		if (fallback)
			snprintf(err, errlen, "%s is not set (nor %s): %s", var, fallback, hint);
		else
			snprintf(err, errlen, "%s is not set: %s", var, hint);
		return false;
	}
	if (!check_conninfo(name, value, err, errlen))
		return false;
	*conninfo = strdup(value);
	*safe = conninfo_mask(value);
	if (!*conninfo || !*safe) {
		snprintf(err, errlen, "%s: out of memory", name);
		return false;
	}
	return true;
}

/* set_err writes a fixed reason into err (no user text: it may hold a password). */
static bool set_err(char *err, size_t errlen, const char *reason)
{
	snprintf(err, errlen, "%s", reason);
	return false;
}

/* parse_uint parses the n digits at s as a number in [min, max] into *out. */
static bool parse_uint(const char *s, size_t n, long min, long max, int *out)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 9)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

/* redis_userinfo parses "[user][:password]" (n bytes at s) into out. */
static bool redis_userinfo(const char *s, size_t n, redis_config *out, char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', n);
	size_t ulen = colon ? (size_t)(colon - s) : n;

	if (ulen > 0 && !(out->user = percent_decode(s, ulen)))
		return set_err(err, errlen,
		               "malformed user name (percent-encode reserved characters)");
	if (colon && (size_t)(colon - s) + 1 < n &&
	    !(out->password = percent_decode(colon + 1, n - ulen - 1)))
		return set_err(err, errlen,
		               "malformed password (percent-encode reserved characters such as "
		               "@ : / ? # %)");
	return true;
}

/* redis_hostport parses host[:port][/db] at p into out. */
static bool redis_hostport(const char *p, redis_config *out, char *err, size_t errlen)
{
	const char *host = p;
	size_t hlen;

	if (*p == '[') {
		/* an IPv6 address: its colons are not the port's */
		const char *close = strchr(p, ']');

		if (!close)
			return set_err(err, errlen, "missing ']' after IPv6 host address");
		host = p + 1;
		hlen = (size_t)(close - host);
		p = close + 1;
	} else {
		hlen = strcspn(p, ":/?#");
		p += hlen;
	}
	if (hlen == 0)
		return set_err(err, errlen, "missing host name");
	if (!(out->host = strndup(host, hlen)))
		return set_err(err, errlen, "out of memory");
	if (strpbrk(out->host, " \t\r\n"))
		return set_err(err, errlen, "invalid host name");
	if (*p == ':') {
		size_t n = strcspn(++p, "/?#");

		if (!parse_uint(p, n, 1, 65535, &out->port)) {
			/* not quoted: redis://user:password with the @host forgotten puts
			 * the password here */
			snprintf(err, errlen,
			         "invalid port (expected 1-65535; not shown: a password without "
			         "its user@ is read as the port)");
			return false;
		}
		p += n;
	}
	if (*p == '/' && *++p && *p != '?' && *p != '#') {
		size_t n = strcspn(p, "?#");

		if (!parse_uint(p, n, 0, INT_MAX, &out->db))
			return set_err(err, errlen,
			               "invalid database number (expected /0, /1, ...)");
		p += n;
	}
	if (*p == '?')
		return set_err(err, errlen, "query parameters are not supported in a redis:// URL");
	if (*p)
		return set_err(err, errlen, "unexpected characters after the database number");
	return true;
}

/* redis_config_clear frees what redis_url_parse allocated. */
static void redis_config_clear(redis_config *r)
{
	free(r->user);
	free(r->host);
	free(r->password);
	memset(r, 0, sizeof(*r));
}

/*
 * redis_url_parse parses redis://[user][:password@]host[:port][/db] (port
 * 6379 and database 0 by default). rediss:// is refused: the hiredis 0.14
 * we build against has no TLS. Messages never quote the user information.
 */
bool redis_url_parse(const char *url, redis_config *out, char *err, size_t errlen)
{
	const char *p, *at;

	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (!url)
		return set_err(err, errlen, "no URL");
	if (strncmp(url, "rediss://", 9) == 0)
		return set_err(err, errlen,
		               "rediss:// (Redis over TLS) is not supported: this build uses "
		               "hiredis 0.14, which has no TLS; use a redis:// URL");
	if (strncmp(url, "redis://", 8) != 0)
		return set_err(err, errlen,
		               "expected a URL of the form "
		               "redis://[user][:password@]host[:port][/db]");
	p = url + 8;
	/* the last '@', as for PostgreSQL URLs: a stray '@' in a password stays hidden */
	at = strrchr(p, '@');
	if (at) {
		if (!redis_userinfo(p, (size_t)(at - p), out, err, errlen))
			goto fail;
		p = at + 1;
	}
	if (!redis_hostport(p, out, err, errlen))
		goto fail;
	return true;
fail:
	redis_config_clear(out);
	return false;
}

/* redis_mask returns the password-free form of a parsed Redis URL. */
static char *redis_mask(const redis_config *r)
{
	strbuf out;
	bool v6 = strchr(r->host, ':') != NULL;

	sb_init(&out);
	sb_append(&out, "redis://");
	if (r->user)
		sb_append(&out, r->user);
	if (r->password)
		sb_append(&out, ":" MASK);
	if (r->user || r->password)
		sb_append_char(&out, '@');
	sb_printf(&out, v6 ? "[%s]:%d/%d" : "%s:%d/%d", r->host, r->port, r->db);
	return out.data;
}

/* redis_from_env reads REDIS_URL (else SCALINGO_REDIS_URL) when set. */
static bool redis_from_env(config *cfg, char *err, size_t errlen)
{
	const char *name = "REDIS_URL", *value = getenv_set(name);
	char reason[256];

	if (!value) {
		name = "SCALINGO_REDIS_URL";
		value = getenv_set(name);
	}
	if (!value)
		return true;
	if (!redis_url_parse(value, &cfg->redis, reason, sizeof(reason))) {
		snprintf(err, errlen, "%s: %s", name, reason);
		return false;
	}
	cfg->has_redis = true;
	cfg->redis_safe = redis_mask(&cfg->redis);
	return true;
}

/*
 * config_from_env fills cfg from the environment. Missing or malformed
 * settings: one message in err naming the variable, cfg left empty, false.
 */
bool config_from_env(config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	if (!pg_from_env("ECOLO_DATABASE_URL", NULL,
	                 "the Ecoloweb database to read, e.g. "
	                 "postgres://user:password@host:5432/ecoloweb "
	                 "(a read-only replica is fine)",
	                 &cfg->source_conninfo, &cfg->source_safe, err, errlen))
		goto fail;
	if (!pg_from_env("DATABASE_URL", "SCALINGO_POSTGRESQL_URL",
	                 "the APiLos database to write, e.g. "
	                 "postgres://user:password@host:5432/apilos",
	                 &cfg->target_conninfo, &cfg->target_safe, err, errlen))
		goto fail;
	if (!redis_from_env(cfg, err, errlen))
		goto fail;
	return true;
fail:
	config_free(cfg);
	return false;
}

/* config_free releases what config_from_env allocated and empties cfg. */
void config_free(config *cfg)
{
	free(cfg->source_conninfo);
	free(cfg->target_conninfo);
	free(cfg->source_safe);
	free(cfg->target_safe);
	redis_config_clear(&cfg->redis);
	free(cfg->redis_safe);
	memset(cfg, 0, sizeof(*cfg));
}
