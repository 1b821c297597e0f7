/*
 * src/fault_point.h
 *     TEST ONLY: named moments where the fault campaign
 *     (tests/t_fault_campaign.sh) kills a process, so that "a worker killed
 *     while it holds a Redis lock" is a moment a test reaches every time
 *     instead of by luck. Disarmed unless ECOLO_TEST_FAULT is set; never
 *     for operators.
 *
 *     ECOLO_TEST_FAULT="POINT:WHO:NTH:ACTION"
 *       POINT   a name passed to fault_point (read, write, lock, ready, ...)
 *       WHO     the label of the process (a département code, "-" for the
 *               coordinator) or "*" for any
 *       NTH     the NTH time this process passes POINT (1 = the first)
 *       ACTION  kill         SIGKILL this process
 *               kill-parent  SIGKILL its parent (a worker's coordinator),
 *                            then go on
 *     A line "test fault: POINT #NTH in WHO: ACTION" goes to stderr first,
 *     for the campaign to know the moment was reached.
 */
#ifndef ECOLO_FAULT_POINT_H
#define ECOLO_FAULT_POINT_H

/* fault_point_label names this process for WHO (the worker's département). */
void fault_point_label(const char *label);

/* fault_point passes the moment point: acts when ECOLO_TEST_FAULT names it. */
void fault_point(const char *point);

#endif
