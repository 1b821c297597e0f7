#!/usr/bin/env bash
#
# run-tests.sh
#     The one command that builds import_ecoloweb_data and runs its whole
#     test suite, on a fresh Debian 12 machine as on a developer's:
#
#       1. installs the Debian packages that are missing (apt-get, as root or
#          with sudo; nothing is fetched when everything is there);
#       2. autoreconf -fi, then an out-of-tree build in _build/ with
#          AddressSanitizer and UndefinedBehaviorSanitizer (--enable-sanitizers);
#       3. make check: unit tests (check) and integration tests, each starting
#          its own throwaway PostgreSQL 15 and Redis on free ports; then
#          make check-faults, the fault campaign (tests/t_fault_campaign.sh),
#          and make fuzz, each fuzz target for 60 s (fuzz/run-fuzz.sh);
#       4. make distcheck: the tarball builds, installs and passes a subset
#          of its tests, enough to show it holds what they need (sql/, tools/,
#          tests/lib/, the oracle): the unit tests, t_sample, t_generated,
#          t_redis and t_nasty_text (the whole suite already ran in step 3,
#          and CI has 30 minutes); skip with --no-distcheck or RUN_DISTCHECK=0.
#
#     Ends with one line "N passed, N failed, N skipped" read from automake's
#     .trs files, and a non-zero status on any failure.
#
#     Usage: ./run-tests.sh [--no-distcheck]
#     Environment: TESTS="tests/t_cli.sh ..." runs only those tests;
#     SHARED is the shared folder (default: ../shared beside the repository).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"

run_distcheck=${RUN_DISTCHECK:-1}
for arg in "$@"; do
	case "$arg" in
	--no-distcheck) run_distcheck=0 ;;
	-h | --help)
		sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		printf 'run-tests.sh: unknown argument %s (see --help)\n' "$arg" >&2
		exit 2
		;;
	esac
done

# shellcheck source=tests/lib/common.sh
. "$repo/tests/lib/common.sh"

builddir=$repo/_build
vgbuilddir=$repo/_build-valgrind
passed=0 failed=0 skipped=0 step_failed=

# step NAME: prints a header with the time since the start.
start_time=$(date +%s)
step() {
	printf '\n=== %s (at %ss)\n' "$*" "$(($(date +%s) - start_time))"
}

# count_results adds up the :test-result: lines of the .trs files of the
# build directory (automake's parallel test harness writes one per test).
count_results() {
	local f res
	passed=0 failed=0 skipped=0
	while IFS= read -r -d '' f; do
		while read -r _ res _; do
			case "$res" in
			PASS | XFAIL) passed=$((passed + 1)) ;;
			SKIP) skipped=$((skipped + 1)) ;;
			*) failed=$((failed + 1)) ;;
			esac
		done < <(grep '^:test-result:' "$f" || true)
	done < <(find "$builddir" "$vgbuilddir" -name '*.trs' -not -path "$builddir/import_ecoloweb_data-*" \
		-print0 2>/dev/null)
}

# finish prints the closing line and exits: non-zero when a test or a step failed.
finish() {
	if [ -n "$step_failed" ]; then
		printf '\nrun-tests.sh: %s failed\n' "$step_failed"
		# a build that fails before any test ran still counts as a failure
		[ "$failed" -gt 0 ] || failed=1
	fi
	printf '%s passed, %s failed, %s skipped\n' "$passed" "$failed" "$skipped"
	if [ -n "$step_failed" ] || [ "$failed" -gt 0 ]; then
		exit 1
	fi
	exit 0
}

step "Debian packages"
ensure_packages "${ECOLO_PACKAGES[@]}" || {
	step_failed="installing the Debian packages"
	finish
}

# The tests read ../shared (the APiLos schema, the Ecoloweb sample): make it
# absolute so that make distcheck, which builds from an unpacked tarball
# elsewhere, finds it too.
if [ -d "$SHARED" ]; then
	SHARED=$(cd "$SHARED" && pwd)
fi
export SHARED

