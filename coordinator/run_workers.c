/*
 * coordinator/run_workers.c
 *     The workers of the coordinator's loop: forked at most `jobs` at once,
 *     each followed through its status pipe and a child watcher, its frames
 *     applied to its département, and its end recorded.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exitcodes.h"
#include "pg_async.h"
#include "run_loop.h"
#include "worker.h"

/* READS_PER_TURN bounds one worker's turn, so that a chatty one cannot starve the others. */
#define READS_PER_TURN 8

/* on_ready: the worker wrote everything and waits (or prepared and left). */
void on_ready(loop_state *st, dep_run *d)
{
	d->state = DEP_READY;
	start_workers(st->loop, st); /* a READY worker no longer takes a slot */
	if (st->l->opts->commit_per_departement)
		send_to(st->l, d, st->l->interrupted ? MSG_ABORT : MSG_COMMIT);
	else
		check_verdict(st);
}

/* on_done records the worker's final report. */
static void on_done(loop_state *st, dep_run *d, const message *msg)
{
	char text[64];

	d->got_done = true;
	memcpy(d->counts, msg->counts, sizeof(d->counts));
	switch ((done_status)msg->status) {
	case DONE_PREPARED:
		d->prepared = true;
		on_ready(st, d);
		return;
	case DONE_COMMITTED:
		d->state = DEP_COMMITTED;
		break;
	case DONE_ROLLED_BACK:
		d->state = (st->l->opts->dry_run || st->l->opts->verify) && !st->l->aborting
		                   ? DEP_CHECKED
		                   : DEP_ROLLED_BACK;
		break;
	case DONE_FAILED:
		fail_dep(st, d);
		break;
	}
	snprintf(text, sizeof(text), "département %s", dep_state_name(d->state));
	print_event(st->l, d->state == DEP_FAILED ? LOG_ERROR : LOG_INFO, state_event(d->state),
	            d->code, text, NULL);
}

/* handle_message applies one frame of a worker. */
static void handle_message(loop_state *st, dep_run *d, const message *msg)
{
	char text[PROTO_MAX_TEXT + 64];

	switch (msg->type) {
	case MSG_HELLO:
		snprintf(text, sizeof(text), "worker started (pid %d)", (int)msg->pid);
		print_event(st->l, LOG_INFO, LOGEV_START, d->code, text, NULL);
		break;
	case MSG_PLAN:
		memcpy(d->planned, msg->counts, sizeof(d->planned));
		break;
	case MSG_PROGRESS:
		memcpy(d->counts, msg->counts, sizeof(d->counts));
		snprintf(d->phase, sizeof(d->phase), "%s", msg->phase);
		/* timed here: the worker sends it as it sends the query */
		d->wait_since = msg->waiting ? mono_s() : 0;
		break;
	case MSG_LOG:
		print_event(st->l, (log_level)msg->level, (log_event)msg->event, d->code, msg->text,
		            NULL);
		break;
	case MSG_STATS:
		d->stats = msg->stats;
		d->got_stats = true;
		break;
	case MSG_ERROR:
		snprintf(d->last_error, sizeof(d->last_error), "%.200s%s%s", msg->text,
		         msg->sqlstate[0] ? " SQLSTATE " : "", msg->sqlstate);
		print_line(st->l, LOG_ERROR, d->code, d->last_error);
		break;
	case MSG_READY:
		memcpy(d->counts, msg->counts, sizeof(d->counts));
		if (!st->l->prepared)
			on_ready(st, d);
		break;
	case MSG_DONE:
		on_done(st, d, msg);
		break;
	default:
		print_line(st->l, LOG_WARN, d->code, "unexpected message from the worker");
	}
}

/* told_commit tells whether d, without a prepared transaction, was sent COMMIT. */
static bool told_commit(const launch *l, const dep_run *d)
{
	return l->verdict_done && !l->prepared && d->verdict_sent && !l->aborting;
}

/* worker_gone ends the bookkeeping of a worker once its pipe closed and it exited. */
static void worker_gone(struct ev_loop *loop, loop_state *st, dep_run *d)
{
	if (d->status_fd >= 0 || d->exit_status < 0)
		return; /* wait for both the EOF and the exit status */
	d->ended = now_s();
	if (d->control_fd >= 0)
		close(d->control_fd);
	d->control_fd = -1;
	st->running--;
	/* a worker killed during its PREPARE TRANSACTION: the server may still finish it */
	if (st->l->prepared && !d->got_done)
		vq_push(st->vq, VQ_REAP, d->code, d->gid, d);
	/* once its verdict is under way, a prepared transaction is the coordinator's business */
	bool verdict_under_way = d->prepared && (d->verdict_sent || st->deciding);
	if ((!d->got_done || d->exit_status != 0) && d->state != DEP_FAILED &&
	    d->state != DEP_ROLLED_BACK && d->state != DEP_COMMITTED && !verdict_under_way) {
		snprintf(d->last_error, sizeof(d->last_error),
		         d->got_done             ? "worker exited with status %d"
		         : told_commit(st->l, d) ? "worker died (status %d) after it was told to "
		                                   "commit: its COMMIT may have gone through"
		                                 : "worker died (status %d) before "
		                                   "reporting: nothing committed",
		         d->exit_status);
		print_line(st->l, LOG_ERROR, d->code, d->last_error);
		fail_dep(st, d);
	}
	start_workers(loop, st);
}

