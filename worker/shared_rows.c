/*
 * worker/shared_rows.c
 *     Bailleurs and administrations when several workers may need them at
 *     once (design.md, "Shared entities and Redis locks"): locked in Redis,
 *     created in a short transaction of the side session that commits at
 *     once, unlocked; a lock another worker holds is waited for, one a dead
 *     worker holds taken over. The unique constraint of the references
 *     stays the last guard: a round that loses a race on it is tried again.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fault_point.h"
#include "log.h"
#include "redis_client.h"
#include "redis_locks.h"
#include "stop_flag.h"
#include "writer_batch.h"

#define LOCK_TTL_MS 30000L
#define LOCK_WAIT_SECONDS 30
#define SHARED_ATTEMPTS 5

/* lock_key writes "ecoloweb:lock:<apilos_model>:<ecolo_id>" into a malloc'd string. */
static char *lock_key(const writer *w, const char *key)
{
	strbuf sb;

	sb_init(&sb);
	sb_append(&sb, REDIS_LOCK_PREFIX);
	sb_append(&sb, entity_model(w->def->ent));
	sb_append_char(&sb, ':');
	sb_append(&sb, key);
	return sb.data;
}

/*
 * create_locked creates, in one short transaction on the side connection
 * that commits at once, the rows of this round whose lock is held: they
 * outlive the département's transaction on purpose (design.md).
 */
static bool create_locked(writer *w, pgconn *conn)
{
	bool ok = pg_exec_ok(conn, "begin shared", "BEGIN", 0, NULL) &&
	          writer_allocate_ids(w, conn) && identity_match(w, conn);

	if (ok) {
		identity_dedupe(w);
		ok = writer_write_created(w, conn) && writer_write_references(w, conn) &&
		     writer_repoint_references(w, conn) &&
		     pg_exec_ok(conn, "commit shared", "COMMIT", 0, NULL);
	}
	if (!ok) {
		char state[6];
		memcpy(state, conn->sqlstate, sizeof(state));
		pg_exec_ok(conn, "rollback shared", "ROLLBACK", 0, NULL);
		memcpy(conn->sqlstate, state, sizeof(state)); /* the caller retries a lost race */
		/* the identities remembered this round point to rows that do not exist */
		for (int i = 0; i < 3; i++)
			keymap_free(&w->ctx->identity[i]);
	}
	return ok;
}

/*
 * take_over_dead takes the locks a dead worker of this machine still holds
 * (killed while it held them): otherwise they block every launch until
 * they expire.
 */
static bool take_over_dead(writer *w, char **locks, size_t n_locks, bool *held)
{
	redis_client *rc = w->ctx->redis;
	size_t before = 0, after = 0;

	for (size_t l = 0; l < n_locks; l++)
		before += held[l];
	if (before == n_locks)
		return true;
	if (!redis_lock_take_over_dead(rc, locks, n_locks, LOCK_TTL_MS, held)) {
		log_error("Redis: cannot read who holds the %s locks (%s)",
		          entity_name(w->def->ent), rc->err);
		return false;
	}
	for (size_t l = 0; l < n_locks; l++)
		after += held[l];
	if (after > before)
		log_warn("%s: %zu lock(s) held by a process that died taken over",
		         entity_name(w->def->ent), after - before);
	return true;
}

/*
 * shared_round: one attempt over the unresolved rows. decide() reads the
 * committed references; the rows to create are locked in Redis, created
 * and committed, then unlocked. Rows whose lock another worker holds stay
 * unresolved for the next round.
 */