# Sanitizer reports end the failing test with a clear message.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ -f "$repo/config.status" ]; then
	printf 'run-tests.sh: the source tree was configured in place; run "make distclean" there first (the tests build in _build/)\n' >&2
	step_failed="configure"
	finish
fi

step "autoreconf -fi"
autoreconf -fi || {
	step_failed="autoreconf"
	finish
}

step "configure --enable-sanitizers (in _build/)"
mkdir -p "$builddir"
cd "$builddir"
"$repo/configure" --enable-sanitizers >configure.out 2>&1 || {
	tail -n 40 configure.out
	step_failed="configure (see _build/config.log)"
	finish
}

step "make"
make -j2 || {
	step_failed="the build"
	finish
}

step "make check"
find "$builddir" -name '*.trs' -delete
check_args=()
[ -z "${TESTS:-}" ] || check_args=("TESTS=$TESTS")
if ! make -j2 check "${check_args[@]}"; then
	step_failed="make check"
	if [ -f test-suite.log ]; then
		printf '\n=== test-suite.log (failed tests)\n'
		cat test-suite.log
	fi
fi
count_results

if [ -z "$step_failed" ] && [ -z "${TESTS:-}" ]; then
	step "make check-faults (the fault campaign)"
	if ! make check-faults; then
		step_failed="make check-faults"
		tail -n 80 tests/t_fault_campaign.log 2>/dev/null || true
	fi
	count_results
fi

# The fuzz targets (clang, libFuzzer): 60 s each, two at a time, no crash.
if [ -z "$step_failed" ] && [ -z "${TESTS:-}" ]; then
	step "make fuzz (60 s per target, two at a time)"
	if ! make fuzz FUZZ_SECONDS=60; then
		step_failed="make fuzz (inputs that crashed: _build/fuzz/crashes/)"
	fi
fi

# valgrind and AddressSanitizer exclude each other: a plain build runs the
# full import under valgrind (tests/t_valgrind.sh), coordinator and workers.
if [ -z "$step_failed" ] && [ -z "${TESTS:-}" ]; then
	step "valgrind: plain build (in _build-valgrind/), tests/t_valgrind.sh"
	mkdir -p "$vgbuilddir"
	find "$vgbuilddir" -name '*.trs' -delete
	if ! (cd "$vgbuilddir" && "$repo/configure" >configure.out 2>&1 && make -j2 >make.out 2>&1 &&
		make check TESTS=tests/t_valgrind.sh); then
		step_failed="the valgrind check"
		cat "$vgbuilddir/tests/t_valgrind.log" 2>/dev/null || tail -n 40 "$vgbuilddir"/*.out
	fi
	count_results
fi

# The Scalingo deployment kit: the buildpack API's build from a clean checkout,
# then the deployed program alone (scalingo/simulate-build.sh).
if [ -z "$step_failed" ] && [ -z "${TESTS:-}" ]; then
	step "Scalingo: simulated buildpack build (scalingo/simulate-build.sh)"
	if top_builddir=$builddir bash "$repo/scalingo/simulate-build.sh"; then
		passed=$((passed + 1))
	else
		step_failed="the simulated Scalingo build"
		failed=$((failed + 1))
	fi
fi

if [ -z "$step_failed" ] && [ "$run_distcheck" = 1 ] && [ -z "${TESTS:-}" ]; then
	step "make distcheck"
	t0=$(date +%s)
	if ! make -j2 distcheck TESTS="tests/check_units tests/check_column_rules tests/t_sample.sh \
		tests/t_generated.sh tests/t_redis.sh tests/t_nasty_text.sh"; then
		step_failed="make distcheck"
		# distcheck leaves its tree behind on failure: show the failed tests
		find "$builddir" -path "$builddir/import_ecoloweb_data-*" -name test-suite.log \
			-exec printf '\n=== %s (failed tests)\n' {} \; -exec cat {} \;
	fi
	printf 'make distcheck took %ss\n' "$(($(date +%s) - t0))"
fi

finish
