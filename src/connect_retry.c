/*
 * src/connect_retry.c
 *     See connect_retry.h.
 */
#include "connect_retry.h"

#include <errno.h>
#include <time.h>

#include "log.h"

static const int connect_waits[CONNECT_TRIES - 1] = {1, 2, 4, 6};

int connect_retry_delay(const char *role, int try, const char *why)
{
	if (try < 1 || try >= CONNECT_TRIES)
		return -1;
	log_warn("[%s] cannot connect (try %d of %d): %s; trying again in %d s", role, try,
	         CONNECT_TRIES, why, connect_waits[try - 1]);
	return connect_waits[try - 1];
}

bool connect_retry_wait(const char *role, int try, const char *why)
{
	int s = connect_retry_delay(role, try, why);

	if (s < 0)
		return false;
	struct timespec left = {.tv_sec = s, .tv_nsec = 0};
	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
	return true;
}
