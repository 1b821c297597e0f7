#!/bin/bash
#
# tests/t_generated_fk.sh
#     tests/t_generated.sh again, on a source that also has the indexes on
#     its foreign-key columns (tests/ecoloweb_fk_indexes.sql): the queries
#     must give the same rows whichever plans the indexes lead to.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ECOLO_FK_INDEXES=1 exec "$here/t_generated.sh"
