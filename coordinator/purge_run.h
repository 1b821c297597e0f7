/*
 * coordinator/purge_run.h
 *     Running --purge: the purge itself works in a forked child
 *     (worker/purge.h, blocking libpq), while the coordinator's loop keeps
 *     the département leases and passes the operator's signals on.
 */
#ifndef ECOLO_PURGE_RUN_H
#define ECOLO_PURGE_RUN_H

#include "launch.h"

/* purge_run purges the départements of l and returns the exit status (EXIT_CODE_*). */
int purge_run(launch *l);

#endif
