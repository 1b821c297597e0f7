/*
 * src/connect_retry.h
 *     The one policy for connecting to a server that may be back a little
 *     later (refused, timed out, starting up): 5 tries over about 13 s,
 *     waits of 1, 2, 4 and 6 s, as pgcopydb does for a server that
 *     restarts. PostgreSQL (pgsql.c) and Redis (redis_client.c) share it.
 */
#ifndef ECOLO_CONNECT_RETRY_H
#define ECOLO_CONNECT_RETRY_H

#include <stdbool.h>

#define CONNECT_TRIES 5

/*
 * connect_retry_delay, after the failed try number try (1-based) to reach
 * the server called role, logs a WARN line with why and returns the
 * seconds to wait before the next try: -1, without a line, when that was
 * the last try. For callers that wait on a timer (coordinator/pg_async.c).
 */
int connect_retry_delay(const char *role, int try, const char *why);

/*
 * connect_retry_wait, after the failed try number try (1-based) to reach
 * the server called role, logs a WARN line with why and sleeps until the
 * next try (connect_retry_delay, then a sleep). False, without waiting,
 * when that was the last try.
 */
bool connect_retry_wait(const char *role, int try, const char *why);

#endif
