# shellcheck shell=bash
#
# tests/lib/import_checks.sh
#     Checks shared by the tests of parallel imports (t_parallel, t_faults,
#     t_leases): the oracle, duplicates of shared entities, background
#     processes. Sourced after common.sh and servers.sh; reads $SRC (the
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
