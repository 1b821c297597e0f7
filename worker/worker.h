/*
 * worker/worker.h
 *     The entry point of a forked worker: one département, end to end.
 */
#ifndef ECOLO_WORKER_H
#define ECOLO_WORKER_H

#include <signal.h>

#include "config.h"
#include "options.h"

typedef struct worker_args {
	const options *opts;
	const config *cfg;
	const char *departement; /* validated INSEE code */
	const char *run_date;    /* YYYY-MM-DD, local date taken once at launch start */
	const char *launch_id;   /* unique per launch, for names and tokens */
	const char *gid;         /* PREPARE TRANSACTION name, or NULL: plain COMMIT */
	bool use_redis;          /* shared entities created under Redis locks */
	bool use_side;           /* shared entities committed at once on a side connection */
} worker_args;

#include "stop_flag.h"

/*
 * worker_main imports args->departement inside the forked child. It
 * reports through status_fd (HELLO, PROGRESS, LOG, ERROR, READY, DONE) and,
 * after READY, waits for COMMIT or ABORT on control_fd. Returns the exit
 * status of the child (EXIT_CODE_*).
 */
int worker_main(const worker_args *args, int status_fd, int control_fd);

#endif
