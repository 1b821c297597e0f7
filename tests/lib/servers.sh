# shellcheck shell=bash
#
# tests/lib/servers.sh
#     Throwaway PostgreSQL 15 and Redis 7 servers for the integration tests,
#     the demo and the benchmarks, as PostgreSQL's TAP tests and hiredis'
#     test.sh do: a mktemp -d directory, free ports on 127.0.0.1, a trap
#     that stops everything and removes the directory, even on failure.
#
#     Sourced (bash), never run. Public functions:
#
#       servers_start [NAME=VALUE ...]   start both servers; each argument is
#                                        an extra postgresql.conf setting, e.g.
#                                        shared_preload_libraries=pg_stat_statements
#       servers_stop                     stop both, remove the directory (idempotent)
#       servers_stop_redis [SIGNAL]      stop Redis alone (default TERM; KILL to
#                                        simulate a crash); the port is kept
#       servers_start_redis              (re)start Redis on the same port
#       servers_stop_pg                  stop PostgreSQL alone (fast shutdown); the
#                                        port and the data directory are kept
#       servers_start_pg [NAME=VALUE ...] (re)start PostgreSQL on the same port;
#                                        settings given replace servers_start's
#       servers_start_standby [NAME=VALUE ...]
#                                        a hot standby of the test PostgreSQL
#                                        (pg_basebackup -R, streaming), started
#                                        on a free port exported as
#                                        TEST_STANDBY_PORT; each argument is a
#                                        postgresql.conf setting of the standby
#       servers_url DBNAME               postgresql://postgres@127.0.0.1:PORT/DBNAME
#       servers_redis_url [DB]           redis://127.0.0.1:PORT/DB (DB 0 by default)
#       servers_at_exit COMMAND...       one more command to run at exit, before
#                                        the servers stop (temporary files, ...)
#
#     After servers_start: PGHOST=127.0.0.1, PGPORT, PGUSER=postgres,
#     TEST_PG_PORT, TEST_REDIS_PORT and TEST_SERVERS_DIR are exported.
#
#     Settings read: PG_BINDIR (directory of initdb/pg_ctl, found when unset),
#     SERVERS_TIMEOUT (seconds to wait for each server, 60 by default),
#     SERVERS_KEEP=1 (leave the directory, with the logs, for a post-mortem).
#
#     initdb refuses to run as root: as root, PostgreSQL runs as the system
#     user "postgres" (created by Debian's postgresql-common), which gets the
#     directory; Redis runs as the caller.

_servers_dir=
_servers_pg_user=
_servers_trap_set=
_servers_exit_hooks=()
_servers_watchdog_pid=

# _servers_log prints a message about the servers on stderr.
_servers_log() {
	printf 'servers: %s\n' "$*" >&2
}

# _servers_find_pg_bindir prints the directory holding PostgreSQL 15's
# initdb and pg_ctl: $PG_BINDIR, Debian's /usr/lib/postgresql/15/bin,
# `pg_config --bindir`, then the newest /usr/lib/postgresql/*/bin.
_servers_find_pg_bindir() {
	local d
	for d in "${PG_BINDIR:-}" /usr/lib/postgresql/15/bin \
		"$(pg_config --bindir 2>/dev/null || true)"; do
		if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			printf '%s\n' "$d"
			return 0
		fi
	done
	for d in $(find /usr/lib/postgresql -maxdepth 1 -mindepth 1 -type d 2>/dev/null |
		sort -t/ -k5,5nr); do
		if [ -x "$d/bin/initdb" ] && [ -x "$d/bin/pg_ctl" ]; then
			printf '%s\n' "$d/bin"
			return 0
		fi
	done
	return 1
}

