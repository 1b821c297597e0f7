/*
 * src/redis_decision.h
 *     The verdict of a launch, kept in Redis (ecoloweb:decision:<launch>).
 */
#ifndef ECOLO_REDIS_DECISION_H
#define ECOLO_REDIS_DECISION_H

#include <stdbool.h>
#include <stddef.h>

#include "redis_client.h"

/*
 * redis_decision_set records the verdict of a launch (SET
 * ecoloweb:decision:<launch> decision EX ttl_s): once COMMIT was decided,
 * a launch that dies halfway through its COMMIT PREPAREDs is finished by
 * the next one's clean-up, which reads it back with redis_decision_get
 * ("" when none). redis_decision_delete drops it once every commit is done.
 */
bool redis_decision_set(redis_client *rc, const char *launch_id, const char *decision, long ttl_s);
bool redis_decision_get(redis_client *rc, const char *launch_id, char *buf, size_t len);
bool redis_decision_delete(redis_client *rc, const char *launch_id);

/*
 * For a client on another connection (the coordinator's, inside its loop):
 * redis_decision_key writes ecoloweb:decision:<launch> into buf (false
 * when the id is empty or does not fit).
 */
bool redis_decision_key(char *buf, size_t len, const char *launch_id);
#endif
