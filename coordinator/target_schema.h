/*
 * coordinator/target_schema.h
 *     Before anything starts: does DATABASE_URL hold the APiLos tables and
 *     columns the importer writes? A database without them (not APiLos, or
 *     an APiLos that is not migrated) is refused, naming what is missing.
 */
#ifndef ECOLO_TARGET_SCHEMA_H
#define ECOLO_TARGET_SCHEMA_H

#include <stdbool.h>

#include "pgsql.h"

/*
 * target_schema_check reads the catalogue of dst (the search_path the
 * import will use) for every table and column the importer writes or
 * reads; false, with one error line naming each missing table and the
 * missing columns of the tables present, when any is missing (or the
 * query fails). safe is DATABASE_URL without its password, for messages.
 */
bool target_schema_check(pgconn *dst, const char *safe);

#endif
