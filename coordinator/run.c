/*
 * coordinator/run.c
 *     The coordinator's libev loop. For now the départements run one after
 *     another (one worker at a time); each worker's transaction is
 *     committed when it reports READY, unless the launch was interrupted.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "exitcodes.h"
#include "log.h"
#include "run.h"
#include "worker.h"

#define HEARTBEAT_SECONDS 10.0

typedef struct loop_state {
	launch *l;
	size_t next;     /* next département to start */
	dep_run *current; /* running département, or NULL */
	ev_io io;
	ev_child child;
	ev_signal sigint, sigterm;
	ev_timer heartbeat;
} loop_state;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *dep_state_name(dep_state s)
{
	static const char *const names[] = {"pending",   "running",  "ready",  "committed",
	                                    "checked",   "rolled back", "failed"};
	return s <= DEP_FAILED ? names[s] : "?";
}

void launch_init(launch *l, const options *opts, const config *cfg)
{
	time_t t = time(NULL);
	struct tm tm;

	memset(l, 0, sizeof(*l));
	l->opts = opts;
	l->cfg = cfg;
	localtime_r(&t, &tm);
	strftime(l->run_date, sizeof(l->run_date), "%Y-%m-%d", &tm);
	snprintf(l->launch_id, sizeof(l->launch_id), "%ld-%d", (long)t, (int)getpid());
	l->n = opts->n_departements;
	l->deps = calloc(l->n + 1, sizeof(dep_run));
	if (!l->deps)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		snprintf(l->deps[i].code, sizeof(l->deps[i].code), "%s", opts->departements[i]);
		l->deps[i].exit_status = -1;
		l->deps[i].status_fd = l->deps[i].control_fd = -1;
	}
}

void launch_free(launch *l)
{
	free(l->deps);
	l->deps = NULL;
}

/* print_line writes one plain log line for a département. */
static void print_line(log_level level, const char *dep, const char *text)
{
	char line[4096];

	if (level < log_get_level())
		return;
	log_format_line(line, sizeof(line) - 2, level, dep, text);
	strcat(line, "\n");
	fputs(line, stderr);
	fflush(stderr);
}

/* progress_text summarises a département's counters in one line. */
static void progress_text(const dep_run *d, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "%s:", d->phase[0] ? d->phase : dep_state_name(d->state));

	for (int e = 0; e < ENT_COUNT && off < len; e++) {
		const entity_counts *c = &d->counts[e];
		if (c->read || c->created || c->skipped)
			off += (size_t)snprintf(buf + off, len - off, " %s %u/%u", entity_name(e),
			                        c->created + c->matched + c->updated, c->read);
	}
}

static void start_next(struct ev_loop *loop, loop_state *st);

/* finish_current ends the bookkeeping of a worker whose pipe closed and who exited. */
static void finish_current(struct ev_loop *loop, loop_state *st)
{
	dep_run *d = st->current;

	if (d->status_fd >= 0 || d->exit_status < 0)
		return; /* wait for both the EOF and the exit */
	d->ended = now_s();
	if (!d->got_done || d->exit_status != 0) {
		if (d->state != DEP_ROLLED_BACK)
			d->state = DEP_FAILED;
		if (!d->got_done)
			print_line(LOG_ERROR, d->code, "worker died before reporting: nothing committed");
	}
	if (d->control_fd >= 0)
		close(d->control_fd);
	d->control_fd = -1;
	st->current = NULL;
	start_next(loop, st);
}

/* send_verdict answers READY: COMMIT unless the launch is being stopped. */
static void send_verdict(loop_state *st, dep_run *d)
{
	message verdict = {.type = st->l->interrupted ? MSG_ABORT : MSG_COMMIT};

	d->state = DEP_READY;
	if (!proto_send(d->control_fd, &verdict))
		print_line(LOG_ERROR, d->code, "cannot send the verdict to the worker");
}

