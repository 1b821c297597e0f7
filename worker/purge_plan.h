/*
 * worker/purge_plan.h
 *     What a purge deletes, worked out inside the APiLos transaction in
 *     temporary tables (dropped at its end), before anything is deleted:
 *
 *     _purge       (tbl, id, kind, ...) the rows to delete, and those that
 *                  block it. kind is
 *                    imported  a row an import created, unchanged since;
 *                    changed   imported, then changed in APiLos;
 *                    link      created by the same import transaction as
 *                              the row it points at, without a reference
 *                              of its own (an avenant's type link);
 *                    added     created in APiLos after the import, pointing
 *                              at a purged row (a new avenant...);
 *                    other     imported for a département not purged, and
 *                              pointing at a purged row: never deleted;
 *                    shared    a bailleur or administration an import
 *                              created that nothing else uses any more.
 *     _purge_refs  the ecoloweb_ecoloreference rows to delete.
 *
 *     A row is told unchanged since its import by its transaction (xmin)
 *     being its reference's: the importer writes both in one transaction
 *     (--update rewrites both too), anything else writes only the row.
 */
#ifndef ECOLO_PURGE_PLAN_H
#define ECOLO_PURGE_PLAN_H

#include <stdbool.h>

#include "pgsql.h"
#include "purge_fks.h"
#include "strbuf.h"

/*
 * purge_plan_build fills the work tables for the départements of deps (a
 * PostgreSQL text array literal, "{22,29}"), following fks.
 */
bool purge_plan_build(pgconn *db, const char *deps, const purge_fks *fks);

/*
 * purge_exec_count runs sql and returns the rows it touched (its command
 * tag's count), or -1 after logging the failure.
 */
long purge_exec_count(pgconn *db, const char *what, const char *sql, int nparams,
                      const char *const *params);

/* purge_append_ident appends name as a quoted SQL identifier; false when out of memory. */
bool purge_append_ident(strbuf *sb, PGconn *conn, const char *name);

#endif
