/*
 * src/config.h
 *     Connection settings read from the environment, as on Scalingo:
 *     ECOLO_DATABASE_URL, DATABASE_URL (or SCALINGO_POSTGRESQL_URL),
 *     REDIS_URL (or SCALINGO_REDIS_URL). Passwords are kept only in the
 *     connection strings handed to libpq/hiredis, never in the "safe" forms.
 */
#ifndef ECOLO_CONFIG_H
#define ECOLO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct redis_config {
	char *user; /* NULL when none: then AUTH takes the password alone */
	char *host;
	int port;
	char *password; /* NULL when none */
	int db;         /* SELECT index, 0 by default */
} redis_config;

typedef struct config {
	char *source_conninfo; /* as given: URL or key=value conninfo */
	char *target_conninfo;
	char *source_safe; /* same, password replaced by ****: the only form logged */
	char *target_safe;
	bool has_redis;
	redis_config redis;
	char *redis_safe;
} config;

/*
 * config_from_env fills cfg from the environment. Missing or malformed
 * settings: one message in err naming the variable, returns false.
 */
bool config_from_env(config *cfg, char *err, size_t errlen);

/*
 * conninfo_mask returns a malloc'd copy of a libpq URL or conninfo string
 * with any password replaced by "****", or NULL if it cannot be parsed or
 * is a URL with an '@' that does not end its user information.
 */
char *conninfo_mask(const char *conninfo);

/* redis_url_parse parses redis://[:password@]host[:port][/db]. */
bool redis_url_parse(const char *url, redis_config *out, char *err, size_t errlen);

void config_free(config *cfg);

#endif
