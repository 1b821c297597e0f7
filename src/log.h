/*
 * src/log.h
 *     One logging API for both process roles. The coordinator writes lines
 *     itself (plain log or dashboard); a worker hands each line to a sink
 *     that sends it as a LOG frame, so only the coordinator writes output.
 */
#ifndef ECOLO_LOG_H
#define ECOLO_LOG_H

#include <stdarg.h>
#include <stddef.h>

typedef enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* A sink receives every line at or above the current level. */
typedef void (*log_sink)(log_level level, const char *line, void *ctx);

void log_set_level(log_level level);
log_level log_get_level(void);
/* log_set_sink replaces the default sink (stderr with timestamp). */
void log_set_sink(log_sink sink, void *ctx);
/* log_set_departement sets the département shown in every line ("-" if none). */
void log_set_departement(const char *dep);

void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(log_level level, const char *fmt, va_list ap);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

const char *log_level_name(log_level level);

/*
 * log_format_line writes "YYYY-MM-DDTHH:MM:SS.mmmZ LEVEL [dep] text" into buf:
 * the plain log format every output line uses.
 */
void log_format_line(char *buf, size_t len, log_level level, const char *dep, const char *text);

#endif
