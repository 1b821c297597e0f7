/*
 * coordinator/leases.h
 *     Département leases in Redis (ecoloweb:lease:<dep>): two launches, on
 *     one machine or on several Scalingo one-offs, never import the same
 *     département at once. The coordinator takes them all before its loop
 *     (blocking), renews them inside it (lease_renewal.h: never blocking it)
 *     and releases them after it.
 */
#ifndef ECOLO_LEASES_H
#define ECOLO_LEASES_H

#include <stdbool.h>

#include "config.h"
#include "launch.h"
#include "redis_client.h"

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
 * leases_release gives back every lease of the launch, connecting again
 * first when the connection was closed (during the loop, the coordinator
 * talks to Redis on another one: redis_loop.h).
 */
void leases_release(redis_client *rc, const config *cfg, const launch *l);

#endif
