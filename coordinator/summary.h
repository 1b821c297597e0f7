/*
 * coordinator/summary.h
 *     The end-of-launch summary: a table per département and entity, and
 *     its JSON twin (--summary-json), with the figures for load testers.
 */
#ifndef ECOLO_SUMMARY_H
#define ECOLO_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "launch.h"

/* summary_print writes the summary to out: a table, or JSON lines with --log-format json. */
void summary_print(const launch *l, FILE *out);
/* summary_write_json writes --summary-json (doc/summary.schema.json); false (logged) on failure. */
bool summary_write_json(const launch *l, const char *path, int exit_status);

#endif
