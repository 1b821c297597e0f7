# shellcheck shell=bash
#
# tests/lib/bootstrap.sh
#     What demo.sh and the benchmarks of bench/ do before their own work.
#     Sourced with repo (the source tree) and builddir (their build folder)
#     set: loads tests/lib/common.sh and servers.sh for that build, then
#
#       say TEXT...                  a step's heading, on stderr (a
#                                    benchmark's stdout is its figures)
#       bootstrap_build EXTRA [ARG...]
#                                    installs the missing Debian packages
#                                    (ECOLO_PACKAGES and the space-separated
#                                    EXTRA ones), then builds the program and
#                                    the generator in builddir (configure
#                                    arguments ARG...)
#       count_rows DB SCHEMA         prints the rows of each non-empty table
#                                    of SCHEMA in DB

top_srcdir=$repo
top_builddir=$builddir
# shellcheck source=tests/lib/common.sh
. "$repo/tests/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$repo/tests/lib/servers.sh"

say() { printf '\n==> %s\n' "$*" >&2; }

bootstrap_build() {
	local extra=$1
	shift
	say "Debian packages"
	# shellcheck disable=SC2086 # EXTRA is a list of package names
	ensure_packages "${ECOLO_PACKAGES[@]}" $extra || fail "cannot install the Debian packages"
	say "Building in ${builddir#"$repo"/}/${*:+ ($*)}"
	build_program "$builddir" "$@" || fail "the build failed"
}

count_rows() {
	local db=$1 schema=$2 t n
	for t in $(psql_q "$db" "SELECT tablename FROM pg_tables WHERE schemaname = '$schema' ORDER BY 1"); do
		n=$(psql_q "$db" "SELECT count(*) FROM \"$schema\".\"$t\"")
		[ "$n" = 0 ] || printf '  %-40s %8s\n' "$t" "$n"
	done
}
