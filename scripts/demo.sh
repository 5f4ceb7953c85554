#!/usr/bin/env bash
# Quick start 1: install what is missing, build, and run the square demo on
# 4 ranks (1 master + 3 workers) with Open MPI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh openmpi
. scripts/env.sh
cmake -S . -B build -DMPI_C_COMPILER=mpicc.openmpi \
      -DMPIEXEC_EXECUTABLE=/usr/bin/mpiexec.openmpi -DMPIPOOL_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "+ mpirun -n 4 build/examples/square"
timeout 120 mpirun.openmpi -n 4 build/examples/square
