/*
 * src/owner_token.h
 *     The token that names the holder of a Redis lease or lock,
 *     "<host>:<pid>:<launch>", and what it tells about its holder.
 */
#ifndef ECOLO_OWNER_TOKEN_H
#define ECOLO_OWNER_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

/* owner_token_make writes this process's token for launch_id into buf: "<host>:<pid>:<launch>". */
void owner_token_make(char *buf, size_t len, const char *launch_id);

/*
 * owner_token_dead tells whether the holder of a token is a process of this
 * machine that no longer exists (kill(pid, 0) says ESRCH). A holder on
 * another host, or one that cannot be told dead, is alive. Hosts sharing a
 * hostname must not share a Redis database with different pid namespaces
 * (containers): one would take the other's pid for dead.
 */
bool owner_token_dead(const char *holder);

#endif
