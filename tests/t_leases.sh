#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_leases.sh
#     Département leases in Redis and the prepared transactions of dead
#     launches (issue 3, design.md "Shared entities and Redis locks" and
#     "Writing"), on generated data for 22, 29, 35 and 56:
#
#     1. Two launches naming the same département at once. Launch A imports
#        29 and is held in the middle of its import (a session of the test
#        holds, uncommitted, the reference of the last convention of 29,
#        so A's worker waits on the unique index). Meanwhile: the lease
#        ecoloweb:lease:29 holds A's token (host:pid:launch) with a TTL of
#        at most 60 s; a launch B of 29 35 exits 2 naming département 29 as
#        already being imported (and A's token), having done nothing; a
#        launch of 35 29 too, and it leaves no lease of 35 behind; a launch
#        of 35 alone succeeds while A runs. A then succeeds and releases
#        its lease, and B succeeds.
#     2. A dead launch: A imports 22 56; once 22 is prepared and 56 held in
#        the middle, the coordinator and its workers get SIGKILL. Its
#        leases stay (with their TTL) and the prepared transaction of 22
#        stays. Their holder's pid is gone from this machine (issue 11): a
#        launch of 56 started at once takes the lease of 56 over, rolls
#        A's prepared transaction of 22 back with a log line (A's lease of
#        22 says A is dead) and imports 56; a launch of 22 takes the lease
#        of 22 over and imports it. A lease held on another host, even by a
#        pid that does not exist here, still refuses a launch (exit 2).
#     3. Prepared transactions made by hand: ecoloweb-123-29 (no lease: its
#        launch is dead) is rolled back at start-up with a log line;
#        ecoloweb-124-35, whose launch 124 holds the lease of 35, is left
#        alone until that lease is gone; one in another database and one
#        that is not the importer's (gid not ecoloweb-...) are never touched.
#
#     Settings: IMPORT_TIMEOUT (seconds for one import, 120).

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"
# shellcheck source=tests/lib/import_checks.sh
. "$here/lib/import_checks.sh"
# shellcheck source=tests/lib/launch_tests.sh
. "$here/lib/launch_tests.sh"

# prepared transactions made by hand in databases the servers' stop ignores
cleanup_prepared() {
	local db gid
	for db in leases3 other; do
		for gid in $(psql_q "$db" "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()" 2>/dev/null); do
			psql_q "$db" "ROLLBACK PREPARED '$gid'" >/dev/null 2>&1 || true
		done
	done
}
servers_at_exit kill_bg
servers_at_exit cleanup_prepared

launch_servers 40
export REDIS_URL=$REDIS
launch_history

# --- helpers ------------------------------------------------------------------------


# prepared_here DB: the prepared transactions of DB, by name
prepared_here() { psql_q "$1" "SELECT string_agg(gid, ' ' ORDER BY gid) FROM pg_prepared_xacts WHERE database = current_database()"; }

