#!/usr/bin/env bash
# ordered_output.sh LAUNCH... PROGRAM — MPIPOOL_MAP_ORDERED_OUTPUT: the
# master's stdout must read "master: before R", "out 0" .. "out 59",
# "master: after R" for each of the two maps, and its stderr "err 0" ..
# "err 59" twice, in that order, whatever order the chunks finished in.
# (At one rank the master runs the tasks itself, in order.)
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/ordered.XXXXXX")
trap 'rm -rf "$dir"' EXIT
timeout 60 "$@" >"$dir/out" 2>"$dir/err"
rc=$?
for r in 0 1; do echo "master: before $r"; seq 0 59 | sed 's/^/out /'; echo "master: after $r"; done >"$dir/want.out"
for r in 0 1; do seq 0 59 | sed 's/^/err /'; done >"$dir/want.err"
grep -E '^(out|master:) ' "$dir/out" >"$dir/got.out"
grep -E '^err ' "$dir/err" >"$dir/got.err"
status=0
[ $rc -eq 0 ] || { echo "ordered_output.sh: the program exited $rc" >&2; status=1; }
cmp -s "$dir/want.out" "$dir/got.out" || { echo "ordered_output.sh: stdout out of order:" >&2; diff "$dir/want.out" "$dir/got.out" | head -10 >&2; status=1; }
cmp -s "$dir/want.err" "$dir/got.err" || { echo "ordered_output.sh: stderr out of order:" >&2; diff "$dir/want.err" "$dir/got.err" | head -10 >&2; status=1; }
[ $status -eq 0 ] && echo "ordered_output.sh: stdout and stderr in item order ($*)"
[ $status -ne 0 ] && { echo "---- stderr:" >&2; grep -v '^err ' "$dir/err" | head -20 >&2; }
exit $status
