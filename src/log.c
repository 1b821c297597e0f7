/*
 * src/log.c
 *     Levels, the département of the process, and the sink every log line
 *     goes to. The default sink prints the plain log format on stderr; a
 *     worker installs a sink that sends LOG frames to the coordinator, which
 *     then formats the line with the worker's département.
 *
 * A sink receives the message text alone (no time, level or département):
 * whoever finally writes the line adds them with log_format_line, so that
 * the dashboard can show the same event in its own layout.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_TEXT_MAX 4096 /* longer messages are cut: one event, one line */
#define LOG_LINE_MAX (LOG_TEXT_MAX + 64)

static log_level current_level = LOG_INFO;
static log_sink current_sink = NULL; /* NULL = the default stderr sink */
static void *current_ctx = NULL;
static char current_dep[8] = "";

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

/*
 * log_format_line writes "2026-11-26T06:29:42.123Z INFO  [33] text" into
 * buf: UTC time with milliseconds (log collectors sort on it), level padded
 * to 5 columns so texts align, "-" when there is no département.
 */
void log_format_line(char *buf, size_t len, log_level level, const char *dep, const char *text)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	if (len == 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ %-5s [%s] %s", stamp, ts.tv_nsec / 1000000L,
	         log_level_name(level), dep && *dep ? dep : "-", text ? text : "");
}

/* default_sink writes one formatted line to stderr with a single fputs. */
static void default_sink(log_level level, const char *text, void *ctx)
{
	char line[LOG_LINE_MAX];
	size_t n;

	(void)ctx;
	log_format_line(line, sizeof(line) - 1, level, current_dep, text);
	/* the newline joins the same fputs so lines of several processes never mix */
	n = strlen(line);
	line[n] = '\n';
	line[n + 1] = '\0';
	fputs(line, stderr);
	fflush(stderr);
}

/* emit hands one line of text to the current sink. */
static void emit(log_level level, const char *text)
{
	if (current_sink)
		current_sink(level, text, current_ctx);
	else
		default_sink(level, text, NULL);
}

/*
 * log_vmsg formats a message and hands it to the sink, one line per line of
 * text: libpq messages end with a newline and may hold several (DETAIL,
 * HINT), and the plain log promises one event per line. errno is kept, so
 * a caller may log before reporting strerror(errno).
 */
void log_vmsg(log_level level, const char *fmt, va_list ap)
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
			emit(level, line);
		line = nl ? nl + 1 : NULL;
	} while (line && *line);
	errno = saved_errno;
}

/* log_msg is the printf-like entry of log_vmsg. */
void log_msg(log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
