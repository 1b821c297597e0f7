/*
 * worker/stop_flag.h
 *     The flag SIGTERM sets in a worker (worker.c): the writer stops between
 *     rows, and the worker rolls back.
 */
#ifndef ECOLO_STOP_FLAG_H
#define ECOLO_STOP_FLAG_H

#include <signal.h>

extern volatile sig_atomic_t worker_stop_requested;

#endif
