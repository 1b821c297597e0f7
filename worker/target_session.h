/*
 * worker/target_session.h
 *     The settings of every APiLos session a child process opens (an
 *     import's worker, a purge).
 */
#ifndef ECOLO_TARGET_SESSION_H
#define ECOLO_TARGET_SESSION_H

#include <stdbool.h>

#include "pgsql.h"

/*
 * target_session_settings sets what an APiLos session needs, instead of
 * trusting the server. A lock_timeout the URL gives (options=-c
 * lock_timeout=...) is kept: the operator knows how long APiLos may be
 * kept waiting.
 */
bool target_session_settings(pgconn *dst);

#endif
