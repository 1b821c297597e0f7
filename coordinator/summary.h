/*
 * coordinator/summary.h
 *     The end-of-launch summary: a table per département and entity, and
 *     its JSON twin (--summary-json).
 */
#ifndef ECOLO_SUMMARY_H
#define ECOLO_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "run.h"

void summary_print(const launch *l, FILE *out);
bool summary_write_json(const launch *l, const char *path);

#endif
