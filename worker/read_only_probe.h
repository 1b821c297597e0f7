/*
 * worker/read_only_probe.h
 *     TEST ONLY (tests/t_security.sh): proof, through the worker's own
 *     Ecoloweb session, that it cannot write there. Each time the worker
 *     has set up the session, and each time it opens a snapshot (first
 *     attempt, retries, reconnections), the probe tries writes and escapes
 *     from read-only mode, each rolled back, and logs one line with the
 *     SQLSTATE each got. Disarmed unless ECOLO_TEST_READ_ONLY_PROBE=1;
 *     never for operators.
 */
#ifndef ECOLO_READ_ONLY_PROBE_H
#define ECOLO_READ_ONLY_PROBE_H

#include <stdbool.h>

#include "pgsql.h"

/*
 * read_only_probe, when armed, tries the writes on src: inside its open
 * transaction (in_snapshot, each try under a savepoint rolled back), or
 * outside any (each try in a transaction of its own, rolled back). Logs
 * "test hook: Ecoloweb read-only probe (WHERE): TRY SQLSTATE, ...", at
 * ERROR level when a try was accepted. The session is left as it was.
 */
void read_only_probe(pgconn *src, bool in_snapshot);

#endif
