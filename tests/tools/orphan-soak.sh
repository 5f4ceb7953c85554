#!/usr/bin/env bash
# tests/tools/orphan-soak.sh BUILD_DIR [ITERATIONS]: the orphan case of issue 20, many times.
#
# Runs run.sh's "orphan" scenario (kill the launcher with SIGTERM then SIGKILL
# after 1 s, or SIGKILL at once; then --resume at once) ITERATIONS times (default
# 20) on 3 ranks, with the MPI the build uses.  CTest runs 1 iteration (SIGKILL);
# this is the long run.  Exit 0 when every iteration passed.
set -u
build=$(cd "${1:?usage: orphan-soak.sh BUILD_DIR [ITERATIONS]}" && pwd)
iters=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$here/../../scripts/env.sh"
mpiexec=$(grep -E '^MPIEXEC_EXECUTABLE:' "$build/CMakeCache.txt" | cut -d= -f2)
extra=()
case $("$mpiexec" --version 2>&1) in *"Open MPI"*|*OpenRTE*) extra=(--oversubscribe) ;; esac
ORPHAN_ITERS=$iters exec bash "$here/run.sh" orphan 3 "$build/tools/mpipool-run" "$mpiexec" -n 3 "${extra[@]}"
