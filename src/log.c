/*
 * src/log.c
 *     Levels, the département of the process, and the sink every log line
 *     goes to. The default sink prints the plain log format on stderr; a
 *     worker installs a sink that sends LOG frames to the coordinator, which
 *     then formats the line with the worker's département.
 *
 * A sink receives the message text alone (no time, level or département):
 * whoever finally writes the line adds them with log_format_line, so that
 * the dashboard can show the same event in its own layout. With
 * --log-format json, the writer makes each line one JSON object instead,
 * through jansson (no hand-made escaping).
 */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_TEXT_MAX 4096 /* longer messages are cut: one event, one line */
#define LOG_LINE_MAX (LOG_TEXT_MAX + 64)

static log_level current_level = LOG_INFO;
static log_sink current_sink = NULL; /* NULL = the default stderr sink */
static void *current_ctx = NULL;
static char current_dep[8] = "";
static log_format current_format = LOG_FORMAT_PLAIN;

/* log_set_level sets the lowest level that reaches the sink. */
void log_set_level(log_level level)
{
	current_level = level;
}

/* log_get_level returns the lowest level that reaches the sink. */
log_level log_get_level(void)
{
	return current_level;
}

/* log_set_sink installs sink (NULL restores the default stderr sink). */
void log_set_sink(log_sink sink, void *ctx)
{
	current_sink = sink;
	current_ctx = ctx;
}

/* log_set_format chooses plain lines or JSON objects for every line written. */
void log_set_format(log_format format)
{
	current_format = format;
}

/* log_get_format returns the format of the lines written. */
log_format log_get_format(void)
{
	return current_format;
}

/* log_set_departement sets the département of every later line (NULL: none). */
void log_set_departement(const char *dep)
{
	if (!dep)
		dep = "";
	snprintf(current_dep, sizeof(current_dep), "%s", dep);
}

/* log_level_name returns the level as printed in lines ("INFO", ...). */
const char *log_level_name(log_level level)
{
	switch (level) {
	case LOG_DEBUG:
		return "DEBUG";
	case LOG_INFO:
		return "INFO";
	case LOG_WARN:
		return "WARN";
	case LOG_ERROR:
		return "ERROR";
	}
	return "?";
}

/* log_event_name returns the JSON name of event; LOGEV_NONE is named after level. */
const char *log_event_name(log_event event, log_level level)
{
	static const char *const names[LOGEV_COUNT] = {
	        [LOGEV_LAUNCH] = "launch",
	        [LOGEV_START] = "start",
	        [LOGEV_PLAN] = "plan",
	        [LOGEV_PHASE] = "phase",
	        [LOGEV_PROGRESS] = "progress",
	        [LOGEV_READY] = "ready",
	        [LOGEV_VERDICT] = "verdict",
	        [LOGEV_COMMITTED] = "committed",
	        [LOGEV_ROLLED_BACK] = "rolled_back",
	        [LOGEV_CHECKED] = "checked",
	        [LOGEV_FAILED] = "failed",
	        [LOGEV_SUMMARY] = "summary",
	        [LOGEV_EXIT] = "exit",
	};

	if (event > LOGEV_NONE && event < LOGEV_COUNT)
		return names[event];
	switch (level) {
	case LOG_DEBUG:
		return "debug";
	case LOG_INFO:
		return "info";
	case LOG_WARN:
		return "warning";
	case LOG_ERROR:
		return "error";
	}
	return "info";
}

/* format_time writes the current UTC time, "2026-11-26T06:29:42.123Z". */
static void format_time(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.20s.%03dZ", stamp, (int)(ts.tv_nsec / 1000000L) % 1000);
}

/*
 * log_format_line writes "2026-11-26T06:29:42.123Z INFO  [33] text" into
 * buf: UTC time with milliseconds (log collectors sort on it), level padded
 * to 5 columns so texts align, "-" when there is no département.
 */