/* handle_message applies one frame of the running worker. */
static void handle_message(loop_state *st, dep_run *d, const message *msg)
{
	char text[PROTO_MAX_TEXT + 64];

	switch (msg->type) {
	case MSG_HELLO:
		snprintf(text, sizeof(text), "worker started (pid %d)", (int)msg->pid);
		print_line(LOG_INFO, d->code, text);
		break;
	case MSG_PLAN:
	case MSG_PROGRESS:
		memcpy(d->counts, msg->counts, sizeof(d->counts));
		snprintf(d->phase, sizeof(d->phase), "%s", msg->phase);
		break;
	case MSG_LOG:
		print_line((log_level)msg->level, d->code, msg->text);
		break;
	case MSG_ERROR:
		snprintf(d->last_error, sizeof(d->last_error), "%.200s%s%s", msg->text,
		         msg->sqlstate[0] ? " SQLSTATE " : "", msg->sqlstate);
		print_line(LOG_ERROR, d->code, d->last_error);
		break;
	case MSG_READY:
		memcpy(d->counts, msg->counts, sizeof(d->counts));
		send_verdict(st, d);
		break;
	case MSG_DONE:
		d->got_done = true;
		memcpy(d->counts, msg->counts, sizeof(d->counts));
		d->state = msg->status == DONE_COMMITTED      ? DEP_COMMITTED
		           : msg->status == DONE_ROLLED_BACK ? (st->l->opts->dry_run ? DEP_CHECKED
		                                                                   : DEP_ROLLED_BACK)
		                                             : DEP_FAILED;
		snprintf(text, sizeof(text), "département %s", dep_state_name(d->state));
		print_line(d->state == DEP_FAILED ? LOG_ERROR : LOG_INFO, d->code, text);
		break;
	default:
		print_line(LOG_WARN, d->code, "unexpected message from the worker");
	}
}

/* on_status reads what the worker wrote; EOF means it is gone. */
static void on_status(struct ev_loop *loop, ev_io *w, int revents)
{
	loop_state *st = w->data;
	dep_run *d = st->current;
	uint8_t buf[8192];
	message msg;

	(void)revents;
	ssize_t n = read(d->status_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0 && proto_feed(&d->decoder, buf, (size_t)n)) {
		int got;
		while ((got = proto_next(&d->decoder, &msg)) == 1)
			handle_message(st, d, &msg);
		if (got == 0)
			return;
		print_line(LOG_ERROR, d->code, "malformed message from the worker: stopping it");
		kill(d->pid, SIGTERM);
	}
	ev_io_stop(loop, w);
	close(d->status_fd);
	d->status_fd = -1;
	finish_current(loop, st);
}

/* on_child records the worker's exit status (libev reaps it). */
static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	loop_state *st = w->data;
	dep_run *d = st->current;

	(void)revents;
	ev_child_stop(loop, w);
	if (WIFEXITED(w->rstatus))
		d->exit_status = WEXITSTATUS(w->rstatus);
	else {
		char text[64];
		d->exit_status = 128 + WTERMSIG(w->rstatus);
		snprintf(text, sizeof(text), "worker killed by signal %d", WTERMSIG(w->rstatus));
		print_line(LOG_ERROR, d->code, text);
	}
	finish_current(loop, st);
}

/* child_main runs in the forked child: it never returns to the coordinator's code. */
static void child_main(launch *l, dep_run *d, int status_fd, int control_fd)
{
	worker_args args = {.opts = l->opts,
	                    .cfg = l->cfg,
	                    .departement = d->code,
	                    .run_date = l->run_date,
	                    .launch_id = l->launch_id};

	_exit(worker_main(&args, status_fd, control_fd));
}

