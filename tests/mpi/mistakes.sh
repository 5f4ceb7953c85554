#!/usr/bin/env bash
# mistakes.sh MODE LAUNCH... PROGRAM — a newcomer's mistake (mistakes.c) is
# named: the line that says which call is missing must be in the output,
# whatever the launcher makes of the job afterwards.  Bounded by timeout.
set -u
mode=$1; shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 60 "$@" "$mode" >"$out" 2>&1
rc=$?
fail() { echo "mistakes.sh ($mode): FAIL: $*" >&2; cat "$out" >&2; exit 1; }
[ $rc -ne 124 ] || fail "the job hung"
case $mode in
noserve)
  grep -q "MPIPOOL_ENOTMASTER: mpipool_map: called on rank 1; only the master (rank 0) may (workers serve: mpipool_serve" "$out" ||
    fail "the worker's map did not name mpipool_serve"
  grep -q "mpipool \[rank 1\]: the program is ending on a worker that never served" "$out" ||
    fail "no line saying the worker never served" ;;
noclose)
  grep -q "^master: MPIPOOL_OK, out\[3\] = 8" "$out" || fail "the map did not run"
  grep -q "mpipool \[rank 0\]: the program is ending without mpipool_close(pool)" "$out" ||
    fail "no line naming the missing mpipool_close" ;;
*) fail "unknown mode" ;;
esac
echo "mistakes.sh ($mode): named (launcher exit status $rc)"
