/*
 * worker/target_session.c
 *     The settings of the APiLos sessions of the child processes.
 */
#include "target_session.h"

bool target_session_settings(pgconn *dst)
{
	return pg_exec_ok(dst, "target session settings",
	                  "SELECT set_config('TimeZone', 'UTC', false), "
	                  "set_config('DateStyle', 'ISO, YMD', false), "
	                  "set_config('lock_timeout', CASE current_setting('lock_timeout') "
	                  "WHEN '0' THEN '60s' ELSE current_setting('lock_timeout') END, false), "
	                  "set_config('statement_timeout', '1h', false), "
	                  "set_config('idle_in_transaction_session_timeout', '0', false)",
	                  0, NULL);
}