# _servers_free_ports N prints N distinct TCP ports that are free on
# 127.0.0.1 right now, one per line. With python3 the kernel picks them
# (bind to port 0, all sockets held open together so they differ);
# otherwise random ports nobody answers on. A port may still be taken
# before the server binds it: the start functions retry with new ports.
_servers_free_ports() {
	local n=$1 p tries=0 found=()
	if command -v python3 >/dev/null 2>&1 &&
		python3 - "$n" <<-'EOF' 2>/dev/null; then
		import socket, sys
		socks = []
		for _ in range(int(sys.argv[1])):
		    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		    s.bind(("127.0.0.1", 0))
		    socks.append(s)
		for s in socks:
		    print(s.getsockname()[1])
		EOF
		return 0
	fi
	while [ "${#found[@]}" -lt "$n" ]; do
		tries=$((tries + 1))
		[ "$tries" -le 500 ] || return 1
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		case " ${found[*]} " in *" $p "*) continue ;; esac
		# connection refused (nothing listening): the port is free
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			found+=("$p")
		fi
	done
	printf '%s\n' "${found[@]}"
}

# _servers_as_pg runs a command as the user that owns the PostgreSQL data
# directory, from the servers' directory (never from a cwd it cannot read).
_servers_as_pg() {
	if [ -n "$_servers_pg_user" ]; then
		(cd "$_servers_dir" && runuser -u "$_servers_pg_user" -- "$@")
	else
		(cd "$_servers_dir" && "$@")
	fi
}

# _servers_start_pg PORT starts PostgreSQL on PORT and waits until it
# answers. Returns 1 when it did not start, 2 when the port was taken.
_servers_start_pg() {
	local port=$1 bindir=$_servers_pg_bindir
	local conf="$_servers_dir/pgdata/postgresql.auto.conf"
	# postgresql.auto.conf is read last: rewrite it for each try
	{
		printf "port = %s\n" "$port"
		printf "listen_addresses = '127.0.0.1'\n"
		printf "unix_socket_directories = '%s'\n" "$_servers_dir"
		printf "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
		printf "max_connections = 200\nmax_prepared_transactions = 20\n"
		printf "logging_collector = off\nlog_min_messages = warning\n"
		printf "log_line_prefix = '%%m [%%p] %%q%%a '\n"
		local kv
		for kv in "${_servers_pg_extra[@]}"; do
			case "$kv" in
			*=*) printf "%s = '%s'\n" "${kv%%=*}" "${kv#*=}" ;;
			*) _servers_log "ignoring PostgreSQL setting without '=': $kv" ;;
			esac
		done
	} >"$conf"
	[ -z "$_servers_pg_user" ] || chown "$_servers_pg_user" "$conf"
	: >"$_servers_dir/postgresql.log"
	[ -z "$_servers_pg_user" ] || chown "$_servers_pg_user" "$_servers_dir/postgresql.log"
	if ! _servers_as_pg "$bindir/pg_ctl" -D "$_servers_dir/pgdata" \
		-l "$_servers_dir/postgresql.log" -w -t "${SERVERS_TIMEOUT:-60}" \
		start >/dev/null 2>&1; then
		if grep -q 'could not bind\|Address already in use' "$_servers_dir/postgresql.log"; then
			return 2
		fi
		_servers_log "PostgreSQL did not start; its log:"
		sed 's/^/  /' "$_servers_dir/postgresql.log" >&2
		return 1
	fi
	local i
	for ((i = 0; i < ${SERVERS_TIMEOUT:-60} * 10; i++)); do
		if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
			return 0
		fi
		sleep 0.1
	done
	_servers_log "PostgreSQL on port $port does not answer; its log:"
	sed 's/^/  /' "$_servers_dir/postgresql.log" >&2
	return 1
}

# _servers_start_redis_on PORT starts redis-server on PORT (daemonized,
# no persistence) and waits until it answers PING. Returns 1 when it did
# not start, 2 when the port was taken.
_servers_start_redis_on() {
	local port=$1 i
	rm -f "$_servers_dir/redis.pid"
	: >"$_servers_dir/redis.log"
	if ! redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
		--pidfile "$_servers_dir/redis.pid" --logfile "$_servers_dir/redis.log" \
		--dir "$_servers_dir/redis" --save '' --appendonly no \
		>/dev/null 2>&1; then
		_servers_log "redis-server failed; its log:"
		sed 's/^/  /' "$_servers_dir/redis.log" >&2
		return 1
	fi
	for ((i = 0; i < ${SERVERS_TIMEOUT:-60} * 10; i++)); do
		if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
			# make sure it is ours, not a server that took the port first
			if [ -s "$_servers_dir/redis.pid" ]; then
				return 0
			fi
		fi
		if grep -q 'Address already in use\|Could not create server TCP' \
			"$_servers_dir/redis.log" 2>/dev/null; then
			return 2
		fi
		sleep 0.1
	done
	_servers_log "Redis on port $port does not answer; its log:"
	sed 's/^/  /' "$_servers_dir/redis.log" >&2
	return 1
}