/* on_frame hands one frame of a worker to handle_message. */
static void on_frame(void *ctx, const message *msg)
{
	watch *w = ctx;

	handle_message(w->st, w->d, msg);
}

/*
 * on_status reads what a worker wrote, in turns: libev calls again while
 * the pipe holds more. EOF (or a read error) means the worker is gone.
 */
static void on_status(struct ev_loop *loop, ev_io *io, int revents)
{
	watch *w = (watch *)io;
	dep_run *d = w->d;

	(void)revents;
	proto_read_status r = proto_read(&d->decoder, d->status_fd, READS_PER_TURN, on_frame, w);
	if (r == PROTO_READ_AGAIN)
		return;
	if (r == PROTO_READ_MALFORMED) {
		print_line(w->st->l, LOG_ERROR, d->code,
		           "malformed message from the worker: stopping it");
		kill(d->pid, SIGKILL);
	}
	ev_io_stop(loop, io);
	close(d->status_fd);
	d->status_fd = -1;
	worker_gone(loop, w->st, d);
}

/* on_child records a worker's exit status (libev reaps it). */
static void on_child(struct ev_loop *loop, ev_child *c, int revents)
{
	watch *w = (watch *)((char *)c - offsetof(watch, child));
	dep_run *d = w->d;

	(void)revents;
	ev_child_stop(loop, c);
	if (WIFEXITED(c->rstatus))
		d->exit_status = WEXITSTATUS(c->rstatus);
	else
		d->exit_status = 128 + WTERMSIG(c->rstatus);
	worker_gone(loop, w->st, d);
}

/* child_main runs in the forked child and never returns to the coordinator's code. */
static void child_main(loop_state *st, dep_run *d, int status_fd, int control_fd)
{
	launch *l = st->l;
	worker_args args = {.opts = l->opts,
	                    .cfg = l->cfg,
	                    .departement = d->code,
	                    .run_date = l->run_date,
	                    .launch_id = l->launch_id,
	                    .gid = l->prepared ? d->gid : NULL,
	                    .use_redis = l->use_redis,
	                    .use_side = !l->opts->dry_run && !l->opts->verify};

	/* earlier workers' pipe ends stay with the coordinator, or their EOF never comes */
	for (size_t i = 0; i < l->n; i++) {
		if (&l->deps[i] != d && l->deps[i].status_fd >= 0)
			close(l->deps[i].status_fd);
		if (&l->deps[i] != d && l->deps[i].control_fd >= 0)
			close(l->deps[i].control_fd);
	}
	/* the coordinator's connections are its own: the child drops its copies of their
	 * sockets, without a word to the servers (they stay open in the parent) */
	redis_loop_forget(st->rl);
	pg_async_forget_all();
	if (l->dashboard) {
		/* the worker never writes to the terminal: keep curses' state with the coordinator
		 */
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			close(null);
		}
	}
	_exit(worker_main(&args, status_fd, control_fd));
}

/* spawn forks the worker of d, wired by two pipes. False if the system refuses. */
static bool spawn(loop_state *st, dep_run *d)
{
	int up[2], down[2];

	if (pipe(up) != 0)
		return false;
	if (pipe(down) != 0) {
		close(up[0]);
		close(up[1]);
		return false;
	}
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(up[0]), close(up[1]), close(down[0]), close(down[1]);
		return false;
	}
	if (pid == 0) {
		/*
		 * A worker dies with its coordinator (kill -9, OOM killer): SIGTERM
		 * makes it roll back. A coordinator dead before the prctl would never
		 * send it: getppid() then names another process.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(EXIT_CODE_IMPORT_FAILED);
		close(up[0]);
		close(down[1]);
		child_main(st, d, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	fcntl(up[0], F_SETFL, fcntl(up[0], F_GETFL) | O_NONBLOCK);
	d->pid = pid;
	d->status_fd = up[0];
	d->control_fd = down[1];
	return true;
}

/* start_one starts the worker of d with its watchers. */
static void start_one(struct ev_loop *loop, loop_state *st, watch *w)
{
	dep_run *d = w->d;

	proto_decoder_init(&d->decoder);
	d->started = now_s();
	if (!spawn(st, d)) {
		snprintf(d->last_error, sizeof(d->last_error), "cannot start a worker: %s",
		         strerror(errno));
		print_line(st->l, LOG_ERROR, d->code, d->last_error);
		d->ended = d->started;
		fail_dep(st, d);
		return;
	}
	d->state = DEP_RUNNING;
	st->running++;
	w->st = st;
	ev_io_init(&w->io, on_status, d->status_fd, EV_READ);
	ev_io_start(loop, &w->io);
	/* ev(3): start the child watcher right after fork, in the default loop */
	ev_child_init(&w->child, on_child, d->pid, 0);
	ev_child_start(loop, &w->child);
}

/* importing counts the workers still importing (READY ones only wait). */
static size_t importing(const launch *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += l->deps[i].state == DEP_RUNNING;
	return n;
}

/* start_workers fills the free slots, or ends the loop when everything is over. */
void start_workers(struct ev_loop *loop, loop_state *st)
{
	launch *l = st->l;

	while (!l->aborting && st->next < l->n && importing(l) < l->jobs)
		start_one(loop, st, &st->w[st->next++]);
	maybe_end(st);
}
