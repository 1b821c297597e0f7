/*
 * coordinator/decision.h
 *     The COMMIT decision of a launch with prepared transactions, recorded
 *     in Redis (ecoloweb:decision:<launch>, 7 days) before its first COMMIT
 *     PREPARED and deleted after its last, from inside the coordinator's
 *     loop (redis_loop.h). verdict_cleanup reads it back at the next
 *     launch's start: a launch that died halfway through its commits is
 *     committed, not rolled back. README, "The verdict".
 */
#ifndef ECOLO_DECISION_H
#define ECOLO_DECISION_H

#include <stdbool.h>
#include <stddef.h>

#include "redis_loop.h"

/* decision_cb is told, from the loop, whether Redis acknowledged the command. */
typedef void (*decision_cb)(void *ctx, bool ok);

/*
 * decision_record records that launch_id decided COMMIT (SET ... EX).
 * cb(true) once Redis acknowledged it: only then may a COMMIT PREPARED be
 * sent. A failure is logged: then nothing may be committed.
 */
void decision_record(redis_loop *rl, const char *launch_id, decision_cb cb, void *ctx);

/* decision_forget deletes it once every commit is done; a failure is a warning (it expires). */
void decision_forget(redis_loop *rl, const char *launch_id, decision_cb cb, void *ctx);

#endif
