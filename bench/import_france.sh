#!/usr/bin/env bash
#
# bench/import_france.sh
#     Benchmark (not a test): all of France, the 101 départements at once, as
#     an operator's "import_ecoloweb_data --yes" with the default --jobs, on
#     a generated national source shaped like the published Ecoloweb DDL (no
#     index on a foreign-key column). bench/scale.sh does the work and prints
#     the wall time, the ratio to the COPY bound of the same run, rows/s per
#     entity class, peak RSS per worker and queries per département.
#
#     Usage: bench/import_france.sh [extra import_ecoloweb_data options]
#     Environment: CONVENTIONS per département [100], LOGEMENTS most
#     logements of a programme [160: about 2 M source logements],
#     FK_INDEXES=1 for a source with the foreign-key indexes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEPS=all CONVENTIONS=${CONVENTIONS:-100} LOGEMENTS=${LOGEMENTS:-160} exec "$here/scale.sh" "$@"
