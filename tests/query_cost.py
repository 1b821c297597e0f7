#!/usr/bin/env python3
"""tests/query_cost.py: the work each Ecoloweb query did, from the plans
that auto_explain (log_analyze, log_format json) wrote to a PostgreSQL log.

For every plan whose query text starts with a "-- NAME.sql" comment (the
importer's queries, sql/*.sql), prints one line "NAME TUPLES": the rows that
passed through every plan node, counted once per loop, plus the rows the
node's filters removed. A nested loop that rescans a table (or a
materialized copy of it) for each outer row counts each rescan, so this
number grows with the square of the data when a join is not linear, where
buffer counts may not (a Materialize node reads its table once).

Usage: query_cost.py POSTGRESQL_LOG [FROM_BYTE]
"""
import json
import re
import sys

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
NAME = re.compile(r"--\s*([a-z_]+)\.sql")


def plans(text):
    """yield the JSON plans of the log, in order"""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if STAMP.match(lines[i]) and "plan:" in lines[i]:
            j = i + 1
            while j < len(lines) and lines[j] and not STAMP.match(lines[j]):
                j += 1
            yield json.loads("\n".join(lines[i + 1:j]))
            i = j
        else:
            i += 1


def node_tuples(node):
    loops = node.get("Actual Loops", 0)
    per_loop = node.get("Actual Rows", 0)
    for k in ("Rows Removed by Filter", "Rows Removed by Join Filter",
              "Rows Removed by Index Recheck"):
        per_loop += node.get(k, 0)
    total = per_loop * loops
    for child in node.get("Plans", []):
        total += node_tuples(child)
    return total


def main():
    path = sys.argv[1]
    start = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    with open(path, "rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    for plan in plans(text):
        m = NAME.match(plan.get("Query Text", "").lstrip())
        if m:
            print(m.group(1), int(node_tuples(plan["Plan"])))


if __name__ == "__main__":
    main()
