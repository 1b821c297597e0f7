#!/bin/bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# tests/t_log_json.sh
#     --log-format json and the figures of the summary, on synthetic
#     Ecoloweb data (tools/ecoloweb_gen, the four départements of Bretagne):
#       1. an import of 22 29 35 56, 2. a dry run, 3. a département that
#          fails (an unmappable value, --with-bad-rows);
#     each with --log-format json: EVERY line of stdout and stderr must be
#     one JSON object with time (ISO 8601 UTC, milliseconds), level, event
#     (of the documented set) and message, progress lines their counts per
#     entity class, and the launch's events must be there (start, plan,
#     phase, ready, committed or checked or failed, summary, exit). The
#     --summary-json file must validate against doc/summary.schema.json
#     (python3-jsonschema) and carry plausible figures: queries > 0 on both
#     databases, peak RSS > 0 (workers and coordinator), times >= 0, rows/s
#     consistent with rows and seconds. The same import in plain format
#     prints the same events' messages.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$here/lib/servers.sh"

prog=$top_builddir/import_ecoloweb_data
schema=$top_srcdir/doc/summary.schema.json
[ -x "$prog" ] || fail "program not built: $prog"
[ -f "$schema" ] || fail "schema missing: $schema"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed to parse the JSON lines"
python3 -c 'import jsonschema' 2>/dev/null ||
	fail "python3-jsonschema is needed to validate the summary (apt-get install python3-jsonschema)"

DEPS=(22 29 35 56)
GEN_DEPS=$(IFS=,; echo "${DEPS[*]}")
GEN_ARGS=(--departements "$GEN_DEPS" --conventions 40)

servers_start || fail "cannot start the test servers"
SRC=$(servers_url ecoloweb)
DST=$(servers_url apilos)
DST_DRY=$(servers_url apilos_dry)
SRC_BAD=$(servers_url ecoloweb_bad)
DST_BAD=$(servers_url apilos_bad)
REDIS_URL=$(servers_redis_url)
export REDIS_URL
unset SCALINGO_POSTGRESQL_URL SCALINGO_REDIS_URL
dir=$TEST_SERVERS_DIR

load_generated ecoloweb "${GEN_ARGS[@]}"
load_apilos_schema apilos
load_apilos_schema apilos_dry
load_generated ecoloweb_bad "${GEN_ARGS[@]}" --with-bad-rows
load_apilos_schema apilos_bad

# the progress lines come every 10 s; a test hook makes them come at once
export ECOLO_TEST_HEARTBEAT_SECONDS=0.2

# json_run NAME STATUS SRC DST ARGS...: runs the program with --log-format
# json, stdout into $dir/NAME.out, stderr into $dir/NAME.err, the summary
# into $dir/NAME.json; checks the exit status.
json_run() {
	local name=$1 want=$2 src=$3 dst=$4 rc=0
	shift 4
	ECOLO_DATABASE_URL=$src DATABASE_URL=$dst "$prog" --log-format json \
		--summary-json "$dir/$name.json" "$@" >"$dir/$name.out" 2>"$dir/$name.err" || rc=$?
	if [ "$rc" != "$want" ]; then
		sed 's/^/  out| /' "$dir/$name.out" >&2
		sed 's/^/  err| /' "$dir/$name.err" >&2
	fi
	assert_eq "$name: exit status" "$want" "$rc"
}