void log_format_line(char *buf, size_t len, log_level level, const char *dep, const char *text)
{
	char stamp[32];

	if (len == 0)
		return;
	format_time(stamp, sizeof(stamp));
	snprintf(buf, len, "%s %-5s [%s] %s", stamp, log_level_name(level), dep && *dep ? dep : "-",
	         text ? text : "");
}

/*
 * json_text returns text as a JSON string. jansson refuses bytes that are
 * not UTF-8 (a message cut in the middle of a character, a server's
 * message in another encoding): those become '?', the line stays whole.
 */
static json_t *json_text(const char *text)
{
	json_t *s = json_string(text);

	if (s)
		return s;
	char *copy = strdup(text);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	s = json_string(copy);
	free(copy);
	return s;
}

/* log_json_line: see log.h. */
char *log_json_line(log_level level, log_event event, const char *dep, const char *text,
                    const json_t *extra)
{
	char stamp[32];
	char *out = NULL;
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	format_time(stamp, sizeof(stamp));
	bool ok =
	        json_object_set_new(obj, "time", json_string(stamp)) == 0 &&
	        json_object_set_new(obj, "level", json_string(log_level_name(level))) == 0 &&
	        (!dep || !*dep || strcmp(dep, "-") == 0 ||
	         json_object_set_new(obj, "departement", json_text(dep)) == 0) &&
	        json_object_set_new(obj, "event", json_string(log_event_name(event, level))) == 0 &&
	        json_object_set_new(obj, "message", json_text(text ? text : "")) == 0 &&
	        (!extra || json_object_update(obj, (json_t *)extra) == 0);
	if (ok)
		out = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(obj);
	return out;
}

/* log_write_line: see log.h. */
void log_write_line(FILE *out, log_level level, log_event event, const char *dep, const char *text,
                    const json_t *extra)
{
	char line[LOG_LINE_MAX];
	size_t n;

	if (current_format == LOG_FORMAT_JSON) {
		char *json = log_json_line(level, event, dep, text, extra);
		if (!json)
			return; /* out of memory: nothing sensible to print */
		/* the newline joins the same fputs so lines of several processes never mix */
		n = strlen(json);
		char *grown = realloc(json, n + 2);
		if (grown) {
			grown[n] = '\n';
			grown[n + 1] = '\0';
			fputs(grown, out);
		}
		free(grown ? grown : json);
		fflush(out);
		return;
	}
	log_format_line(line, sizeof(line) - 1, level, dep, text);
	n = strlen(line);
	line[n] = '\n';
	line[n + 1] = '\0';
	fputs(line, out);
	fflush(out);
}

/* emit hands one line of text to the current sink (default: stderr). */
static void emit(log_level level, log_event event, const char *text)
{
	if (current_sink)
		current_sink(level, event, text, current_ctx);
	else
		log_write_line(stderr, level, event, current_dep, text, NULL);
}

/*
 * vlog formats a message and hands it to the sink, one line per line of
 * text: libpq messages end with a newline and may hold several (DETAIL,
 * HINT), and the plain log promises one event per line. errno is kept, so
 * a caller may log before reporting strerror(errno).
 */
static void vlog(log_level level, log_event event, const char *fmt, va_list ap)
{
	char text[LOG_TEXT_MAX];
	char *line, *nl;
	int saved_errno = errno;

	if (level < current_level)
		return;
	vsnprintf(text, sizeof(text), fmt, ap);
	line = text;
	do {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		/* skip the empty line a trailing newline would make, keep others */
		if (*line || (!nl && line == text))
			emit(level, event, line);
		line = nl ? nl + 1 : NULL;
	} while (line && *line);
	errno = saved_errno;
}

/* log_vmsg logs a line of no particular event (named after its level). */
void log_vmsg(log_level level, const char *fmt, va_list ap)
{
	vlog(level, LOGEV_NONE, fmt, ap);
}

/* log_event_msg logs like log_msg, about event. */
void log_event_msg(log_level level, log_event event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, event, fmt, ap);
	va_end(ap);
}

/* log_msg is the printf-like entry of log_vmsg. */
void log_msg(log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
