#!/usr/bin/env bash
#
# fuzz/run-fuzz.sh
#     Runs libFuzzer targets for a bounded time, FUZZ_JOBS at a time (make
#     fuzz calls it from the build directory, the targets built in fuzz/).
#
#     Usage: run-fuzz.sh SRCDIR TARGET...
#     Environment: FUZZ_SECONDS (default 60) per target, FUZZ_JOBS (default
#     2) targets at once.
#
#     Each target fuzz/fuzz_TARGET runs on a fresh copy of the seed corpus
#     SRCDIR/fuzz/corpus/TARGET (fuzz/TARGET.corpus/: the seeds never change),
#     with SRCDIR/fuzz/dict/TARGET.dict when there is one; its output goes to
#     fuzz/TARGET.log. A crash (any non-zero exit: a sanitizer report, a leak,
#     a broken property, a timeout) leaves the input that caused it in
#     fuzz/crashes/ and makes the script fail. Prints per target the
#     executions, the time and the crashes.
set -u

srcdir=$1
shift
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
status=0 crashes=0

# max_len TARGET: the longest input worth trying
max_len() {
	case "$1" in
	protocol) echo 16387 ;;   # a decoder buffer's worth of frames, and more
	departements) echo 1024 ;; # a few hundred codes
	*) echo 4096 ;;
	esac
}

# run TARGET: one libFuzzer run, its report in fuzz/TARGET.result
run() {
	local t=$1 corpus=fuzz/$1.corpus dict=() rc=0 t0 execs
	rm -rf "$corpus"
	mkdir -p "$corpus" fuzz/crashes
	cp "$srcdir/fuzz/corpus/$t"/* "$corpus"/
	chmod -R u+w "$corpus" # distcheck's source files are read-only
	[ ! -f "$srcdir/fuzz/dict/$t.dict" ] || dict=("-dict=$srcdir/fuzz/dict/$t.dict")
	t0=$(date +%s)
	"fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=30 -max_len="$(max_len "$t")" \
		-print_final_stats=1 -artifact_prefix="fuzz/crashes/$t-" "${dict[@]}" \
		"$corpus" >"fuzz/$t.log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "fuzz/$t.log")
	printf '%s %s %s %s\n' "$rc" "${execs:-?}" "$(($(date +%s) - t0))" \
		"$(find "$corpus" -type f | wc -l)" >"fuzz/$t.result"
}

# report TARGET: prints the line of a finished run; counts its crash
report() {
	local t=$1 rc execs secs entries
	read -r rc execs secs entries <"fuzz/$t.result"
	if [ "$rc" = 0 ]; then
		printf 'fuzz_%-12s %10s executions in %3s s, corpus %4s inputs, 0 crashes\n' \
			"$t" "$execs" "$secs" "$entries"
		return
	fi
	crashes=$((crashes + 1))
	status=1
	printf 'fuzz_%-12s %10s executions in %3s s, CRASH (exit %s): see fuzz/%s.log\n' \
		"$t" "$execs" "$secs" "$rc" "$t"
	tail -n 40 "fuzz/$t.log" | sed 's/^/  | /'
	sed -n 's/.*Test unit written to /  input kept: /p' "fuzz/$t.log"
}

printf 'make fuzz: %s targets, %s s each, %s at a time\n' "$#" "$seconds" "$jobs"
t0=$(date +%s)
while [ "$#" -gt 0 ]; do
	batch=()
	while [ "$#" -gt 0 ] && [ "${#batch[@]}" -lt "$jobs" ]; do
		batch+=("$1")
		shift
	done
	for t in "${batch[@]}"; do
		run "$t" &
	done
	wait
	for t in "${batch[@]}"; do
		report "$t"
	done
done
printf 'make fuzz: %s crashes, %s s in all%s\n' "$crashes" "$(($(date +%s) - t0))" \
	"$([ "$crashes" = 0 ] || echo ', inputs kept in fuzz/crashes/')"
exit "$status"
