#!/usr/bin/env bash
# test_sigterm_atexit.sh PROGRAM LAUNCHER... — issue 21, item 3: start
# test_sigterm_atexit.c (closes its pool in an atexit handler) under
# LAUNCHER, wait until it prints the master's PID and that item 0 runs,
# send SIGTERM to the master, then check: the atexit close finished within
# 1 s of the signal ("closed: ..." line; the old library deadlocked there),
# the map returned MPIPOOL_EINTR, the job's exit status is 75
# (mpipool_exit_status(MPIPOOL_EINTR)), and the launcher was gone within
# 5 s (its own teardown included).  Synchronisation is by reading the
# program's output, never by sleeping; the whole run is bounded by timeout.
set -u
prog=$1; shift
dir=$(mktemp -d) || exit 1
lpid=""
cleanup() { [ -n "$lpid" ] && kill -KILL "$lpid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
mkfifo "$dir/out"
timeout 40 "$@" "$prog" "$dir/journal" >"$dir/out" 2>"$dir/err" &
lpid=$!
exec 3<"$dir/out"
now_ms() { echo $(($(date +%s%N) / 1000000)); }
fail() { echo "test_sigterm_atexit: FAILED: $*"; sed 's/^/  stderr: /' "$dir/err" | head -n 30; exit 1; }

master="" running=0
while [ -z "$master" ] || [ $running -eq 0 ]; do
  IFS= read -r -t 30 line <&3 || fail "no 'master pid' and 'item 0 running' lines within 30 s"
  echo "  out: $line"
  case $line in
    "master pid "*) master=${line#master pid } ;;
    "item 0 running") running=1 ;;
  esac
done
case $master in ''|*[!0-9]*) fail "bad master PID '$master'" ;; esac
t0=$(now_ms)
kill -TERM "$master" || fail "could not signal the master (PID $master)"
closed_ms="" map_line=""
while IFS= read -r -t 30 line <&3; do
  echo "  out: $line"
  case $line in
    "closed: "*) closed_ms=$(($(now_ms) - t0)) ;;
    "map returned "*) map_line=$line ;;
  esac
done
wait "$lpid"
rc=$?
lpid=""
exit_ms=$(($(now_ms) - t0))
echo "  status $rc; close done ${closed_ms:-never} ms and launcher gone $exit_ms ms after SIGTERM"
[ "$map_line" = "map returned MPIPOOL_EINTR" ] || fail "the map did not return MPIPOOL_EINTR ('$map_line')"
[ -n "$closed_ms" ] || fail "the atexit close never finished"
[ "$closed_ms" -le 1000 ] || fail "the atexit close took $closed_ms ms after SIGTERM (limit 1000)"
[ $rc -eq 75 ] || fail "exit status $rc, expected 75"
[ "$exit_ms" -le 5000 ] || fail "the launcher took $exit_ms ms to end after SIGTERM (limit 5000)"
echo "test_sigterm_atexit: passed"
