/*
 * coordinator/verdict_queue.h
 *     The verdict's statements on APiLos inside the coordinator's loop,
 *     which they never block (pg_async.h): reaping a worker that died,
 *     ROLLBACK PREPARED of a département, COMMIT PREPARED of a decided
 *     launch with verdict_commit's retries. One job at a time, in the order
 *     asked: the coordinator holds one verdict session at most, as the
 *     connection plan counts (capacity.h), and the commits of a launch
 *     share theirs ("import_ecoloweb_data/verdict"), as verdict_commit's
 *     callers did.
 */
#ifndef ECOLO_VERDICT_QUEUE_H
#define ECOLO_VERDICT_QUEUE_H

#include <stdbool.h>

#include <ev.h>

#include "config.h"

typedef enum vq_kind {
	VQ_REAP,     /* end the dead worker's session, roll back its gid if it was prepared */
	VQ_ROLLBACK, /* ROLLBACK PREPARED gid */
	VQ_COMMIT,   /* COMMIT PREPARED gid, retried, never rolled back */
	VQ_MARK,     /* prepare the COMMIT decision marker gid (verdict.h), without Redis */
	VQ_UNMARK    /* ROLLBACK PREPARED of the marker gid: ok when it is not there */
} vq_kind;

/*
 * vq_done_cb is told that a job ended, tag being what the caller gave:
 * ok for a rollback or commit that went through (a reap that did all it
 * had to). The failure is logged already. It may push jobs or pause.
 */
typedef void (*vq_done_cb)(void *ctx, vq_kind kind, void *tag, bool ok);

typedef struct verdict_queue verdict_queue;

/* vq_new returns an empty queue on loop, for the APiLos database of cfg. */
verdict_queue *vq_new(struct ev_loop *loop, const config *cfg, vq_done_cb done, void *ctx);

/* vq_free drops what is left (nothing should be: see vq_busy) and closes the session. */
void vq_free(verdict_queue *q);

/* vq_push queues a job on the département dep and its prepared transaction gid. */
void vq_push(verdict_queue *q, vq_kind kind, const char *dep, const char *gid, void *tag);

/* vq_pause makes the next job wait seconds more (a test's hook: the session stays open). */
void vq_pause(verdict_queue *q, double seconds);

/* vq_busy tells whether a job runs or waits: the loop must not end before it is done. */
bool vq_busy(const verdict_queue *q);

#endif
