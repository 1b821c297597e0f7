/*
 * coordinator/purge_run.c
 *     --purge: fork the purge, renew the leases while it works, pass
 *     SIGINT/SIGTERM on as SIGTERM (the purge then rolls back: its
 *     transaction dies with it), and turn its end into the exit status.
 */
#include "purge_run.h"

#include <ev.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exitcodes.h"
#include "lease_renewal.h"
#include "log.h"
#include "purge.h"
#include "redis_loop.h"

#define PURGE_TICK_SECONDS 1.0
#define PURGE_RENEW_SECONDS 15.0 /* a quarter of LEASE_TTL_MS */

typedef struct purge_loop {
	launch *l;
	pid_t pid;
	int child_status; /* the child's exit status, or 128 + the signal that killed it */
	bool lease_lost;
	redis_loop *rl;
	leases_renewal *renewal;
	double last_renew, renew_s;
	ev_child child;
	ev_signal sigint, sigterm;
	ev_timer tick;
} purge_loop;

/* purge_child runs in the forked child: default signals but SIGINT (the coordinator decides). */
static void purge_child(const launch *l, pid_t parent)
{
	sigset_t none;

	/* it dies with its coordinator (kill -9, OOM killer), and its transaction with it */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(EXIT_CODE_IMPORT_FAILED);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	_exit(purge_main(l->opts, l->cfg));
}

static void on_child(struct ev_loop *loop, ev_child *c, int revents)
{
	purge_loop *pl = c->data;

	(void)revents;
	pl->child_status =
	        WIFEXITED(c->rstatus) ? WEXITSTATUS(c->rstatus) : 128 + WTERMSIG(c->rstatus);
	if (!WIFEXITED(c->rstatus) && WTERMSIG(c->rstatus) != SIGTERM)
		log_error("the purge process was killed by signal %d: nothing deleted",
		          WTERMSIG(c->rstatus));
	ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	purge_loop *pl = w->data;

	(void)loop;
	(void)revents;
	if (!pl->l->interrupted)
		log_warn("%s received: stopping the purge, which rolls back",
		         w->signum == SIGINT ? "SIGINT" : "SIGTERM");
	pl->l->interrupted = w->signum;
	kill(pl->pid, SIGTERM);
}

/* leases_renewed: a lease another launch took stops the purge. */
static void leases_renewed(void *ctx, lease_status status, const char *lost)
{
	purge_loop *pl = ctx;

	pl->renewal = NULL;
	if (status != LEASES_LOST || pl->lease_lost)
		return;
	log_error("[%s] lease lost to another launch: stopping the purge, which rolls back", lost);
	pl->lease_lost = true;
	kill(pl->pid, SIGTERM);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	purge_loop *pl = w->data;
	double now = now_s();

	(void)loop;
	(void)revents;
	if (pl->rl && !pl->renewal && now - pl->last_renew >= pl->renew_s) {
		pl->last_renew = now;
		pl->renewal = leases_renew_start(pl->rl, pl->l, leases_renewed, pl);
	}
}

/* watch starts the child, signal and timer watchers. */
static void watch(struct ev_loop *loop, purge_loop *pl)
{
	ev_child_init(&pl->child, on_child, pl->pid, 0);
	ev_signal_init(&pl->sigint, on_signal, SIGINT);
	ev_signal_init(&pl->sigterm, on_signal, SIGTERM);
	ev_timer_init(&pl->tick, on_tick, PURGE_TICK_SECONDS, PURGE_TICK_SECONDS);
	pl->child.data = pl->sigint.data = pl->sigterm.data = pl->tick.data = pl;
	ev_child_start(loop, &pl->child);
	ev_signal_start(loop, &pl->sigint);
	ev_signal_start(loop, &pl->sigterm);
	ev_timer_start(loop, &pl->tick);
}

/* purge_status turns how the child ended into the launch's exit status. */
static int purge_status(const purge_loop *pl)
{
	if (pl->child_status == EXIT_CODE_OK) {
		if (pl->l->interrupted)
			log_warn("the signal came after the purge's COMMIT: the purge is committed "
			         "(exit status 0)");
		return EXIT_CODE_OK;
	}
	if (pl->lease_lost)
		return EXIT_CODE_IMPORT_FAILED;
	if (pl->l->interrupted == SIGINT)
		return EXIT_CODE_SIGINT;
	if (pl->l->interrupted)
		return EXIT_CODE_SIGTERM;
	return EXIT_CODE_IMPORT_FAILED;
}

int purge_run(launch *l)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	purge_loop pl = {.l = l, .last_renew = now_s(), .renew_s = PURGE_RENEW_SECONDS};
	const char *test_renew = getenv("ECOLO_TEST_RENEW_SECONDS");

	if (!loop) {
		log_error("cannot start the event loop (libev)");
		return EXIT_CODE_IMPORT_FAILED;
	}
	if (test_renew && *test_renew)
		pl.renew_s = atof(test_renew);
	signal(SIGPIPE, SIG_IGN);
	fflush(NULL);
	pid_t parent = getpid();
	pl.pid = fork();
	if (pl.pid < 0) {
		log_error("cannot start the purge process: fork failed");
		return EXIT_CODE_IMPORT_FAILED;
	}
	if (pl.pid == 0)
		purge_child(l, parent);
	if (l->redis) {
		/* the loop renews the leases on its own connection, which never blocks it */
		pl.rl = redis_loop_new(loop, &l->cfg->redis, ((redis_client *)l->redis)->token);
		redis_client_close(l->redis);
	}
	watch(loop, &pl);
	ev_run(loop, 0);
	ev_child_stop(loop, &pl.child);
	ev_signal_stop(loop, &pl.sigint);
	ev_signal_stop(loop, &pl.sigterm);
	ev_timer_stop(loop, &pl.tick);
	leases_renew_abandon(pl.renewal);
	redis_loop_free(pl.rl);
	ev_loop_destroy(loop);
	return purge_status(&pl);
}
