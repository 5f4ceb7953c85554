#!/usr/bin/env bash
# test_start.sh PROGRAM LAUNCHER... — run test_start.c under LAUNCHER
# (e.g. mpiexec -n 4): exit status 0, exactly one "after mpipool_start"
# line and it is rank 0's (a worker that returned from mpipool_start would
# print its own), and the master's result (sum of i^2, i < 100 = 328350).
set -u
prog=$1; shift
out=$(timeout 50 "$@" "$prog" 2>&1)
rc=$?
printf '%s\n' "$out"
fail=0
[ $rc -eq 0 ] || { echo "test_start: exit status $rc, expected 0"; fail=1; }
after=$(printf '%s\n' "$out" | grep -c "^after mpipool_start")
rank0=$(printf '%s\n' "$out" | grep -c "^after mpipool_start: rank 0$")
[ "$after" -eq 1 ] && [ "$rank0" -eq 1 ] ||
  { echo "test_start: $after processes got past mpipool_start (only the master, rank 0, may)"; fail=1; }
printf '%s\n' "$out" | grep -q "^sum of squares 0..99: 328350 (MPIPOOL_OK)$" ||
  { echo "test_start: the master's result line is missing or wrong"; fail=1; }
[ $fail -eq 0 ] && echo "test_start: passed"
exit $fail
