/*
 * src/log.h
 *     One logging API for both process roles. The coordinator writes lines
 *     itself (plain log or dashboard); a worker hands each line to a sink
 *     that sends it as a LOG frame, so only the coordinator writes output.
 */
#ifndef ECOLO_LOG_H
#define ECOLO_LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>

#include <jansson.h>

typedef enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/*
 * What a line is about, for log drains (--log-format json's "event"): a
 * small stable set, documented in doc/import_ecoloweb_data.1. LOGEV_NONE
 * takes its name from the level ("debug", "info", "warning", "error").
 * Workers send it in their LOG frames: append only, never renumber.
 */
typedef enum log_event {
	LOGEV_NONE = 0,
	LOGEV_LAUNCH,      /* what the launch will do, how it will end */
	LOGEV_START,       /* a worker started */
	LOGEV_PLAN,        /* a worker knows what it will import */
	LOGEV_PHASE,       /* a worker begins an entity class */
	LOGEV_PROGRESS,    /* where a département is (heartbeat), with its counts */
	LOGEV_READY,       /* a département wrote everything, waits for the verdict */
	LOGEV_VERDICT,     /* the launch's COMMIT or ABORT */
	LOGEV_COMMITTED,   /* a département committed */
	LOGEV_ROLLED_BACK, /* a département rolled back */
	LOGEV_CHECKED,     /* a dry run's département done, rolled back */
	LOGEV_FAILED,      /* a département failed */
	LOGEV_SUMMARY,     /* the end-of-launch summary, one line per département */
	LOGEV_EXIT,        /* the exit status */
	LOGEV_COUNT
} log_event;

/* The output format of every line (--log-format). */
typedef enum log_format { LOG_FORMAT_PLAIN = 0, LOG_FORMAT_JSON } log_format;

/* A sink receives every line at or above the current level. */
typedef void (*log_sink)(log_level level, log_event event, const char *line, void *ctx);

void log_set_level(log_level level);
log_level log_get_level(void);
/* log_set_sink replaces the default sink (stderr with timestamp). */
void log_set_sink(log_sink sink, void *ctx);
/* log_set_departement sets the département shown in every line ("-" if none). */
void log_set_departement(const char *dep);

/* log_set_format chooses plain lines or JSON objects for every line written. */
void log_set_format(log_format format);
log_format log_get_format(void);

void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(log_level level, const char *fmt, va_list ap);
/* log_event_msg logs like log_msg, about event (LOGEV_*). */
void log_event_msg(log_level level, log_event event, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

const char *log_level_name(log_level level);

/* log_event_name returns the JSON name of event ("progress", ...), level's for LOGEV_NONE. */
const char *log_event_name(log_event event, log_level level);

/*
 * log_format_line writes "YYYY-MM-DDTHH:MM:SS.mmmZ LEVEL [dep] text" into buf:
 * the plain log format every output line uses.
 */
void log_format_line(char *buf, size_t len, log_level level, const char *dep, const char *text);

/*
 * log_json_line returns the JSON object of one line, without newline
 * (malloc'd, NULL only when out of memory): time (ISO 8601 UTC with
 * milliseconds), level, departement (left out when dep is NULL, "" or
 * "-"), event, message (text, bytes that are not UTF-8 replaced by '?'),
 * then every member of extra (borrowed, may be NULL).
 */
char *log_json_line(log_level level, log_event event, const char *dep, const char *text,
                    const json_t *extra);

/*
 * log_write_line writes one line to out in the current format, its newline
 * in the same write: plain (log_format_line) or JSON (log_json_line, with
 * extra; plain lines leave extra out).
 */
void log_write_line(FILE *out, log_level level, log_event event, const char *dep, const char *text,
                    const json_t *extra);

#endif
