#!/usr/bin/env bash
# recover.sh MODE RECOVERY LAUNCH... PROGRAM — workers die during a map
# (recover.c says how); check what mpipool makes of it.
#
# RECOVERY is "on" (LAUNCH carries mpirun --enable-recovery) or "off".
# With recovery (MODE kill, segv, two, poison, timeout):
#   - the program's own report says the map returned MPIPOOL_OK (kill, segv,
#     two) or MPIPOOL_ETASK (poison, timeout); mpirun --enable-recovery
#     exits 0 whatever the ranks return, so its status proves nothing;
#   - every item that did not fail holds its correct value (the program
#     checks too), and only the expected item failed: none, or item K with
#     "worker died running item K (rank a, SIGSEGV; rank b, SIGSEGV)"
#     (poison) or MPIPOOL_ETIMEDOUT naming the task_timeout (timeout);
#   - the deaths are named on stderr, one line each (1, or 2 for two and
#     poison), and again in the MPIPOOL_STATS table; no item ran more than once more than the deaths it saw
#     (runs are logged by the task itself);
#   - the poison item ran exactly twice;
#   - all within 40 s.
# Without recovery (MODE timeout): the job ends, naming the item and rank.
# MODE killrank kills rank RECOVER_RANK (its host RECOVER_HOST, if set, must
# be named).  RECOVER_REPEAT=N runs the case N times (20 for the soak), each with a new
# random item.  Everything is bounded by `timeout`.
set -u
mode=$1 recovery=$2; shift 2
n=400
repeat=${RECOVER_REPEAT:-1}
fail() { echo "recover.sh ($mode, recovery $recovery, run $run): FAIL: $*" >&2; echo "---- output:" >&2; cat "$dir/log" >&2; exit 1; }

check_recovered() {
  local want deaths most
  case $mode in
    kill|segv|killrank) want=MPIPOOL_OK deaths=1 most=2 ;;
    two) want=MPIPOOL_OK deaths=2 most=3 ;;
    poison) want=MPIPOOL_ETASK deaths=2 most=2 ;;
    timeout) want=MPIPOOL_ETASK deaths=1 most=2 ;;
  esac
  grep -q "^recover: map returned $want:" "$dir/log" || fail "the map did not return $want"
  [ "$(wc -l <"$dir/out")" -eq $n ] || fail "the report does not hold $n items"
  awk '$2 != "failed" && $2 != $1 * $1 + 7 { print "item " $1 " holds " $2; bad = 1 } END { exit bad }' "$dir/out" ||
    fail "wrong results"
  local failed
  failed=$(grep -c ' failed ' "$dir/out")
  case $mode in
    kill|segv|two|killrank) [ "$failed" -eq 0 ] || fail "$failed items failed" ;;
    poison)
      [ "$failed" -eq 1 ] || fail "$failed items failed, expected item $k1 alone"
      grep -Eq "^$k1 failed MPIPOOL_ETASK worker died running item $k1 \(rank [0-9]+, SIGSEGV; rank [0-9]+, SIGSEGV\)\$" \
        "$dir/out" || fail "item $k1 does not say which two workers it killed" ;;
    timeout)
      [ "$failed" -eq 1 ] || fail "$failed items failed, expected item $k1 alone"
      grep -Eq "^$k1 failed MPIPOOL_ETIMEDOUT .*task_timeout of 1 s" "$dir/out" ||
        fail "item $k1 does not say it overran the task_timeout" ;;
  esac
  # Counted anywhere on a line, not only at its start: Open MPI's output
  # forwarding can glue the master's line behind a crashing rank's backtrace.
  [ "$(grep -o 'mpipool: rank [0-9]* (host [^)]*) ' "$dir/log" | wc -l)" -eq $deaths ] ||
    fail "expected $deaths lines naming a dead rank"
  if [ -n "${RECOVER_HOST:-}" ]; then
    grep -q "^mpipool: rank ${RECOVER_RANK:-} (host $RECOVER_HOST) stopped answering" "$dir/log" ||
      fail "no line naming rank ${RECOVER_RANK:-} on $RECOVER_HOST as dead"
  fi
  [ "$(grep -c '^  rank [0-9]* died during the run' "$dir/log")" -eq $deaths ] ||
    fail "the MPIPOOL_STATS table does not name the $deaths dead ranks"
  # Every item ran, none more often than allowed.
  awk -v n=$n -v most=$most '{ c[$1]++ } END {
        for (i = 0; i < n; i++) if (!(i in c)) { print "item " i " never ran"; bad = 1 }
        for (i in c) if (c[i] > most) { print "item " i " ran " c[i] " times"; bad = 1 }
        exit bad }' "$dir/runs" || fail "items ran too often (or never)"
  if [ "$mode" = poison ]; then
    [ "$(awk -v k=$k1 '$1 == k' "$dir/runs" | wc -l)" -eq 2 ] || fail "poison item $k1 did not run exactly twice"
  fi
}

check_ended() {
  [ "$rc" -ne 0 ] || fail "the job exited 0 although a worker was ended"
  grep -Eq "task 'work' ran item $k1 for [0-9.]+ s, longer than the map's task_timeout of 1 s" "$dir/log" ||
    fail "no line naming item $k1 and its time limit"
}

for run in $(seq 1 "$repeat"); do
  dir=$(mktemp -d "${TMPDIR:-/tmp}/recover.XXXXXX")
  # A random moment: the item whose first run kills its worker.
  k1=$((50 + RANDOM % (n - 100))) k2=$((50 + RANDOM % (n - 100)))
  [ $k2 -eq $k1 ] && k2=$((k1 + 1))
  t0=$(date +%s)
  RECOVER_ITEM=$k1 RECOVER_ITEM2=$k2 MPIPOOL_RECOVERY_TIMEOUT=1 MPIPOOL_STATS=1 timeout 60 "$@" "$mode" $n "$dir" >"$dir/log" 2>&1
  rc=$?
  secs=$(($(date +%s) - t0))
  [ $rc -eq 124 ] && fail "still running after 60 s"
  if [ "$recovery" = on ]; then check_recovered; else check_ended; fi
  [ $secs -le 40 ] || fail "took $secs s"
  echo "recover.sh ($mode, recovery $recovery, run $run): ok in $secs s (item $k1$([ "$mode" = two ] && echo " and $k2"))"
  rm -rf "$dir"
done
