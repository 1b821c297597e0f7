#!/usr/bin/env bash
#
# bench/import_one.sh
#     Benchmark (not a test): one département of 400 generated conventions
#     (about 1,600 APiLos conventions and 50,000 logements) against the COPY
#     bound of the same run (bench/scale.sh). FK_INDEXES=1: a source with the
#     foreign-key indexes.
#
#     Usage: bench/import_one.sh [extra import_ecoloweb_data options]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEPS=${DEPS:-33} CONVENTIONS=${CONVENTIONS:-400} LOGEMENTS=${LOGEMENTS:-100} \
	exec "$here/scale.sh" "$@"