# _servers_on_exit runs the registered exit hooks, then stops the servers.
# The exit status of the script is kept.
_servers_on_exit() {
	local rc=$? h
	for h in "${_servers_exit_hooks[@]}"; do
		eval "$h" || true
	done
	_servers_exit_hooks=()
	servers_stop
	return "$rc"
}

# _servers_install_trap makes EXIT, INT and TERM run _servers_on_exit
# (once per shell). A script that sources this file uses servers_at_exit
# instead of a trap of its own, which would replace this one.
_servers_install_trap() {
	[ -z "$_servers_trap_set" ] || return 0
	trap '_servers_on_exit' EXIT
	trap '_servers_on_exit; trap - EXIT; exit 130' INT
	trap '_servers_on_exit; trap - EXIT; exit 143' TERM
	_servers_trap_set=1
}

# servers_at_exit registers a command (evaluated as a string) to run when
# the script exits, before the servers are stopped (if they were started).
servers_at_exit() {
	_servers_exit_hooks+=("$*")
	_servers_install_trap
}

# _servers_start_watchdog starts a background process that stops the
# servers if the shell that started them dies without doing it: a trap
# cannot run after SIGKILL, nor while bash waits on a foreground command
# when it is killed. It holds none of the script's output descriptors, is
# not waited for (disown) and ignores the signals meant for the script.
_servers_start_watchdog() {
	local owner=$$
	(
		trap '' INT TERM HUP
		while kill -0 "$owner" 2>/dev/null && [ -d "$_servers_dir" ]; do
			sleep 1
		done
		if [ -d "$_servers_dir" ]; then
			servers_stop
		fi
	) </dev/null >/dev/null 2>&1 &
	_servers_watchdog_pid=$!
	disown "$_servers_watchdog_pid" 2>/dev/null || true
}

