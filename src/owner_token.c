/*
 * src/owner_token.c
 *     See owner_token.h.
 */
#include "owner_token.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void owner_token_make(char *buf, size_t len, const char *launch_id)
{
	char host[64] = "";

	/* the same hostname as owner_token_dead compares with */
	gethostname(host, sizeof(host) - 1);
	snprintf(buf, len, "%s:%d:%s", host, (int)getpid(), launch_id);
}

bool owner_token_dead(const char *holder)
{
	char host[64] = "";
	const char *last = strrchr(holder, ':');

	if (!last || last == holder)
		return false;
	const char *pid_at = last - 1;
	while (pid_at > holder && pid_at[-1] != ':')
		pid_at--;
	if (pid_at == holder)
		return false; /* no host part */
	char *end;
	long pid = strtol(pid_at, &end, 10);
	if (end != last || pid <= 1)
		return false;
	/* the same hostname as the tokens are built from (main.c, worker.c) */
	gethostname(host, sizeof(host) - 1);
	size_t host_len = (size_t)(pid_at - 1 - holder);
	if (host_len != strlen(host) || strncmp(holder, host, host_len) != 0)
		return false;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}