# check_lines NAME EVENTS...: every line of $dir/NAME.out and .err is a JSON
# log line; each of EVENTS is there at least once.
check_lines() {
	local name=$1 report
	shift
	report=$(python3 - "$dir/$name.out" "$dir/$name.err" "$@" <<'EOF'
import json, re, sys

EVENTS = {"debug", "info", "warning", "error", "launch", "start", "plan", "phase",
          "progress", "ready", "verdict", "committed", "rolled_back", "checked", "failed",
          "summary", "exit"}
LEVELS = {"DEBUG", "INFO", "WARN", "ERROR"}
ENTITIES = {"administration", "bailleur", "programme", "ref_cadastrale", "convention", "lot",
            "logement", "repartition", "piece_jointe", "evenement", "avenant_type"}
COUNTS = {"read", "created", "matched", "skipped", "updated", "errors"}
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
bad, seen, n, progress = [], set(), 0, 0
for path in sys.argv[1:3]:
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            n += 1
            where = "%s:%d" % (path.rsplit("/", 1)[-1], i)
            try:
                o = json.loads(line)
            except ValueError as e:
                bad.append("%s: not JSON (%s): %r" % (where, e, line[:200]))
                continue
            if not isinstance(o, dict):
                bad.append("%s: not an object" % where)
                continue
            for k in ("time", "level", "event", "message"):
                if not isinstance(o.get(k), str):
                    bad.append("%s: no %s: %r" % (where, k, line[:200]))
            if not TIME.match(o.get("time", "")):
                bad.append("%s: time %r" % (where, o.get("time")))
            if o.get("level") not in LEVELS:
                bad.append("%s: level %r" % (where, o.get("level")))
            if o.get("event") not in EVENTS:
                bad.append("%s: event %r" % (where, o.get("event")))
            if "departement" in o and not re.match(r"^(\d{2}|2[AB]|97\d)$", o["departement"]):
                bad.append("%s: departement %r" % (where, o["departement"]))
            seen.add(o.get("event"))
            if o.get("event") == "progress":
                progress += 1
                c = o.get("counts")
                if not isinstance(c, dict) or set(c) != ENTITIES or any(
                        not isinstance(v, dict) or set(v) != COUNTS or
                        any(not isinstance(x, int) or x < 0 for x in v.values())
                        for v in c.values()):
                    bad.append("%s: progress line without its counts: %r" % (where, line[:300]))
                if "departement" not in o or not o.get("state"):
                    bad.append("%s: progress line without departement or state" % where)
for e in sys.argv[3:]:
    if e not in seen:
        bad.append("no %s event (seen: %s)" % (e, " ".join(sorted(seen))))
if n == 0:
    bad.append("no line at all")
print("%d lines, %d progress lines, events: %s" % (n, progress, " ".join(sorted(seen))))
for b in bad[:20]:
    print("BAD " + b)
EOF
) || fail "$name: the line checker failed"
	printf '%s: %s\n' "$name" "$(printf '%s\n' "$report" | head -1)"
	if printf '%s\n' "$report" | grep -q '^BAD '; then
		printf '%s\n' "$report" | grep '^BAD ' | sed 's/^/  /' >&2
		fail "$name: lines that are not the JSON log lines expected"
	fi
	printf 'ok: %s: every line is a JSON log line\n' "$name"
}

