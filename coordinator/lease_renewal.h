/*
 * coordinator/lease_renewal.h
 *     Renewing the département leases (leases.h) inside the coordinator's
 *     loop, on its Redis connection there (redis_loop.h), which no renewal
 *     blocks: Redis frozen or gone, the loop goes on beating.
 */
#ifndef ECOLO_LEASE_RENEWAL_H
#define ECOLO_LEASE_RENEWAL_H

#include "launch.h"
#include "leases.h"
#include "redis_loop.h"

/*
 * leases_renew_cb is told how a renewal went; lost names the département
 * whose lease another launch holds (LEASES_LOST), else NULL.
 */
typedef void (*leases_renew_cb)(void *ctx, lease_status status, const char *lost);

typedef struct leases_renewal leases_renewal;

/*
 * leases_renew_start extends, inside the coordinator's loop (rl), the
 * leases of the départements not finished yet, taking one again when it
 * expired meanwhile and nobody else took it; a lost connection is opened
 * anew. Redis failing is one warning (LEASES_UNREACHABLE: the leases
 * expire in LEASE_TTL_MS), a lease now another launch's an error. cb is
 * told from the loop once every département has its answer. NULL (cb
 * never told) when no lease needs renewing.
 */
leases_renewal *leases_renew_start(redis_loop *rl, const launch *l, leases_renew_cb cb, void *ctx);

/*
 * leases_renew_abandon: the renewal's outcome no longer matters (the loop
 * ended): nothing is logged nor told of it; it frees itself once its
 * commands are answered or dropped (redis_loop_free).
 */
void leases_renew_abandon(leases_renewal *r);

#endif
