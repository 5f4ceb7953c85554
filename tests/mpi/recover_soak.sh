#!/usr/bin/env bash
# recover_soak.sh [BUILD_DIR] — the in-job recovery soak (issue 17): kill -9
# one worker at a random item, 20 times at 4 ranks and 20 times at 6 ranks,
# under `mpirun --enable-recovery`; each run must pass every check of
# recover.sh (map OK, results right, no item lost, none run more than once
# more than the deaths it saw).  Not in CTest (CTest runs 3 + 1 of these);
# run it by hand after changing the engine:  bash tests/mpi/recover_soak.sh build
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
# shellcheck source=../../scripts/env.sh
source "$here/../../scripts/env.sh"
prog=$build/tests/mpi/recover
[ -x "$prog" ] || { echo "recover_soak.sh: build $prog first" >&2; exit 2; }
for n in 4 6; do
  RECOVER_REPEAT=${RECOVER_REPEAT:-20} bash "$here/recover.sh" kill on \
    mpiexec.openmpi -n $n --oversubscribe --enable-recovery "$prog" || exit 1
done
echo "recover_soak.sh: every run passed"
