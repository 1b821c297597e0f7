# shellcheck shell=bash
#
# tests/lib/import_checks.sh
#     Checks shared by the tests of parallel imports (t_parallel, t_faults,
#     t_leases, t_nonblocking, t_fault_campaign): the oracle, duplicates of
#     shared entities, background processes, a blocking session of the
#     test. Sourced after common.sh and servers.sh; reads $SRC (the
#     Ecoloweb URL) and the array bg_pids.

bg_pids=()

# run_oracle NAME DB ORACLE_ARGS...: tests/oracle.py agrees with every row of DB
run_oracle() {
	local name=$1 db=$2 out rc=0
	shift 2
	out=$(python3 "$top_srcdir/tests/oracle.py" --source "$SRC" --target "$(servers_url "$db")" \
		"$@" 2>&1) || rc=$?
	if [ "$rc" != 0 ]; then
		printf '%s\n' "$out" | sed 's/^/  oracle: /' >&2
	else
		printf '%s\n' "$out" | tail -n 1 | sed 's/^/  oracle: /'
	fi
	assert_eq "$name: oracle" 0 "$rc"
}

# no_duplicates NAME DB: no bailleur or administration created twice, every one referenced
no_duplicates() {
	local name=$1 db=$2
	assert_eq "$name: one reference per Ecoloweb bailleur/administration" "" \
		"$(psql_q "$db" "SELECT apilos_model, ecolo_id, count(*) FROM ecoloweb_ecoloreference
			WHERE apilos_model IN ('bailleurs.Bailleur', 'instructeurs.Administration')
			GROUP BY 1, 2 HAVING count(*) > 1")"
	assert_eq "$name: one bailleur per SIREN" "" \
		"$(psql_q "$db" "SELECT siren, count(*) FROM bailleurs_bailleur
			GROUP BY 1 HAVING count(*) > 1")"
	assert_eq "$name: one bailleur per SIRET" "" \
		"$(psql_q "$db" "SELECT siret, count(*) FROM bailleurs_bailleur
			GROUP BY 1 HAVING count(*) > 1")"
	assert_eq "$name: one administration per code" "" \
		"$(psql_q "$db" "SELECT code, count(*) FROM instructeurs_administration
			GROUP BY 1 HAVING count(*) > 1")"
	assert_eq "$name: every bailleur and administration has its reference" "0|0" \
		"$(psql_q "$db" "SELECT
			(SELECT count(*) FROM bailleurs_bailleur b WHERE NOT EXISTS (
				SELECT 1 FROM ecoloweb_ecoloreference r
				WHERE r.apilos_model = 'bailleurs.Bailleur' AND r.apilos_id = b.id))
			|| '|' ||
			(SELECT count(*) FROM instructeurs_administration a WHERE NOT EXISTS (
				SELECT 1 FROM ecoloweb_ecoloreference r
				WHERE r.apilos_model = 'instructeurs.Administration' AND r.apilos_id = a.id))")"
	assert_eq "$name: no reference to a missing bailleur or administration" 0 \
		"$(psql_q "$db" "SELECT count(*) FROM ecoloweb_ecoloreference r
			WHERE (r.apilos_model = 'bailleurs.Bailleur'
				AND NOT EXISTS (SELECT 1 FROM bailleurs_bailleur b WHERE b.id = r.apilos_id))
			OR (r.apilos_model = 'instructeurs.Administration'
				AND NOT EXISTS (SELECT 1 FROM instructeurs_administration a WHERE a.id = r.apilos_id))")"
}

# kill_bg: kills what the test started in the background (bg_pids)
kill_bg() {
	local p
	for p in "${bg_pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
}

# alive PID: the process exists and is not a zombie
alive() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${state%% *}" != Z ]
}

# conventions_of DB DEP: conventions of DEP in the references
conventions_of() {
	psql_q "$1" "SELECT count(*) FROM ecoloweb_ecoloreference r
		JOIN conventions_convention c ON c.id = r.apilos_id
		WHERE r.apilos_model = 'conventions.Convention' AND r.departement = '$2'"
}

# run_blocker DB SQL: a background session of the test (application_name
# test_blocker) runs SQL, then sleeps inside its transaction until unblock
# ends it (at most BLOCKER_SECONDS, 300 by default); blocker_pid is its psql
run_blocker() {
	local db=$1 sql=$2
	PGAPPNAME=test_blocker psql -X -q -d "$db" \
		-c "BEGIN; $sql; SELECT pg_sleep(${BLOCKER_SECONDS:-300}); COMMIT" >/dev/null 2>&1 &
	blocker_pid=$!
	bg_pids+=("$blocker_pid")
	wait_until "the blocking session of the test" 20 blocker_sleeps "$db"
}
blocker_sleeps() {
	[ "$(psql_q "$1" "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'test_blocker' AND wait_event = 'PgSleep'")" = 1 ]
}
# unblock DB: ends the blocking session (its transaction rolls back)
unblock() {
	psql_q "$1" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'test_blocker'" >/dev/null
	wait "$blocker_pid" 2>/dev/null || true
}

# blocked DB DEP: the main session of the worker of DEP waits for a lock
blocked() {
	[ "$(psql_q "$1" "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'import_ecoloweb_data/$2' AND wait_event_type = 'Lock'")" = 1 ]
}
