/*
 * coordinator/capacity.c
 *     The connection check of a launch (issue 10): a launch of all of France
 *     without prepared transactions holds one APiLos session per ready
 *     département until the verdict. Before any work, each server says what
 *     it can give; a launch that does not fit is refused with what would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "log.h"
#include "pgsql.h"
#include "strbuf.h"
#include "verdict.h"

/* The application_name of check sessions, this one's and main.c's check_servers' */
#define CHECK_APP "import_ecoloweb_data/check"

/*
 * A server identity any role can read: the postmaster's start time (to the
 * microsecond, as an epoch: the sessions' TimeZone may differ) and port.
 * Two URLs of one server (localhost, 127.0.0.1, a DNS name) give the same;
 * a hot-standby replica, which shares its primary's system_identifier,
 * does not.
 */
static const char identity_sql[] =
        "SELECT pg_backend_pid(), extract(epoch FROM pg_postmaster_start_time())::text "
        "|| ' port ' || current_setting('port')";

/*
 * The limits a new session of this role meets, and what counts against
 * them. Check sessions are left out, they close before any work: $1, the
 * two of this check (whatever their role), and by name those of the
 * coordinator's first check, which may linger a moment after closing. Without
 * pg_read_all_stats the backend_type of other roles' sessions is hidden:
 * a row with a database and a role is then taken for a client backend
 * (a parallel worker or a logical walsender may be counted too: safe).
 * Superusers may take the reserved slots and ignore CONNECTION LIMITs;
 * reserved_connections (PostgreSQL 16) is read only where it exists.
 */
static const char limits_sql[] =
        "WITH sessions AS (\n"
        "  SELECT datname, usesysid FROM pg_stat_activity\n"
        "  WHERE pid <> ALL ($1::int[])\n"
        "    AND application_name IS DISTINCT FROM $3\n"
        "    AND (backend_type = 'client backend'\n"
        "    OR (backend_type IS NULL AND datid IS NOT NULL AND usesysid IS NOT NULL)))\n"
        "SELECT current_setting('max_connections')::int,\n"
        "  CASE WHEN current_setting('is_superuser')::bool THEN 0\n"
        "    ELSE current_setting('superuser_reserved_connections')::int\n"
        "      + CASE WHEN COALESCE(pg_has_role(to_regrole('pg_use_reserved_connections'),\n"
        "                                       'MEMBER'), false) THEN 0\n"
        "        ELSE COALESCE(current_setting('reserved_connections', true)::int, 0) END\n"
        "  END,\n"
        "  (SELECT count(*) FROM sessions),\n"
        "  current_setting('is_superuser')::bool,\n"
        "  d.datname, d.datconnlimit,\n"
        "  (SELECT count(*) FROM sessions s WHERE s.datname = d.datname),\n"
        "  r.rolname, r.rolconnlimit,\n"
        "  (SELECT count(*) FROM sessions s WHERE s.usesysid = r.oid),\n"
        "  current_setting('max_prepared_transactions')::int,\n"
        "  (SELECT count(*) FROM pg_prepared_xacts),\n"
        "  (SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE $2)\n"
        "FROM pg_database d, pg_roles r\n"
        "WHERE d.datname = current_database() AND r.rolname = session_user";

/* check_session: one server's check session and what it said. */
typedef struct check_session {
	pgconn pg;
	const char *setting; /* ECOLO_DATABASE_URL or DATABASE_URL */
	const char *safe;    /* its masked form */
	bool source;
	char pid[16];
	char identity[128];
} check_session;