# servers_start starts PostgreSQL and Redis on free ports in a fresh
# temporary directory, waits until both answer and exports the PG* and
# TEST_* variables. Arguments are extra postgresql.conf settings NAME=VALUE.
# Returns non-zero (after printing why) when a server cannot be started.
servers_start() {
	if [ -n "$_servers_dir" ]; then
		_servers_log "servers already started in $_servers_dir"
		return 1
	fi
	_servers_pg_extra=("$@")
	_servers_pg_bindir=$(_servers_find_pg_bindir) || {
		_servers_log "PostgreSQL server programs (initdb, pg_ctl) not found; install postgresql-15 or set PG_BINDIR"
		return 1
	}
	if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
		_servers_log "redis-server/redis-cli not found; install redis-server"
		return 1
	fi

	_servers_pg_user=
	if [ "$(id -u)" = 0 ]; then
		_servers_pg_user=${SERVERS_PG_USER:-postgres}
		if ! id -u "$_servers_pg_user" >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin \
				"$_servers_pg_user" || {
				_servers_log "cannot create the user $_servers_pg_user to run PostgreSQL (initdb refuses root)"
				return 1
			}
		fi
		# root's TMPDIR may be out of the postgres user's reach
		_servers_dir=$(mktemp -d /tmp/ecolo-servers.XXXXXX) || return 1
		chown "$_servers_pg_user" "$_servers_dir"
	else
		_servers_dir=$(mktemp -d "${TMPDIR:-/tmp}/ecolo-servers.XXXXXX") || return 1
	fi
	chmod 0755 "$_servers_dir"
	export TEST_SERVERS_DIR=$_servers_dir

	_servers_install_trap
	_servers_start_watchdog

	mkdir "$_servers_dir/redis"
	if ! _servers_as_pg "$_servers_pg_bindir/initdb" -D "$_servers_dir/pgdata" \
		-A trust -U postgres -E UTF8 --locale=C --no-sync \
		>"$_servers_dir/initdb.log" 2>&1; then
		_servers_log "initdb failed; its output:"
		sed 's/^/  /' "$_servers_dir/initdb.log" >&2
		return 1
	fi

	local ports rc
	for _ in 1 2 3 4 5; do
		ports=$(_servers_free_ports 2) || {
			_servers_log "no free port found"
			return 1
		}
		TEST_PG_PORT=${ports%%$'\n'*}
		TEST_REDIS_PORT=${ports##*$'\n'}
		rc=0
		_servers_start_pg "$TEST_PG_PORT" || rc=$?
		[ "$rc" = 2 ] && continue
		[ "$rc" = 0 ] || return 1
		rc=0
		_servers_start_redis_on "$TEST_REDIS_PORT" || rc=$?
		if [ "$rc" = 2 ]; then
			# keep PostgreSQL, look for another port for Redis only
			for _ in 1 2 3 4; do
				TEST_REDIS_PORT=$(_servers_free_ports 1) || return 1
				[ "$TEST_REDIS_PORT" != "$TEST_PG_PORT" ] || continue
				rc=0
				_servers_start_redis_on "$TEST_REDIS_PORT" || rc=$?
				[ "$rc" = 2 ] || break
			done
		fi
		[ "$rc" = 0 ] || return 1
		break
	done
	if [ "$rc" != 0 ]; then
		_servers_log "could not find free ports after 5 tries"
		return 1
	fi

	export PGHOST=127.0.0.1 PGPORT=$TEST_PG_PORT PGUSER=postgres
	export TEST_PG_PORT TEST_REDIS_PORT
	unset PGPASSWORD PGSERVICE PGSSLMODE PGOPTIONS
	return 0
}

# _servers_alive tells whether process PID still runs. A daemonized Redis
# is the child of PID 1, which may be slow to reap it: a zombie is dead.
_servers_alive() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "${state%% *}" != Z ]
}

# servers_stop_redis stops Redis alone with SIGNAL (TERM by default; KILL
# simulates a crash) and waits until its process is gone.
servers_stop_redis() {
	local sig=${1:-TERM} pid i
	[ -n "$_servers_dir" ] && [ -s "$_servers_dir/redis.pid" ] || return 0
	pid=$(cat "$_servers_dir/redis.pid")
	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		_servers_alive "$pid" || break
		sleep 0.05
	done
	if _servers_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.1
	fi
	rm -f "$_servers_dir/redis.pid"
}

# servers_start_redis starts Redis again, on the port it had.
servers_start_redis() {
	if [ -z "$_servers_dir" ] || [ -z "${TEST_REDIS_PORT:-}" ]; then
		_servers_log "servers_start_redis: call servers_start first"
		return 1
	fi
	_servers_start_redis_on "$TEST_REDIS_PORT"
}

# servers_stop_pg stops PostgreSQL alone (fast: the sessions are ended, the
# cluster is kept) and waits until it is down.
servers_stop_pg() {
	[ -n "$_servers_dir" ] && [ -f "$_servers_dir/pgdata/postmaster.pid" ] || return 0
	_servers_as_pg "$_servers_pg_bindir/pg_ctl" -D "$_servers_dir/pgdata" \
		-m fast -w -t 30 stop >/dev/null 2>&1
}

# servers_start_pg starts PostgreSQL again, on the port and data directory it had.
servers_start_pg() { # shellcheck disable=SC2120
	if [ -z "$_servers_dir" ] || [ -z "${TEST_PG_PORT:-}" ]; then
		_servers_log "servers_start_pg: call servers_start first"
		return 1
	fi
	[ "$#" = 0 ] || _servers_pg_extra=("$@")
	_servers_start_pg "$TEST_PG_PORT"
}

