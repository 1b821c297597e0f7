/*
 * src/resolve.c
 *     See resolve.h.
 */
#include "resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libpq-fe.h>

/* is_numeric: an IPv4 or IPv6 address already, nothing to look up. */
static bool is_numeric(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/*
 * look_up returns the addresses of host for a TCP connection (to free with
 * freeaddrinfo), NULL when there is nothing to look up (empty, a Unix
 * socket, numeric already) or the lookup fails.
 */
static struct addrinfo *look_up(const char *host)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;

	if (!host || !*host || host[0] == '/' || is_numeric(host) ||
	    getaddrinfo(host, NULL, &hints, &res) != 0)
		return NULL;
	return res;
}

bool resolve_host(const char *host, char *out, size_t len)
{
	struct addrinfo *res = look_up(host);
	bool ok;

	if (len > 0)
		out[0] = '\0';
	if (!res)
		return false;
	ok = getnameinfo(res->ai_addr, res->ai_addrlen, out, (socklen_t)len, NULL, 0,
	                 NI_NUMERICHOST) == 0;
	freeaddrinfo(res);
	if (!ok && len > 0)
		out[0] = '\0';
	return ok;
}

/* option_value returns the value of keyword in the parsed options, or NULL. */
static const char *option_value(const PQconninfoOption *opts, const char *keyword)
{
	for (const PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (strcmp(o->keyword, keyword) == 0)
			return o->val && *o->val ? o->val : NULL;
	}
	return NULL;
}

/* pin_addresses appends each address of the lookup, with host once per address. */
static bool pin_addresses(const char *host, const struct addrinfo *res, pg_pin *pin)
{
	size_t n = 0, hl = 0, al = 0;

	for (const struct addrinfo *a = res; a && n < PG_PIN_ADDRS; a = a->ai_next) {
		char addr[48];
		if (getnameinfo(a->ai_addr, a->ai_addrlen, addr, sizeof(addr), NULL, 0,
		                NI_NUMERICHOST) != 0)
			continue;
		int h = snprintf(pin->host + hl, sizeof(pin->host) - hl, "%s%s", n ? "," : "",
		                 host);
		int d = snprintf(pin->hostaddr + al, sizeof(pin->hostaddr) - al, "%s%s",
		                 n ? "," : "", addr);
		if (h < 0 || d < 0 || (size_t)h >= sizeof(pin->host) - hl ||
		    (size_t)d >= sizeof(pin->hostaddr) - al)
			break;
		hl += (size_t)h;
		al += (size_t)d;
		n++;
	}
	pin->host[hl] = pin->hostaddr[al] = '\0';
	return n > 0;
}

bool resolve_pg_pin(const char *conninfo, pg_pin *pin)
{
	struct addrinfo *res = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	const char *host = option_value(opts, "host");
	bool ok = false;

	pin->host[0] = pin->hostaddr[0] = '\0';
	if (host && !strchr(host, ',') && !option_value(opts, "hostaddr") && strlen(host) < 64 &&
	    (res = look_up(host)) != NULL)
		ok = pin_addresses(host, res, pin);
	if (res)
		freeaddrinfo(res);
	PQconninfoFree(opts);
	return ok;
}