/* open_check connects the check session of one server and reads its identity. */
static bool open_check(check_session *s, const char *conninfo)
{
	if (!pg_connect(&s->pg, conninfo, s->source ? "SOURCE" : "TARGET", CHECK_APP)) {
		log_error("%s (%s): cannot connect to check the connections: %s", s->setting,
		          s->safe, s->pg.errmsg);
		return false;
	}
	PGresult *res = pg_exec(&s->pg, "server identity", identity_sql, 0, NULL);
	if (res == NULL)
		return false;
	snprintf(s->pid, sizeof(s->pid), "%s", PQgetvalue(res, 0, 0));
	snprintf(s->identity, sizeof(s->identity), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return true;
}

/*
 * add_limit records a limit read by one side; a limit already read by the
 * other side (same server, database or role) is the same one: both count.
 */
static void add_limit(capacity *cap, limit_kind kind, const char *key, const char *name, long limit,
                      long reserved, long in_use, bool source)
{
	conn_limit *lim = NULL;

	for (size_t i = 0; i < cap->n_limits && !lim; i++) {
		if (cap->limits[i].kind == kind && strcmp(cap->limits[i].key, key) == 0)
			lim = &cap->limits[i];
	}
	if (lim == NULL) {
		if (cap->n_limits == CAPACITY_MAX_LIMITS)
			return; /* two sessions read at most three limits each */
		lim = &cap->limits[cap->n_limits++];
		memset(lim, 0, sizeof(*lim));
	}
	lim->kind = kind;
	snprintf(lim->key, sizeof(lim->key), "%s", key);
	snprintf(lim->name, sizeof(lim->name), "%s", name);
	lim->limit = limit;
	lim->reserved = reserved;
	lim->in_use = in_use;
	if (source)
		lim->source = true;
	else
		lim->target = true;
}

/* add_named_limit records a database's or a role's CONNECTION LIMIT, when one is set. */
static void add_named_limit(capacity *cap, limit_kind kind, const check_session *s,
                            const PGresult *res, int col)
{
	char key[192];
	long limit = atol(PQgetvalue(res, 0, col + 1));

	if (limit < 0)
		return; /* -1: no limit */
	snprintf(key, sizeof(key), "%s/%s", s->identity, PQgetvalue(res, 0, col));
	add_limit(cap, kind, key, PQgetvalue(res, 0, col), limit, 0,
	          atol(PQgetvalue(res, 0, col + 2)), s->source);
}

/* read_limits reads the limits of one server, without the check sessions in excluded. */
static bool read_limits(capacity *cap, check_session *s, const char *excluded)
{
	const char *params[] = {excluded, GID_PREFIX "%", CHECK_APP};
	PGresult *res = pg_exec(&s->pg, "connection limits", limits_sql, 3, params);

	if (res == NULL)
		return false;
	add_limit(cap, LIMIT_SERVER, s->identity, "", atol(PQgetvalue(res, 0, 0)),
	          atol(PQgetvalue(res, 0, 1)), atol(PQgetvalue(res, 0, 2)), s->source);
	if (strcmp(PQgetvalue(res, 0, 3), "t") != 0) {
		add_named_limit(cap, LIMIT_DATABASE, s, res, 4);
		add_named_limit(cap, LIMIT_ROLE, s, res, 7);
	}
	if (!s->source) {
		cap->prepared_max = atol(PQgetvalue(res, 0, 10));
		cap->prepared_in_use = atol(PQgetvalue(res, 0, 11));
		cap->prepared_ours = atol(PQgetvalue(res, 0, 12));
	}
	PQclear(res);
	return true;
}

/* pid_list writes the check sessions a server sees: its own, and the other's on one server. */
static void pid_list(char *buf, size_t len, const check_session *s, const check_session *other)
{
	if (strcmp(s->identity, other->identity) == 0)
		snprintf(buf, len, "{%s,%s}", s->pid, other->pid);
	else
		snprintf(buf, len, "{%s}", s->pid);
}

/*
 * read_both reads both servers' limits. The two check sessions are open
 * at once so that, on one server, each can leave both out of its count.
 */
static bool read_both(capacity *cap, check_session *src, check_session *dst)
{
	char src_pids[48], dst_pids[48];

	pid_list(src_pids, sizeof(src_pids), src, dst);
	pid_list(dst_pids, sizeof(dst_pids), dst, src);
	return read_limits(cap, src, src_pids) && read_limits(cap, dst, dst_pids);
}

bool capacity_read(capacity *cap, const config *cfg)
{
	check_session src = {
	        .setting = "ECOLO_DATABASE_URL", .safe = cfg->source_safe, .source = true};
	check_session dst = {.setting = "DATABASE_URL", .safe = cfg->target_safe};
	bool ok;

	memset(cap, 0, sizeof(*cap));
	cap->cfg = cfg;
	ok = open_check(&src, cfg->source_conninfo) && open_check(&dst, cfg->target_conninfo) &&
	     read_both(cap, &src, &dst);
	if (!ok)
		log_error("cannot tell whether the servers allow this launch's connections: "
		          "nothing done");
	pg_disconnect(&src.pg);
	pg_disconnect(&dst.pg);
	return ok;
}

/* may_prepare: --update stages rows in temporary tables, which PREPARE TRANSACTION refuses. */
static bool may_prepare(const conn_plan *p)
{
	return !p->dry_run && !p->per_departement && !p->update;
}

/* prepared_free returns the prepared-transaction slots nobody holds on APiLos. */
static long prepared_free(const capacity *cap)
{
	return cap->prepared_max - cap->prepared_in_use;
}

/* prepared_needed: one slot per département, and the decision's marker without Redis. */
static long prepared_needed(const conn_plan *p)
{
	return (long)p->n + (p->no_redis && p->n > 1);
}

bool capacity_prepared(const capacity *cap, const conn_plan *p)
{
	return may_prepare(p) && prepared_free(cap) >= prepared_needed(p);
}

conn_need capacity_need(const capacity *cap, const conn_plan *p)
{
	conn_need need = {.prepared = capacity_prepared(cap, p)};
	bool waiters = !need.prepared && !p->per_departement && !p->dry_run;

	/* a ready worker keeps only its APiLos session (--update too), and frees its slot */
	need.waiting = waiters ? p->n - p->jobs : 0;
	need.source = p->jobs;
	/* per worker: APiLos, APiLos side; the coordinator: presence, verdict */
	need.target = p->dry_run ? p->jobs : p->jobs * 2 + need.waiting + 2;
	return need;
}

void capacity_log_prepared(const capacity *cap, const conn_plan *p)
{
	if (!may_prepare(p) || capacity_prepared(cap, p))
		return;
	if (cap->prepared_max == 0) {
		log_info("prepared transactions not used: max_prepared_transactions is 0 on the "
		         "APiLos server; ready départements keep their APiLos session until the "
		         "verdict");
		return;
	}
	log_info("prepared transactions not used: %zu département(s) need one each%s, the APiLos "
	         "server has %ld free (max_prepared_transactions %ld, %ld in use%s); ready "
	         "départements keep their APiLos session until the verdict",
	         p->n,
	         prepared_needed(p) > (long)p->n ? " and the COMMIT decision one (no Redis)" : "",
	         prepared_free(cap) > 0 ? prepared_free(cap) : 0, cap->prepared_max,
	         cap->prepared_in_use,
	         cap->prepared_ours > 0 ? ", some named " GID_PREFIX "...: those of a dead launch "
	                                  "are rolled back below, for the next launch"
	                                : "");
}

/* limit_free returns the sessions a new launch may still open under lim (may be < 0). */
static long limit_free(const conn_limit *lim)
{
	return lim->limit - lim->reserved - lim->in_use;
}

/* limit_need returns the sessions of need that count against lim. */
static size_t limit_need(const conn_limit *lim, const conn_need *need)
{
	return (lim->source ? need->source : 0) + (lim->target ? need->target : 0);
}

static bool limit_fits(const conn_limit *lim, const conn_need *need)
{
	return limit_free(lim) >= 0 && (size_t)limit_free(lim) >= limit_need(lim, need);
}

/* first_short returns the first limit plan p does not fit under, or NULL. */
static const conn_limit *first_short(const capacity *cap, const conn_plan *p)
{
	conn_need need = capacity_need(cap, p);

	for (size_t i = 0; i < cap->n_limits; i++) {
		if (!limit_fits(&cap->limits[i], &need))
			return &cap->limits[i];
	}
	return NULL;
}

/* fitting_jobs returns the most workers at once, below p's, that fit; 0 if none. */
static size_t fitting_jobs(const capacity *cap, conn_plan p)
{
	for (size_t jobs = p.jobs; jobs-- > 1;) {
		p.jobs = jobs;
		if (first_short(cap, &p) == NULL)
			return jobs;
	}
	return 0;
}

/* fitting_departements returns the most départements per launch, below p's, that fit (or 0). */
static size_t fitting_departements(const capacity *cap, conn_plan p)
{
	size_t jobs = p.jobs;

	for (size_t n = p.n; n-- > 1;) {
		p.n = n;
		p.jobs = jobs < n ? jobs : n; /* launch_jobs() on fewer départements */
		if (first_short(cap, &p) == NULL)
			return n;
	}
	return 0;
}

/* describe_where names the server (and database or role) of lim, by its masked URLs. */
static void describe_where(strbuf *sb, const capacity *cap, const conn_limit *lim)
{
	const config *cfg = cap->cfg;

	if (lim->kind != LIMIT_SERVER)
		sb_printf(sb, "%s %s on ", lim->kind == LIMIT_DATABASE ? "database" : "role",
		          lim->name);
	if (lim->source && lim->target)
		sb_printf(sb,
		          "the PostgreSQL server of both ECOLO_DATABASE_URL (%s) and DATABASE_URL "
		          "(%s)",
		          cfg->source_safe, cfg->target_safe);
	else if (lim->target)
		sb_printf(sb, "the APiLos server (DATABASE_URL %s)", cfg->target_safe);
	else
		sb_printf(sb, "the Ecoloweb server (ECOLO_DATABASE_URL %s)", cfg->source_safe);
}

/* describe_free says what is free under lim and why. */
static void describe_free(strbuf *sb, const conn_limit *lim)
{
	long left = limit_free(lim);

	sb_printf(sb, "%ld free (", left > 0 ? left : 0);
	if (lim->kind == LIMIT_SERVER)
		sb_printf(sb, "max_connections %ld", lim->limit);
	else
		sb_printf(sb, "CONNECTION LIMIT %ld", lim->limit);
	if (lim->reserved > 0)
		sb_printf(sb, ", %ld reserved for superusers", lim->reserved);
	sb_printf(sb, ", %ld session(s) in use)", lim->in_use);
}

/* describe_need says which sessions of the launch count against lim. */
static void describe_need(strbuf *sb, const conn_limit *lim, const conn_need *need,
                          const conn_plan *p)
{
	if (lim->source)
		sb_printf(sb, "Ecoloweb %zu (one per worker at once)", need->source);
	if (lim->source && lim->target)
		sb_append(sb, " + ");
	if (!lim->target)
		return;
	sb_printf(sb, "APiLos %zu (%zu worker(s) x %d", need->target, p->jobs, p->dry_run ? 1 : 2);
	if (need->waiting > 0)
		sb_printf(sb,
		          ", %zu ready département(s) holding their session until the verdict, "
		          "without prepared transactions",
		          need->waiting);
	if (!p->dry_run)
		sb_append(sb, ", 2 for the coordinator: presence and verdict");
	sb_append(sb, ")");
}

/* describe_raise says how far to raise each limit p does not fit under. */
static void describe_raise(strbuf *sb, const capacity *cap, const conn_plan *p,
                           const conn_limit *reported)
{
	conn_need need = capacity_need(cap, p);
	bool first = true;

	for (size_t i = 0; i < cap->n_limits; i++) {
		const conn_limit *lim = &cap->limits[i];
		if (limit_fits(lim, &need))
			continue;
		long wanted = lim->in_use + lim->reserved + (long)limit_need(lim, &need);
		sb_append(sb, first ? "raising " : " and ");
		first = false;
		if (lim->kind == LIMIT_SERVER)
			sb_printf(sb, "max_connections to at least %ld", wanted);
		else
			sb_printf(sb, "the CONNECTION LIMIT of %s %s to at least %ld",
			          lim->kind == LIMIT_DATABASE ? "database" : "role", lim->name,
			          wanted);
		if (lim != reported) {
			sb_append(sb, " on ");
			describe_where(sb, cap, lim);
		}
	}
}

/* suggest_commit_per_departement: that plan, with fewer workers at once when needed. */
static void suggest_commit_per_departement(strbuf *sb, const capacity *cap, const conn_plan *p,
                                           const conn_limit *lim)
{
	conn_plan q = *p;

	q.per_departement = true;
	if (p->per_departement || p->dry_run)
		return;
	if (first_short(cap, &q) != NULL)
		q.jobs = fitting_jobs(cap, q);
	if (q.jobs == 0)
		return;
	conn_need need = capacity_need(cap, &q);
	sb_append(sb, "--commit-per-departement");
	if (q.jobs != p->jobs)
		sb_printf(sb, " --jobs %zu", q.jobs);
	sb_printf(sb, " (each département commits on its own; needs %zu there), ",
	          limit_need(lim, &need));
}

/* suggest_prepared: enough prepared-transaction slots would spare the waiting sessions. */
static void suggest_prepared(strbuf *sb, const capacity *cap, const conn_plan *p,
                             const conn_limit *lim)
{
	capacity more = *cap;

	if (!may_prepare(p) || capacity_prepared(cap, p))
		return;
	more.prepared_max = cap->prepared_in_use + prepared_needed(p);
	if (first_short(&more, p) != NULL)
		return;
	conn_need need = capacity_need(&more, p);
	sb_printf(sb,
	          "raising max_prepared_transactions on the APiLos server to at least %ld "
	          "(a restart; then it needs %zu there), ",
	          more.prepared_max, limit_need(lim, &need));
}

/* suggest lists what would fit instead of plan p, ending with raising the limits. */
static void suggest(strbuf *sb, const capacity *cap, const conn_plan *p, const conn_limit *lim)
{
	size_t n = fitting_departements(cap, *p);
	size_t jobs = fitting_jobs(cap, *p);

	sb_append(sb, "What would fit: ");
	size_t before = sb->len;
	suggest_commit_per_departement(sb, cap, p, lim);
	if (n > 0)
		sb_printf(sb, "at most %zu département(s) per launch, ", n);
	if (jobs > 0)
		sb_printf(sb, "--jobs %zu, ", jobs);
	suggest_prepared(sb, cap, p, lim);
	if (sb->len > before)
		sb_append(sb, "or ");
	describe_raise(sb, cap, p, lim);
}

/* refuse logs the one error of a launch that does not fit under lim. */
static void refuse(const capacity *cap, const conn_plan *p, const conn_limit *lim)
{
	conn_need need = capacity_need(cap, p);
	strbuf sb;

	sb_init(&sb);
	sb_append(&sb, "not enough database connections on ");
	describe_where(&sb, cap, lim);
	sb_printf(&sb, ": this launch of %zu département(s) needs %zu session(s) there, ", p->n,
	          limit_need(lim, &need));
	describe_free(&sb, lim);
	sb_append(&sb, "; needed: ");
	describe_need(&sb, lim, &need, p);
	sb_append(&sb, ". Nothing done. ");
	suggest(&sb, cap, p, lim);
	log_error("%s", sb.data);
	sb_free(&sb);
}

/* log_fit logs what the launch takes under each limit, when it fits. */
static void log_fit(const capacity *cap, const conn_plan *p)
{
	conn_need need = capacity_need(cap, p);

	for (size_t i = 0; i < cap->n_limits; i++) {
		const conn_limit *lim = &cap->limits[i];
		strbuf sb;
		sb_init(&sb);
		sb_printf(&sb, "connections on ");
		describe_where(&sb, cap, lim);
		sb_printf(&sb, ": %zu needed, ", limit_need(lim, &need));
		describe_free(&sb, lim);
		sb_append(&sb, ": ");
		describe_need(&sb, lim, &need, p);
		log_info("%s", sb.data);
		sb_free(&sb);
	}
}

bool capacity_check(const capacity *cap, const conn_plan *p)
{
	const conn_limit *lim = first_short(cap, p);

	if (lim == NULL) {
		log_fit(cap, p);
		return true;
	}
	refuse(cap, p, lim);
	return false;
}
