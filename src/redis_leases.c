/*
 * src/redis_leases.c
 *     Département leases (ecoloweb:lease:<dep>): two launches never import
 *     the same département at once. Taken by SET NX PX, extended and
 *     released by scripts that compare the owner's token first, taken over
 *     from a launch that died on this machine.
 */
#include <stdio.h>
#include <string.h>

#include <hiredis.h>

#include "redis_commands.h"
#include "redis_leases.h"

#define LEASE_PREFIX "ecoloweb:lease:"

bool redis_lease_key(char *buf, size_t len, const char *dep)
{
	if (!dep || !*dep || strlen(dep) + sizeof(LEASE_PREFIX) > len)
		return false;
	snprintf(buf, len, LEASE_PREFIX "%s", dep);
	return true;
}

/* lease_key writes ecoloweb:lease:<dep> into buf; false (rc->err) on a bad dep. */
static bool lease_key(redis_client *rc, const char *dep, char *buf, size_t len)
{
	if (redis_lease_key(buf, len, dep))
		return true;
	snprintf(rc->err, sizeof(rc->err), "Redis: invalid département for a lease");
	return false;
}

/* copy_holder copies a token into the caller's holder buffer (may be NULL). */
static void copy_holder(char *holder, size_t holderlen, const char *token)
{
	if (holder && holderlen > 0)
		snprintf(holder, holderlen, "%s", token);
}

/* lease_renew_key extends key to ttl_ms if it holds this owner's token (*renewed). */
static bool lease_renew_key(redis_client *rc, char *key, long ttl_ms, bool *renewed)
{
	char ttl[24];
	long long res = 0;

	*renewed = false;
	if (!redis_ttl_arg(rc, ttl_ms, ttl, sizeof(ttl)) ||
	    !redis_script_many(rc, &redis_renew_script, &key, 1, ttl, &res))
		return false;
	*renewed = res == 1;
	return true;
}

/*
 * redis_lease_acquire takes ecoloweb:lease:<dep> for ttl_ms: 1 when taken
 * (or already held by this owner: then extended to ttl_ms), 0 when another
 * owner holds it (its token copied into holder), -1 on an error (rc->err).
 * A lease that expires between the SET and the GET is tried again.
 */
int redis_lease_acquire(redis_client *rc, const char *dep, long ttl_ms, char *holder,
                        size_t holderlen)
{
	char key[96], cur[256] = "";
	char *keys[1] = {key};
	bool got, mine;
	int attempt;

	copy_holder(holder, holderlen, "");
	if (!lease_key(rc, dep, key, sizeof(key)))
		return -1;
	for (attempt = 0; attempt < 3; attempt++) {
		if (!redis_set_nx_many(rc, keys, 1, ttl_ms, &got, "lease"))
			return -1;
		if (got)
			return 1;
		if (!redis_get_token(rc, key, cur, sizeof(cur), &mine))
			return -1;
		if (mine && !lease_renew_key(rc, key, ttl_ms, &got))
			return -1;
		if (mine && got)
			return 1;
		if (!mine && cur[0])
			break;
	}
	copy_holder(holder, holderlen, cur);
	return 0;
}

/*
 * redis_lease_renew extends the lease of dep to ttl_ms if this owner still
 * holds it. False when it does not (rc->err says so, the connection stays
 * open) or on an error (rc->err, connection closed: rc->ctx is NULL).
 */
bool redis_lease_renew(redis_client *rc, const char *dep, long ttl_ms)
{
	char key[96];
	bool renewed;

	if (!lease_key(rc, dep, key, sizeof(key)) || !lease_renew_key(rc, key, ttl_ms, &renewed))
		return false;
	if (!renewed)
		snprintf(rc->err, sizeof(rc->err),
		         "Redis: the lease of département %.32s is no longer held by this launch "
		         "(expired, or taken by another)",
		         dep);
	return renewed;
}

/*
 * redis_lease_release deletes the lease of dep if this owner holds it
 * (compare-and-delete): true when this owner no longer holds it (deleted,
 * or held by another / free: left as is), false on an error (rc->err).
 */
bool redis_lease_release(redis_client *rc, const char *dep)
{
	char key[96];
	char *keys[1] = {key};

	return lease_key(rc, dep, key, sizeof(key)) &&
	       redis_script_many(rc, &redis_unlock_script, keys, 1, NULL, NULL);
}

/* redis_lease_holder reads the token holding the lease of dep ("" when free); false on error. */
bool redis_lease_holder(redis_client *rc, const char *dep, char *holder, size_t holderlen)
{
	char key[96], cur[256];

	copy_holder(holder, holderlen, "");
	if (!lease_key(rc, dep, key, sizeof(key)) ||
	    !redis_get_token(rc, key, cur, sizeof(cur), NULL))
		return false;
	copy_holder(holder, holderlen, cur);
	return true;
}

/* redis_lease_take_over gives the lease of dep to this owner if it still holds dead. */
int redis_lease_take_over(redis_client *rc, const char *dep, const char *dead, long ttl_ms)
{
	char key[96];

	if (!lease_key(rc, dep, key, sizeof(key)))
		return -1;
	return redis_take_over_key(rc, key, dead, ttl_ms, "lease take-over");
}