/* spawn forks the worker of d, wired by two pipes. False if the system refuses. */
static bool spawn(launch *l, dep_run *d)
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
	pid_t pid = fork();
	if (pid < 0) {
		close(up[0]), close(up[1]), close(down[0]), close(down[1]);
		return false;
	}
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		child_main(l, d, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	fcntl(up[0], F_SETFL, fcntl(up[0], F_GETFL) | O_NONBLOCK);
	fcntl(up[0], F_SETFD, FD_CLOEXEC);
	fcntl(down[1], F_SETFD, FD_CLOEXEC);
	d->pid = pid;
	d->status_fd = up[0];
	d->control_fd = down[1];
	return true;
}

/* start_next starts the next pending département, or ends the loop. */
static void start_next(struct ev_loop *loop, loop_state *st)
{
	launch *l = st->l;

	if (l->interrupted || st->next >= l->n) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	dep_run *d = &l->deps[st->next++];
	proto_decoder_init(&d->decoder);
	d->started = now_s();
	if (!spawn(l, d)) {
		d->state = DEP_FAILED;
		snprintf(d->last_error, sizeof(d->last_error), "cannot start a worker: %s",
		         strerror(errno));
		print_line(LOG_ERROR, d->code, d->last_error);
		start_next(loop, st);
		return;
	}
	d->state = DEP_RUNNING;
	st->current = d;
	ev_io_init(&st->io, on_status, d->status_fd, EV_READ);
	st->io.data = st;
	ev_io_start(loop, &st->io);
	ev_child_init(&st->child, on_child, d->pid, 0);
	st->child.data = st;
	ev_child_start(loop, &st->child);
}

/*
 * on_signal: SIGINT/SIGTERM stop the launch. The running worker gets
 * SIGTERM (its session ends, the server rolls its transaction back) and no
 * other département starts.
 */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	loop_state *st = w->data;

	(void)loop;
	(void)revents;
	if (!st->l->interrupted)
		print_line(LOG_WARN, "-", w->signum == SIGINT ? "interrupted (SIGINT): rolling back"
		                                              : "terminated (SIGTERM): rolling back");
	st->l->interrupted = w->signum;
	if (st->current && st->current->pid > 0 && st->current->state != DEP_COMMITTED)
		kill(st->current->pid, SIGTERM);
}

/* on_heartbeat prints where the running département is, even when nothing moves. */
static void on_heartbeat(struct ev_loop *loop, ev_timer *w, int revents)
{
	loop_state *st = w->data;
	char text[1024];

	(void)loop;
	(void)revents;
	if (st->current == NULL)
		return;
	progress_text(st->current, text, sizeof(text));
	print_line(LOG_INFO, st->current->code, text);
}

/* launch_status turns the départements' outcome into the exit status. */
static int launch_status(const launch *l)
{
	if (l->interrupted == SIGINT)
		return EXIT_CODE_SIGINT;
	if (l->interrupted)
		return EXIT_CODE_SIGTERM;
	for (size_t i = 0; i < l->n; i++) {
		if (l->deps[i].state != DEP_COMMITTED && l->deps[i].state != DEP_CHECKED)
			return EXIT_CODE_IMPORT_FAILED;
	}
	return EXIT_CODE_OK;
}

int launch_run(launch *l)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	loop_state st = {.l = l};

	if (!loop) {
		log_error("cannot start the event loop (libev)");
		return EXIT_CODE_IMPORT_FAILED;
	}
	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&st.sigint, on_signal, SIGINT);
	ev_signal_init(&st.sigterm, on_signal, SIGTERM);
	st.sigint.data = st.sigterm.data = &st;
	ev_signal_start(loop, &st.sigint);
	ev_signal_start(loop, &st.sigterm);
	ev_timer_init(&st.heartbeat, on_heartbeat, HEARTBEAT_SECONDS, HEARTBEAT_SECONDS);
	st.heartbeat.data = &st;
	ev_timer_start(loop, &st.heartbeat);

	start_next(loop, &st);
	ev_run(loop, 0);

	ev_timer_stop(loop, &st.heartbeat);
	ev_signal_stop(loop, &st.sigint);
	ev_signal_stop(loop, &st.sigterm);
	ev_loop_destroy(loop);
	return launch_status(l);
}
