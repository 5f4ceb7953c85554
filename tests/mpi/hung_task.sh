#!/usr/bin/env bash
# hung_task.sh LAUNCH... PROGRAM — mpipool_terminate returns within its
# grace although a task never returns (hung_task.c), naming the task, the
# item and the rank; the job then ends (bounded by `timeout 60`).
set -u
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 60 "$@" >"$out" 2>&1
rc=$?
fail() { echo "hung_task.sh: FAIL: $*" >&2; cat "$out" >&2; exit 1; }
[ $rc -ne 124 ] || fail "the job was still running after 60 s"
line=$(grep '^terminate: ' "$out") || fail "mpipool_terminate never returned"
echo "$line"
[[ $line == "terminate: MPIPOOL_ETIMEDOUT after "* ]] || fail "terminate did not report MPIPOOL_ETIMEDOUT"
secs=$(echo "$line" | sed -E 's/^terminate: [A-Z_]+ after ([0-9.]+) s:.*/\1/')
awk -v s="$secs" 'BEGIN { exit !(s < 15) }' || fail "terminate took $secs s (grace 10 s)"
echo "$line" | grep -q "task 'hang' on items 0..0 at rank 1 did not return" || fail "the message does not name task, item and rank"
grep -q '^job: MPIPOOL_EMPI$' "$out" || fail "the job was not ended"
grep -q '^job freed$' "$out" || fail "mpipool_job_free blocked"
echo "hung_task.sh: terminate returned in $secs s; launcher exit status $rc"
