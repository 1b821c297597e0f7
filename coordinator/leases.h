/*
 * coordinator/leases.h
 *     Département leases in Redis (ecoloweb:lease:<dep>): two launches, on
 *     one machine or on several Scalingo one-offs, never import the same
 *     département at once. The coordinator takes them all before forking,
 *     renews them while it runs and releases them at the end.
 */
#ifndef ECOLO_LEASES_H
#define ECOLO_LEASES_H

#include <stdbool.h>

#include "config.h"
#include "redis_client.h"
#include "run.h"

#define LEASE_TTL_MS 60000L

/*
 * leases_acquire takes the lease of every département of the launch. If
 * one is held by another live launch, it logs who holds it, gives back
 * those it took, and returns false: the launch must not start. A lease
 * whose holder died on this machine (owner_token_dead) is taken over.
 */
bool leases_acquire(redis_client *rc, launch *l);

typedef enum lease_status {
	LEASES_HELD = 0,    /* every lease renewed */
	LEASES_UNREACHABLE, /* Redis does not answer: the leases expire in LEASE_TTL_MS */
	LEASES_LOST         /* another launch holds one of them now: this launch must stop */
} lease_status;

/*
 * leases_renew extends the leases of the départements not finished yet,
 * reconnecting once when Redis went away, and taking a lease again when it
 * expired meanwhile and nobody else took it. *lost receives the code of a
 * département whose lease another launch holds (LEASES_LOST).
 */
lease_status leases_renew(redis_client *rc, const config *cfg, const launch *l, const char **lost);

/* leases_release gives back every lease of the launch. */
void leases_release(redis_client *rc, const launch *l);

#endif