# check_summary NAME DRY_RUN EXIT_STATUS STATES: $dir/NAME.json validates
# against the schema, says dry_run and exit_status, each département's
# state (STATES: "22=committed 29=..."), and plausible figures.
check_summary() {
	local name=$1 report
	report=$(python3 - "$schema" "$dir/$name.json" "$2" "$3" "$4" <<'EOF'
import json, sys
import jsonschema

schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
dry, status, states = sys.argv[3] == "true", int(sys.argv[4]), sys.argv[5]
bad = []
try:
    jsonschema.Draft202012Validator.check_schema(schema)
except jsonschema.SchemaError as e:
    bad.append("the schema itself is not valid draft 2020-12: %s" % e.message)
try:
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
except jsonschema.ValidationError as e:
    bad.append("not valid against the schema: %s at %s" % (e.message, list(e.absolute_path)))
# the schema is not vacuous: a worker's figures left out, a count gone negative
for path, change in ((("departements", 0), lambda d: d.pop("source_queries")),
                     (("departements", 0, "entities", "logement"), lambda e: e.update(read=-1))):
    broken = json.loads(json.dumps(doc))
    node = broken
    for k in path:
        node = node[k]
    if isinstance(node, dict) and node.get("peak_rss_kb", 0) is not None:
        change(node)
        try:
            jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
            bad.append("the schema accepts a summary changed at %s" % (path,))
        except jsonschema.ValidationError:
            pass
if doc.get("schema_version") != 1:
    bad.append("schema_version %r" % doc.get("schema_version"))
if doc.get("dry_run") != dry:
    bad.append("dry_run %r" % doc.get("dry_run"))
if doc.get("exit_status") != status:
    bad.append("exit_status %r, the program exited %d" % (doc.get("exit_status"), status))
if not doc.get("coordinator", {}).get("peak_rss_kb", 0) > 0:
    bad.append("coordinator peak RSS %r" % doc.get("coordinator"))
got = " ".join("%s=%s" % (d["departement"], d["state"]) for d in doc.get("departements", []))
if got != states:
    bad.append("states %r, expected %r" % (got, states))
def close(a, b):
    return abs(a - b) <= 0.1 + 0.01 * max(a, b)
for d in doc.get("departements", []):
    code = d["departement"]
    if d.get("peak_rss_kb") is None and d["seconds"] == 0:
        print("%s %s: never started, no figures" % (code, d["state"]))
        continue
    if not (isinstance(d.get("peak_rss_kb"), int) and d["peak_rss_kb"] > 0):
        bad.append("%s: worker peak RSS %r" % (code, d.get("peak_rss_kb")))
        continue
    if not d["source_queries"] > 0 or not d["target_queries"] > 0:
        bad.append("%s: queries Ecoloweb %r, APiLos %r" % (code, d["source_queries"], d["target_queries"]))
    if d["read_seconds"] < 0 or d["write_seconds"] < 0:
        bad.append("%s: negative time" % code)
    if d["read_seconds"] + d["write_seconds"] > d["seconds"] + 0.01:
        bad.append("%s: %.3f s in queries, more than the %.3f s of the worker"
                   % (code, d["read_seconds"] + d["write_seconds"], d["seconds"]))
    rows = sum(e["read"] for e in d["entities"].values())
    if rows != d["rows"]:
        bad.append("%s: rows %r, the entities read %d" % (code, d["rows"], rows))
    if d["seconds"] > 0 and not close(d["rows_per_second"], d["rows"] / d["seconds"]):
        bad.append("%s: rows/s %r, but %d rows in %r s" % (code, d["rows_per_second"], d["rows"], d["seconds"]))
    for what in ("source_queries", "target_queries"):
        part = sum(e[what] for e in d["entities"].values())
        if part > d[what]:
            bad.append("%s: the entities' %s (%d) exceed the département's (%d)" % (code, what, part, d[what]))
    for k in ("read_seconds", "write_seconds"):
        part = sum(e[k] for e in d["entities"].values())
        if part > d[k] + 0.001 * len(d["entities"]):
            bad.append("%s: the entities' %s (%.3f) exceed the département's (%.3f)" % (code, k, part, d[k]))
    for n, e in d["entities"].items():
        t = e["read_seconds"] + e["write_seconds"]
        if t > 0 and not close(e["rows_per_second"], e["read"] / t):
            bad.append("%s %s: rows/s %r, but %d rows in %r s" % (code, n, e["rows_per_second"], e["read"], t))
        if e["read"] > 0 and n not in ("avenant_type",) and e["source_queries"] == 0:
            bad.append("%s %s: %d rows read without a query to Ecoloweb" % (code, n, e["read"]))
    if d["state"] != "failed" and d["entities"]["logement"]["read"] == 0:
        bad.append("%s: no logement read" % code)
    print("%s %s: %d rows in %.2f s (%.0f rows/s), Ecoloweb %d queries %.3f s, APiLos %d queries %.3f s, peak RSS %d kB"
          % (code, d["state"], d["rows"], d["seconds"], d["rows_per_second"], d["source_queries"],
             d["read_seconds"], d["target_queries"], d["write_seconds"], d["peak_rss_kb"]))
print("coordinator peak RSS %s kB" % doc.get("coordinator", {}).get("peak_rss_kb"))
for b in bad:
    print("BAD " + b)
EOF
) || fail "$name: the summary checker failed"
	printf '%s\n' "$report" | grep -v '^BAD ' | sed "s/^/  $name: /"
	if printf '%s\n' "$report" | grep -q '^BAD '; then
		printf '%s\n' "$report" | grep '^BAD ' | sed 's/^/  /' >&2
		fail "$name: the summary JSON is not what it should be"
	fi
	printf 'ok: %s: the summary validates against its schema, with plausible figures\n' "$name"
}

