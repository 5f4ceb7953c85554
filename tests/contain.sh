#!/usr/bin/env bash
# contain.sh SECONDS COMMAND [ARGS...] — run a test command and check that it
# leaves no process behind.
#
# How: the command runs with MPIPOOL_CONTAIN_TAG=<unique value> in its
# environment (and only it: this script's own environment, and so that of
# the checks below, does not carry it).  Environments are inherited, and
# mpiexec (Open MPI's and MPICH's hydra) passes its environment to every
# rank and helper it starts, so every process the test started carries the
# tag whatever its process group or session.  After the command ends (or
# is timed out: `timeout` ends the command's whole process group after
# SECONDS, then KILLs it 5 s later), any live process whose environment
# holds the tag was left behind: we list it, kill it by its PID, and fail.
# Processes of other tests or users never carry this tag, so nothing else is
# touched.  A process that rebuilt its environment from scratch would escape
# the check; no launcher we use does that.
#
# Exit status: the command's, or 1 if it passed but left processes behind,
# or 124 if it timed out.
set -u
secs=$1; shift
tag="$$.$(date +%s%N).$RANDOM"
MPIPOOL_CONTAIN_TAG=$tag timeout --kill-after=5 "$secs" "$@"
rc=$?
[ $rc -eq 124 ] && echo "contain.sh: timed out after ${secs} s: $*" >&2

leftovers() { # PIDs of live processes that carry our tag
  local f pid state
  for f in $(grep -lzx -- "MPIPOOL_CONTAIN_TAG=$tag" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${f#/proc/}; pid=${pid%/environ}
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || continue
    [ "$state" = Z ] && continue   # a zombie runs nothing; its parent reaps it
    echo "$pid"
  done
}

# Ranks may take a moment to go once mpiexec has returned.
left=""
for _ in $(seq 1 30); do
  left=$(leftovers)
  [ -z "$left" ] && break
  sleep 0.1
done
if [ -n "$left" ]; then
  echo "contain.sh: processes left behind by: $*" >&2
  for pid in $left; do
    echo "  pid $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" >&2
  done
  kill -KILL $left 2>/dev/null
  [ $rc -eq 0 ] && rc=1
fi
exit $rc
