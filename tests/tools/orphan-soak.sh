#!/usr/bin/env bash
# tests/tools/orphan-soak.sh BUILD_DIR [ITERATIONS [MODE]]: issue 20's orphan test, many times.
#
# Runs run.sh's "orphan" scenario ITERATIONS times (default 20) on 3 ranks, with
# the MPI the build uses.  MODE term (default, the issue's case): SIGTERM to the
# launcher, SIGKILL 1 s later if it still lives, then --resume at once; kill:
# SIGKILL at once.  CTest runs 2 iterations of term (tool_mpipool_run_orphan_np3);
# this is the long run.  Exit 0 when every iteration passed; one line per run.
set -u
build=$(cd "${1:?usage: orphan-soak.sh BUILD_DIR [ITERATIONS [term|kill]]}" && pwd)
iters=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$here/../../scripts/env.sh"
mpiexec=$(grep -E '^MPIEXEC_EXECUTABLE:' "$build/CMakeCache.txt" | cut -d= -f2)
extra=()
case $("$mpiexec" --version 2>&1) in *"Open MPI"*|*OpenRTE*) extra=(--oversubscribe) ;; esac
ORPHAN_ITERS=$iters ORPHAN_MODE=${3:-term} \
  exec bash "$here/run.sh" orphan 3 "$build/tools/mpipool-run" "$mpiexec" -n 3 "${extra[@]}"
