#!/usr/bin/env bash
#
# bench/import_4.sh
#     Benchmark (not a test): Bretagne, 4 départements x 400 generated
#     conventions (about 200,000 logements), 2 workers at once, against the
#     COPY bound of the same run (bench/scale.sh). FK_INDEXES=1: a source
#     with the foreign-key indexes.
#
#     Usage: bench/import_4.sh [extra import_ecoloweb_data options]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEPS=22,29,35,56 CONVENTIONS=${CONVENTIONS:-400} LOGEMENTS=${LOGEMENTS:-100} JOBS=${JOBS:-2} \
	exec "$here/scale.sh" "$@"
