#!/usr/bin/env bash
# Quick start 1: install what is missing, build, and run the square demo on
# 4 ranks (1 master + 3 workers) with Open MPI; then print how to run the
# examples by hand, with the environment this script set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh openmpi
. scripts/env.sh
cmake -S . -B build -DMPI_C_COMPILER=mpicc.openmpi \
      -DMPIEXEC_EXECUTABLE=/usr/bin/mpiexec.openmpi -DMPIPOOL_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "+ mpirun -n 4 build/examples/square"
timeout 120 mpirun.openmpi -n 4 build/examples/square

# How to do the same by hand.  The variables are scripts/env.sh's, printed
# from it so this text cannot drift from what the demo used.
top=$PWD
cat <<TEXT

==== Run the examples by hand
This demo ran Open MPI with these variables, which are not in your shell
(running as root, more ranks than cores, containers without ptrace rights):

$(grep '^export ' scripts/env.sh | sed 's/^/    /')

Set them in your shell with:  . $top/scripts/env.sh
(MPICH needs none of them.)  Then, from $top (where the file names
below resolve; --oversubscribe does what OMPI_MCA_rmaps_base_oversubscribe=1
does):

TEXT
# name, arguments and rank count of each example, as docs/guide.md lists them
while read -r ranks name args; do
  [ -x "build/examples/$name" ] || continue
  echo "    mpirun.openmpi --oversubscribe -n $ranks $top/build/examples/$name${args:+ $args}"
done <<'LIST'
4 square 100
4 cube
4 square_cube
4 print_numbers
4 apply_async
3 work_log
4 pi
4 imap_lines README.md
4 wordcount examples/data/two_cities.txt
4 mandelbrot mandel.ppm 1920 1080
LIST
cat <<TEXT
    $top/build/examples/square        # one rank, no mpirun: the master runs the tasks

The examples' sources are in examples/; what each one shows: docs/guide.md,
section "Examples".
TEXT