# servers_start_standby copies the test PostgreSQL with pg_basebackup -R
# (a streaming replica of it) into standby/, starts it on a free port with
# the extra settings given (NAME=VALUE) and waits until it replays and
# answers. Stopped by servers_stop.
servers_start_standby() {
	local kv port sdir=$_servers_dir/standby i
	_servers_as_pg "$_servers_pg_bindir/pg_basebackup" -h 127.0.0.1 -p "$TEST_PG_PORT" \
		-U postgres -D "$sdir" -R -X stream --no-sync >"$_servers_dir/basebackup.log" 2>&1 || {
		_servers_log "pg_basebackup failed; its output:"
		sed 's/^/  /' "$_servers_dir/basebackup.log" >&2
		return 1
	}
	port=$(_servers_free_ports 1) || return 1
	{
		printf "port = %s\nhot_standby = on\n" "$port"
		for kv in "$@"; do
			printf "%s = '%s'\n" "${kv%%=*}" "${kv#*=}"
		done
	} >>"$sdir/postgresql.auto.conf"
	_servers_as_pg "$_servers_pg_bindir/pg_ctl" -D "$sdir" -l "$_servers_dir/standby.log" \
		-w -t "${SERVERS_TIMEOUT:-60}" start >/dev/null 2>&1 || {
		_servers_log "the standby did not start; its log:"
		sed 's/^/  /' "$_servers_dir/standby.log" >&2
		return 1
	}
	for ((i = 0; i < ${SERVERS_TIMEOUT:-60} * 10; i++)); do
		if [ "$(psql -X -At -h 127.0.0.1 -p "$port" -U postgres -d postgres \
			-c "SELECT pg_is_in_recovery() AND status = 'streaming' FROM pg_stat_wal_receiver" \
			2>/dev/null)" = t ]; then
			export TEST_STANDBY_PORT=$port
			return 0
		fi
		sleep 0.1
	done
	_servers_log "the standby on port $port does not stream; its log:"
	sed 's/^/  /' "$_servers_dir/standby.log" >&2
	return 1
}

# servers_stop stops PostgreSQL (immediate: the cluster is thrown away) and
# Redis, and removes the directory unless SERVERS_KEEP=1. Safe to call twice.
servers_stop() {
	[ -n "$_servers_dir" ] || return 0
	if [ -n "$_servers_watchdog_pid" ]; then
		kill -KILL "$_servers_watchdog_pid" 2>/dev/null || true
		_servers_watchdog_pid=
	fi
	servers_stop_redis TERM
	if [ -f "$_servers_dir/standby/postmaster.pid" ]; then
		_servers_as_pg "$_servers_pg_bindir/pg_ctl" -D "$_servers_dir/standby" \
			-m immediate -w -t 30 stop >/dev/null 2>&1 || true
	fi
	if [ -f "$_servers_dir/pgdata/postmaster.pid" ]; then
		_servers_as_pg "$_servers_pg_bindir/pg_ctl" -D "$_servers_dir/pgdata" \
			-m immediate -w -t 30 stop >/dev/null 2>&1 || {
			# last resort: the postmaster's pid is the first line
			local pid
			pid=$(head -n 1 "$_servers_dir/pgdata/postmaster.pid" 2>/dev/null)
			[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
		}
	fi
	if [ "${SERVERS_KEEP:-0}" = 1 ]; then
		_servers_log "kept $_servers_dir (logs: postgresql.log, redis.log)"
	else
		rm -rf "$_servers_dir"
	fi
	_servers_dir=
	unset TEST_SERVERS_DIR
}

# servers_url prints the URL of database DBNAME on the test PostgreSQL.
servers_url() {
	printf 'postgresql://postgres@127.0.0.1:%s/%s\n' "$TEST_PG_PORT" "$1"
}

# servers_redis_url prints the URL of the test Redis (database DB, 0 by default).
servers_redis_url() {
	printf 'redis://127.0.0.1:%s/%s\n' "$TEST_REDIS_PORT" "${1:-0}"
}
