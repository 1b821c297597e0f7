#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_redis.sh
#     src/redis_client.c against a real, throwaway Redis, through the C
#     program tests/redis_probe (built by make check): locks and leases of
#     two owners, TTL expiry, the NOSCRIPT fallback, error replies, a
#     connection killed by the server, then Redis stopped under a connected
#     client and before connecting, then restarted; finally AUTH against a
#     second redis-server started here with --requirepass and an ACL user:
#     the right password works, a wrong or missing one fails clearly and is
#     never shown. REDIS_PROBE_WRAPPER (e.g. "valgrind -q --error-exitcode=9
#     --leak-check=full") runs the probe under a tool.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

probe=$top_builddir/tests/redis_probe
[ -x "$probe" ] || fail "$probe is not built (make check builds it)"
read -r -a wrapper <<<"${REDIS_PROBE_WRAPPER:-}"

# run_probe URL PHASE runs the probe, prints its output, sets $out and $rc.
run_probe() {
	rc=0
	out=$("${wrapper[@]}" "$probe" "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed "s/^/  [$2] /"
}

# expect_pass NAME fails unless the last probe exited 0 after its checks ran.
expect_pass() {
	assert_eq "$1" 0 "$rc"
	assert_match "$1 (summary)" "$out" '^[a-z]+: 0 failure\(s\)$'
}

servers_start || fail "cannot start the test servers"
url=$(servers_redis_url)
addr=127.0.0.1:$TEST_REDIS_PORT

# --- two owners on a running Redis -----------------------------------------
run_probe "$url" basic
expect_pass "basic: every check passes"
assert_contains "an error reply is quoted with the address" "$out" \
	"err: Redis $addr: GET ecoloweb:lease:"
assert_match "a killed connection is said so" "$out" \
	"err: Redis $addr: lock .*: (server closed the connection|connection reset by peer)"

# --- Redis stopped under a connected client --------------------------------
fifo=$TEST_SERVERS_DIR/probe.fifo
mkfifo "$fifo" || fail "mkfifo $fifo"
"${wrapper[@]}" "$probe" "$url" gone <"$fifo" >"$TEST_SERVERS_DIR/gone.out" 2>&1 &
probe_pid=$!
exec 3>"$fifo"
for ((i = 0; i < 600; i++)); do
	grep -q '^READY' "$TEST_SERVERS_DIR/gone.out" && break
	kill -0 "$probe_pid" 2>/dev/null || break
	sleep 0.05
done
grep -q '^READY' "$TEST_SERVERS_DIR/gone.out" || {
	exec 3>&-
	cat "$TEST_SERVERS_DIR/gone.out"
	fail "the probe never got ready"
}
servers_stop_redis KILL
echo go >&3
exec 3>&-
rc=0
wait "$probe_pid" || rc=$?
out=$(cat "$TEST_SERVERS_DIR/gone.out")
printf '%s\n' "$out" | sed 's/^/  [gone] /'
expect_pass "gone: every call fails with a message"
assert_match "the lost connection is named" "$out" \
	"err: Redis $addr: lock ecoloweb:lock:probe:[a-z]+: (server closed the connection|connection reset by peer)"
assert_contains "reconnecting is refused" "$out" "err: Redis $addr: connection refused"

# --- Redis stopped before connecting, then restarted -----------------------
run_probe "$url" down
expect_pass "down: every call fails with a message"
assert_contains "connect says where and why" "$out" "err: Redis $addr: connection refused"
servers_start_redis || fail "cannot restart Redis"
run_probe "$url" basic
expect_pass "basic again after a restart"

# --- a second Redis with a password and an ACL user ------------------------
pw_dir=$TEST_SERVERS_DIR/redis-pw
pw='p@ss w0rd:%/' # URL-encoded below: p%40ss%20w0rd%3A%25%2F
pw_url='p%40ss%20w0rd%3A%25%2F'
mkdir -p "$pw_dir" || fail "mkdir $pw_dir"

# stop_pw_redis stops the password-protected Redis, when it runs.
stop_pw_redis() {
	[ -s "$pw_dir/redis.pid" ] && kill "$(cat "$pw_dir/redis.pid")" 2>/dev/null
	rm -f "$pw_dir/redis.pid"
}
servers_at_exit stop_pw_redis

# start_pw_redis PORT starts redis-server with --requirepass on PORT and
# waits for it; non-zero when it did not come up.
start_pw_redis() {
	local port=$1 i
	redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
		--pidfile "$pw_dir/redis.pid" --logfile "$pw_dir/redis.log" --dir "$pw_dir" \
		--save '' --appendonly no --requirepass "$pw" >/dev/null 2>&1 || return 1
	for ((i = 0; i < 100; i++)); do
		if [ "$(REDISCLI_AUTH=$pw redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] &&
			[ -s "$pw_dir/redis.pid" ]; then
			return 0
		fi
		sleep 0.1
	done
	stop_pw_redis
	return 1
}

pw_port=
for _ in 1 2 3 4 5; do
	port=$(_servers_free_ports 1) || fail "no free port"
	if start_pw_redis "$port"; then
		pw_port=$port
		break
	fi
done
[ -n "$pw_port" ] || fail "cannot start a redis-server with --requirepass"
REDISCLI_AUTH=$pw redis-cli -h 127.0.0.1 -p "$pw_port" \
	ACL SETUSER importer on '>imp0rt-secret' '~ecoloweb:*' '+@all' >/dev/null ||
	fail "ACL SETUSER failed"

run_probe "redis://:$pw_url@127.0.0.1:$pw_port/0" auth
expect_pass "the right password works"
run_probe "redis://importer:imp0rt-secret@127.0.0.1:$pw_port/3" auth
expect_pass "an ACL user and password (AUTH user password), database 3, work"

run_probe "redis://:wrong-secret-42@127.0.0.1:$pw_port/0" noauth
expect_pass "a wrong password fails"
assert_contains "a wrong password is told" "$out" "err: Redis 127.0.0.1:$pw_port: AUTH: WRONGPASS"
assert_not_contains "the wrong password is not shown" "$out" "wrong-secret-42"

run_probe "redis://importer:not-imp0rt@127.0.0.1:$pw_port/0" noauth
expect_pass "a wrong ACL password fails"
assert_contains "a wrong ACL password is told" "$out" "WRONGPASS"
assert_not_contains "the wrong ACL password is not shown" "$out" "not-imp0rt"

run_probe "redis://127.0.0.1:$pw_port/0" noauth
expect_pass "no password fails"
assert_contains "a missing password is told" "$out" "err: Redis 127.0.0.1:$pw_port: PING: NOAUTH"

run_probe "redis://:$pw_url@127.0.0.1:$pw_port/99" noauth
expect_pass "a database out of range fails"
assert_contains "a bad database is told" "$out" "err: Redis 127.0.0.1:$pw_port: SELECT:"
assert_not_contains "the password is not shown" "$out" "w0rd"

echo "t_redis: locks, leases, failures and AUTH checked"