static bool shared_round(writer *w, pgconn *conn, char **keys, action *final, bool *resolved,
                         size_t *waiting)
{
	redis_client *rc = w->ctx->redis;
	char **locks = calloc(w->n + 1, sizeof(char *));
	bool *held = calloc(w->n + 1, sizeof(bool));
	int *lock_of = calloc(w->n + 1, sizeof(int));
	char *dead[1];
	size_t n_dead = 0, n_locks = 0;
	bool ok;

	if (!locks || !held || !lock_of)
		abort();
	ok = writer_decide(w, conn, keys, dead, &n_dead);
	for (size_t i = 0; ok && i < w->n; i++) {
		lock_of[i] = -1;
		if (resolved[i])
			w->rows[i].act = A_SKIP; /* done in an earlier round: left alone */
		else if (w->rows[i].act == A_CREATE) {
			lock_of[i] = (int)n_locks;
			locks[n_locks++] = lock_key(w, keys[i]);
		}
	}
	if (ok && rc == NULL) {
		for (size_t l = 0; l < n_locks; l++)
			held[l] = true; /* one worker at a time: nobody to wait for */
	} else if (ok && n_locks > 0 && !redis_lock_many(rc, locks, n_locks, LOCK_TTL_MS, held)) {
		log_error("Redis: cannot lock the %s references (%s): the département cannot share "
		          "them "
		          "safely",
		          entity_name(w->def->ent), rc->err);
		ok = false;
	} else if (ok && n_locks > 0) {
		ok = take_over_dead(w, locks, n_locks, held);
	}
	if (ok && rc && n_locks > 0)
		fault_point("lock");
	/* the winner looks again: another worker may have committed the row meanwhile */
	ok = ok && writer_decide(w, conn, keys, dead, &n_dead);
	*waiting = 0;
	for (size_t i = 0; ok && i < w->n; i++) {
		if (resolved[i])
			w->rows[i].act = A_SKIP;
		else if (w->rows[i].act == A_CREATE && (lock_of[i] < 0 || !held[lock_of[i]])) {
			w->rows[i].act =
			        A_NULL; /* another worker holds it: look again next round */
			(*waiting)++;
		}
	}
	free(lock_of);
	ok = ok && create_locked(w, conn);
	for (size_t i = 0; ok && i < w->n; i++) {
		if (!resolved[i] && w->rows[i].act != A_NULL) {
			resolved[i] = true;
			final[i] = w->rows[i].act;
		}
	}
	size_t n_held = 0;
	for (size_t l = 0; l < n_locks; l++) {
		if (held[l])
			locks[n_held++] = locks[l];
		else
			free(locks[l]);
	}
	if (n_held && rc && rc->ctx && !redis_unlock_many(rc, locks, n_held))
		log_warn("Redis: cannot release %zu lock(s): they expire in %ld s", n_held,
		         LOCK_TTL_MS / 1000);
	for (size_t l = 0; l < n_held; l++)
		free(locks[l]);
	free(locks);
	free(held);
	return ok;
}

/* lost_race tells whether the side transaction failed because another worker won a race. */
static bool lost_race(const pgconn *conn)
{
	return strcmp(conn->sqlstate, "23505") == 0 || strcmp(conn->sqlstate, "40P01") == 0;
}

/*
 * shared_rows_flush writes a batch of bailleurs or administrations when several
 * workers may need them at once (design.md, "Shared entities and Redis
 * locks"). The unique constraint of the references stays the last guard:
 * a round that loses a race on it is rolled back and tried again.
 */
bool shared_rows_flush(writer *w, char **keys)
{
	action *final = calloc(w->n + 1, sizeof(action));
	bool *resolved = calloc(w->n + 1, sizeof(bool));
	time_t deadline = time(NULL) + LOCK_WAIT_SECONDS;
	bool ok = true;
	int attempts = 0;

	pgconn *conn = w->ctx->side;

	if (!final || !resolved)
		abort();
	/* a lost race on a unique constraint, or two workers inserting the same SIRENs in another
	 * order */
	conn->expected = "23505 40P01";
	for (;;) {
		size_t waiting = 0;
		ok = shared_round(w, conn, keys, final, resolved, &waiting);
		if (!ok && lost_race(conn) && ++attempts < SHARED_ATTEMPTS) {
			log_warn("%s: another worker created the same row first (SQLSTATE %s): "
			         "trying again",
			         entity_name(w->def->ent), conn->sqlstate);
			continue;
		}
		if (!ok || waiting == 0)
			break;
		if (time(NULL) > deadline || worker_stop_requested) {
			log_error("waited more than %d s for %zu %s lock(s) held by another worker",
			          LOCK_WAIT_SECONDS, waiting, entity_name(w->def->ent));
			ok = false;
			break;
		}
		struct timespec pause = {0, 100 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	for (size_t i = 0; ok && i < w->n; i++)
		w->rows[i].act = final[i];
	if (!ok && lost_race(conn))
		log_error("%s: still losing the race to another worker after %d attempts",
		          entity_name(w->def->ent), SHARED_ATTEMPTS);
	conn->expected = NULL;
	free(final);
	free(resolved);
	return ok;
}
