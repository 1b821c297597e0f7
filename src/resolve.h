/*
 * src/resolve.h
 *     Host names resolved once, before the coordinator's loop starts: a
 *     DNS lookup blocks (getaddrinfo, and libpq's and hiredis' connects
 *     call it), and the loop must never block. The loop's later
 *     connections go to the address found then.
 */
#ifndef ECOLO_RESOLVE_H
#define ECOLO_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * resolve_host writes the numeric address of host (the first getaddrinfo
 * gives for a TCP connection) into out. False when host is empty, already
 * numeric or cannot be resolved now: the caller then connects by name.
 */
bool resolve_host(const char *host, char *out, size_t len);

/*
 * pg_pin: libpq's host and hostaddr for a server looked up beforehand:
 * "h,h,h" and "a1,a2,a3", each address of the one host named, so that
 * libpq tries them in turn as it does after its own lookup, without
 * looking anything up (host stays what TLS checks the certificate
 * against). Empty strings when nothing is pinned.
 */
#define PG_PIN_ADDRS 8
typedef struct pg_pin {
	char host[PG_PIN_ADDRS * 64];
	char hostaddr[PG_PIN_ADDRS * 48];
} pg_pin;

/*
 * resolve_pg_pin fills pin for the one host conninfo names. False, pin
 * empty, when there is nothing to pin: no host or a Unix socket, several
 * hosts, hostaddr already given, or a name that cannot be resolved now.
 */
bool resolve_pg_pin(const char *conninfo, pg_pin *pin);

#endif