redis() { redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" --raw "$@"; }

# start_a DB LOG ARGS...: launch A in the background (a_pid, a_log)
start_a() {
	local db=$1
	a_log=$2
	shift 2
	DATABASE_URL=$(servers_url "$db") "$prog" "$@" >"$a_log" 2>&1 &
	a_pid=$!
	bg_pids+=("$a_pid")
}

show() { grep -v ' WARN  ' "$1" | sed 's/^/  | /' >&2; }

# wait_until (tests/lib/common.sh) shows this on a time-out
wait_until_failed() { [ -z "${a_log:-}" ] || show "$a_log"; }

# wait_a NAME EXPECTED: waits for launch A, checks its exit status
wait_a() {
	local name=$1 want=$2 rc=0 deadline=$(($(date +%s) + timeout_s))
	while alive "$a_pid"; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			kill -KILL "$a_pid"
			show "$a_log"
			fail "$name: no exit within ${timeout_s}s"
		fi
		sleep 0.05
	done
	wait "$a_pid" || rc=$?
	[ "$rc" = "$want" ] || show "$a_log"
	assert_eq "$name: exit status" "$want" "$rc"
}

# run_b NAME EXPECTED DB LOG ARGS...: a launch in the foreground; its
# output in $out
run_b() {
	local name=$1 want=$2 db=$3 log=$4 rc=0
	shift 4
	DATABASE_URL=$(servers_url "$db") timeout -k 5 "$timeout_s" "$prog" "$@" >"$log" 2>&1 || rc=$?
	out=$(cat "$log")
	[ "$rc" = "$want" ] || show "$log"
	assert_eq "$name: exit status" "$want" "$rc"
}

# a blocking session of the test: the reference of the last convention of
# DEP, uncommitted, so that the worker of DEP waits on the unique index
block_dep() {
	local db=$1 dep=$2
	run_blocker "$db" "INSERT INTO ecoloweb_ecoloreference
		(apilos_model, ecolo_id, apilos_id, departement, est_supprime)
		VALUES ('conventions.Convention', '${last_key[$dep]}', -1, '$dep', false)"
}


# lease_of_a NAME DEP: the lease of DEP holds A's token (host:pid:launch,
# the launch id ends with the pid) and expires within 60 s
lease_of_a() {
	local name=$1 dep=$2 tok ttl
	tok=$(redis GET "ecoloweb:lease:$dep")
	[[ "$tok" =~ ^[^:]*:$a_pid:[0-9]+$a_pid$ ]] ||
		fail "$name: ecoloweb:lease:$dep is [$tok], expected A's token (host:$a_pid:<launch>)"
	ttl=$(redis PTTL "ecoloweb:lease:$dep")
	{ [ "$ttl" -gt 0 ] && [ "$ttl" -le 60000 ]; } ||
		fail "$name: ecoloweb:lease:$dep has a TTL of $ttl ms, expected 1..60000"
	printf 'ok: %s: ecoloweb:lease:%s = %s (expires in %s ms)\n' "$name" "$dep" "$tok" "$ttl"
	a_token=$tok
}



# --- 1. two launches naming the same département at once ----------------------------
db=leases1
load_apilos_schema $db
block_dep $db 29
start_a $db "$logdir/l1-a.log" --departement 29 --no-progress
wait_until "launch A: its worker of 29 in the middle of the import" 60 blocked $db 29
lease_of_a "1. while A imports 29" 29

run_b "1. B on 29 35 while A imports 29" 2 $db "$logdir/l1-b.log" --departement 29 35 --no-progress
assert_match "1. B names département 29 as already being imported" "$out" \
	"département 29 is already being imported by another launch"
assert_contains "1. B names A's token" "$out" "$a_token"
assert_not_contains "1. B started no worker" "$out" "worker started"
assert_eq "1. B left no lease of 35" "" "$(redis GET ecoloweb:lease:35)"

run_b "1. B on 35 29 while A imports 29" 2 $db "$logdir/l1-b2.log" --departement 35 29 --no-progress
assert_match "1. B (35 29) names département 29" "$out" \
	"département 29 is already being imported by another launch"
assert_not_contains "1. B (35 29) started no worker" "$out" "worker started"
assert_eq "1. B (35 29) released the lease of 35 it had taken" "" "$(redis GET ecoloweb:lease:35)"
assert_eq "1. A still holds the lease of 29" "$a_token" "$(redis GET ecoloweb:lease:29)"
assert_eq "1. nothing of 35 imported by the refused launches" 0 "$(conventions_of $db 35)"

# another département goes on beside A
run_b "1. a launch of 35 alone while A imports 29" 0 $db "$logdir/l1-35.log" --departement 35 --no-progress
assert_eq "1. 35 imported beside A" "${nconv_of[35]}" "$(conventions_of $db 35)"
assert_eq "1. A still holds the lease of 29 (not released by the other launch)" "$a_token" \
	"$(redis GET ecoloweb:lease:29)"
alive "$a_pid" || fail "1. launch A ended while it was held"

unblock $db
wait_a "1. launch A" 0
assert_eq "1. A released its lease" "" "$(redis GET ecoloweb:lease:29)"
assert_eq "1. every convention of 29 imported by A" "${nconv_of[29]}" "$(conventions_of $db 29)"
run_b "1. B on 29 35 after A" 0 $db "$logdir/l1-b3.log" --departement 29 35 --no-progress
assert_eq "1. no lease left" "" "$(redis KEYS 'ecoloweb:lease:*')"
run_oracle "1." $db --concurrent --several-runs --departement 29 35
no_duplicates "1." $db

# --- 2. the leases and the prepared transaction of a dead launch -----------------------
db=leases2
load_apilos_schema $db
block_dep $db 56
start_a $db "$logdir/l2-a.log" --departement 22 56 --no-progress
disown "$a_pid" # killed below: no "Killed" notice from bash
wait_until "launch A: 22 prepared" 60 grep -qE '\[22\] prepared as ecoloweb-[0-9]+-22:' "$a_log"
wait_until "launch A: its worker of 56 in the middle of the import" 60 blocked $db 56
gid=$(sed -n 's/.*\[22\] prepared as \(ecoloweb-[0-9]*-22\):.*/\1/p' "$a_log")
workers=$(sed -n 's/.*\] worker started (pid \([0-9]*\)).*/\1/p' "$a_log")
# shellcheck disable=SC2086 # a list of pids
kill -KILL "$a_pid" $workers 2>/dev/null
for p in $a_pid $workers; do
	wait_until "process $p of the killed launch to end" 10 eval "! alive $p"
done
unblock $db
printf 'ok: 2. launch A (pid %s) and its workers (%s) killed\n' "$a_pid" "$(tr '\n' ' ' <<<"$workers")"
lease_of_a "2. after A died" 22
lease_of_a "2. after A died" 56
assert_eq "2. A's prepared transaction of 22 is left" "$gid" \
	"$(psql_q $db "SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'ecoloweb-%'")"

run_b "2. a launch of 56 right after A died" 0 $db "$logdir/l2-b.log" --departement 56 --no-progress
assert_not_contains "2. it is not refused by A's lease" "$out" "already being imported"
assert_contains "2. it takes A's lease of 56 over" "$out" \
	"département 56: the lease of a launch that died on this machine ($a_token) taken over"
assert_match "2. it rolls back A's prepared transaction, with a log line" "$out" \
	"rolling back prepared transaction $gid left by a launch that died"
assert_eq "2. A's lease of 22 left alone (not this launch's)" "$a_token" "$(redis GET ecoloweb:lease:22)"
assert_eq "2. no prepared transaction left" 0 "$(psql_q $db "SELECT count(*) FROM pg_prepared_xacts")"
run_b "2. the next launch of 22" 0 $db "$logdir/l2-c.log" --departement 22 --no-progress
assert_contains "2. it takes A's lease of 22 over" "$out" \
	"département 22: the lease of a launch that died on this machine ($a_token) taken over"
assert_eq "2. every convention of 22 imported" "${nconv_of[22]}" "$(conventions_of $db 22)"
assert_eq "2. every convention of 56 imported" "${nconv_of[56]}" "$(conventions_of $db 56)"
assert_eq "2. no lease left" "" "$(redis KEYS 'ecoloweb:lease:*')"
# a pid dead here says nothing of a process on another host
redis SET ecoloweb:lease:35 "otherhost:$a_pid:1" PX 60000 >/dev/null
run_b "2. a launch of 35 leased on another host" 2 $db "$logdir/l2-d.log" --departement 35 --no-progress
assert_contains "2. refused: another host's lease is never taken over" "$out" \
	"département 35 is already being imported by another launch (otherhost:$a_pid:1)"
redis DEL ecoloweb:lease:35 >/dev/null
run_oracle "2." $db --concurrent --several-runs --departement 22 56
no_duplicates "2." $db

# --- 4. a lease taken over by another launch stops this one -------------------------------
# (the lease expired while Redis was unreachable and another launch took it):
# at its next renewal (every 15 s) A aborts, nothing of it committed
db=leases4
load_apilos_schema $db
block_dep $db 29
start_a $db "$logdir/l4-a.log" --departement 29 --no-progress
wait_until "launch A: its worker of 29 in the middle of the import" 60 blocked $db 29
lease_of_a "4. while A imports 29" 29
redis SET ecoloweb:lease:29 "otherhost:1:1" PX 60000 >/dev/null
wait_a "4. launch A, its lease taken by another launch" 1
assert_contains "4. A says it lost its lease" "$(cat "$a_log")" "lease lost to another launch"
unblock $db
assert_eq "4. nothing of A committed" 0 "$(conventions_of $db 29)"
assert_eq "4. no prepared transaction left" "" "$(prepared_here $db)"
assert_eq "4. the other launch's lease left alone" "otherhost:1:1" "$(redis GET ecoloweb:lease:29)"
redis DEL ecoloweb:lease:29 >/dev/null

# --- 3. prepared transactions made by hand -------------------------------------------------
db=leases3
load_apilos_schema $db
psql_q postgres "CREATE DATABASE other" >/dev/null
psql_q other "CREATE TABLE users_user (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)"
prepare() { # DB GID
	psql_q "$1" "BEGIN; INSERT INTO users_user DEFAULT VALUES; PREPARE TRANSACTION '$2'" >/dev/null ||
		fail "cannot prepare $2 in $1"
}
prepare $db ecoloweb-123-29
prepare $db ecoloweb-124-35
prepare $db someone-else-1
prepare other ecoloweb-125-29
redis SET ecoloweb:lease:35 "otherhost:4242:124" PX 60000 >/dev/null

run_b "3. a launch of 22" 0 $db "$logdir/l3-a.log" --departement 22 --no-progress
assert_match "3. ecoloweb-123-29 (no lease) rolled back, with a log line" "$out" \
	"rolling back prepared transaction ecoloweb-123-29 left by a launch that died"
assert_not_contains "3. ecoloweb-124-35 (its launch holds the lease of 35) left alone" "$out" "ecoloweb-124-35"
assert_eq "3. prepared transactions left in the target" "ecoloweb-124-35 someone-else-1" "$(prepared_here $db)"
assert_eq "3. the one in another database untouched" "ecoloweb-125-29" "$(prepared_here other)"
assert_eq "3. the rolled-back transaction inserted nothing" 0 "$(psql_q $db "SELECT count(*) FROM users_user")"
assert_eq "3. 22 imported" "${nconv_of[22]}" "$(conventions_of $db 22)"

redis DEL ecoloweb:lease:35 >/dev/null
run_b "3. a launch of 22 once the lease of 35 is gone" 0 $db "$logdir/l3-b.log" --departement 22 --no-progress
assert_match "3. ecoloweb-124-35 rolled back once its lease is gone" "$out" \
	"rolling back prepared transaction ecoloweb-124-35 left by a launch that died"
assert_eq "3. only the foreign prepared transaction is left" "someone-else-1" "$(prepared_here $db)"
assert_eq "3. the one in another database still untouched" "ecoloweb-125-29" "$(prepared_here other)"
cleanup_prepared
assert_eq "3. users_user still empty" 0 "$(psql_q $db "SELECT count(*) FROM users_user")"

printf 't_leases: all checks passed in %ss\n' "$((SECONDS - t0))"
