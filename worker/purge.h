/*
 * worker/purge.h
 *     --purge, in the child process the coordinator forks for it: one
 *     APiLos transaction that deletes what earlier imports of the
 *     départements created, or nothing.
 */
#ifndef ECOLO_PURGE_H
#define ECOLO_PURGE_H

#include "config.h"
#include "options.h"

/*
 * purge_main purges opts->departements (with opts->dry_run: reports and
 * rolls back; opts->force: also deletes what was changed or added in
 * APiLos after the import) and returns the child's exit status
 * (EXIT_CODE_*).
 */
int purge_main(const options *opts, const config *cfg);

#endif