# --- 1. an import of Bretagne ------------------------------------------------
json_run import 0 "$SRC" "$DST" --departement "${DEPS[@]}"
check_lines import launch start plan phase progress ready verdict committed summary exit
check_summary import false 0 "22=committed 29=committed 35=committed 56=committed"
# the summary lines: one per département and one for the launch, on stdout
assert_eq "import: summary lines on stdout" 5 \
	"$(grep -c '"event":"summary"' "$dir/import.out")"
assert_eq "import: nothing but the summary on stdout" 0 \
	"$(grep -vc '"event":"summary"' "$dir/import.out")"

# --- 2. a dry run --------------------------------------------------------------
json_run dry_run 0 "$SRC" "$DST_DRY" --departement 22 29 --dry_run
check_lines dry_run launch start plan phase checked summary exit
check_summary dry_run true 0 "22=checked 29=checked"

# on a terminal too: JSON lines, no dashboard (script(1) gives the program a
# pseudo-terminal as stdout and stderr)
if command -v script >/dev/null 2>&1; then
	rc=0
	ECOLO_DATABASE_URL=$SRC DATABASE_URL=$DST_DRY script -qec \
		"$(printf '%q ' "$prog" --log-format json --departement 29 --dry_run)" /dev/null \
		</dev/null >"$dir/tty.raw" 2>&1 || rc=$?
	assert_eq "dry run on a terminal: exit status" 0 "$rc"
	tr -d '\r' <"$dir/tty.raw" >"$dir/tty.out"
	: >"$dir/tty.err"
	check_lines tty launch checked summary exit
else
	printf 'note: script(1) is missing: the terminal case is not checked\n'
fi

# --- 3. a département that fails ---------------------------------------------
# --with-bad-rows puts the unmappable row in the first département
json_run failing 1 "$SRC_BAD" "$DST_BAD" --departement 22 29 --jobs 1
check_lines failing launch start failed error summary exit
check_summary failing false 1 "22=failed 29=rolled back"
python3 - "$dir/failing.err" <<'EOF' || fail "failing: the error line does not name the unmappable value"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert any(o["level"] == "ERROR" and o.get("departement") == "22" and "12345.5" in o["message"]
           for o in lines)
EOF
printf 'ok: failing: the ERROR line of 22 names the unmappable value\n'

# --- 4. plain and JSON say the same -------------------------------------------
# the same failing launch, plain: its messages are the JSON lines' messages
# (times, pids and durations aside)
rc=0
ECOLO_DATABASE_URL=$SRC_BAD DATABASE_URL=$DST_BAD "$prog" --no-progress --departement 22 29 \
	--jobs 1 >"$dir/plain.out" 2>"$dir/plain.err" || rc=$?
assert_eq "plain failing launch: exit status" 1 "$rc"
norm() { sed -E 's/[0-9]+(\.[0-9]+)?/N/g' | sort; }
plain=$(sed -E 's/^[^ ]+ [A-Z]+ +\[[^]]*\] //' "$dir/plain.err" | grep -v '^running\|^pending\|^ready' | norm)
json=$(python3 -c 'import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(l)
    if o["event"] != "progress":
        print(o["message"])' "$dir/failing.err" | norm)
if [ "$plain" != "$json" ]; then
	diff <(printf '%s\n' "$plain") <(printf '%s\n' "$json") | sed 's/^/  /' >&2
	fail "the plain and the JSON log do not say the same"
fi
printf 'ok: the plain and the JSON log lines say the same\n'

# --- 5. bad usage -------------------------------------------------------------
rc=0
out=$("$prog" --log-format xml --departement 22 2>&1) || rc=$?
assert_eq "--log-format xml: exit status" 2 "$rc"
assert_contains "--log-format xml: says why" "$out" "invalid value 'xml' for --log-format"
# a usage error reaches a log drain as JSON too, when JSON was asked for
rc=0
"$prog" --log-format json --jobs 0 --departement 22 >"$dir/usage.out" 2>"$dir/usage.err" || rc=$?
assert_eq "--log-format json --jobs 0: exit status" 2 "$rc"
check_lines usage error
assert_contains "--log-format json --jobs 0: says why" "$(cat "$dir/usage.err")" "--jobs"

printf 'PASS: %s\n' "$(basename "$0")"
