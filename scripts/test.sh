#!/usr/bin/env bash
# Quick start 2: install what is missing, then build and run every test
# (unit, MPI at 1/2/4 ranks, examples, downstream install) twice: under
# Open MPI (build/) and under MPICH (build-mpich/); then run every
# benchmark once on tiny sizes (bench/run --smoke) so none rots.  Timings
# are never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh all
. scripts/env.sh

status=0
run_suite() { # name dir mpicc mpiexec
  local name=$1 dir=$2 cc=$3 exe=$4
  echo "==== $name: configure and build ($dir)"
  cmake -S . -B "$dir" -DMPI_C_COMPILER="$cc" -DMPIEXEC_EXECUTABLE="$exe" \
        -DMPIPOOL_BUILD_TESTS=ON -DMPIPOOL_WERROR=ON >"$dir/configure.log" 2>&1 \
    || { cat "$dir/configure.log"; return 1; }
  if ! cmake --build "$dir" -j"$(nproc)" >"$dir/build.log" 2>&1; then
    grep -E -B2 -A6 "error|Error" "$dir/build.log" | head -n 80; return 1
  fi
  echo "==== $name: ctest"
  (cd "$dir" && ctest --output-on-failure --timeout 300)
}
mkdir -p build build-mpich
run_suite "Open MPI" build mpicc.openmpi /usr/bin/mpiexec.openmpi || status=1
run_suite "MPICH" build-mpich mpicc.mpich /usr/bin/mpiexec.mpich || status=1
echo "==== benchmarks, smoke sizes (bench/run --smoke)"
bash bench/run --smoke || { echo "bench/run --smoke failed" >&2; status=1; }
if [ $status -eq 0 ]; then echo "==== all suites passed (Open MPI and MPICH)"; else echo "==== FAILED" >&2; fi
exit $status
