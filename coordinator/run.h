/*
 * coordinator/run.h
 *     Running the départements: fork one worker per département, follow it
 *     through its status pipe and a child watcher in one libev loop, give
 *     the verdict, and collect what each worker reports.
 */
#ifndef ECOLO_RUN_H
#define ECOLO_RUN_H

#include "launch.h"

/* launch_run imports every département and returns the exit status (EXIT_CODE_*). */
int launch_run(launch *l);

#endif
