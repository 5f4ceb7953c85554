#!/usr/bin/env bash
# recover_journal.sh MODE RECOVERY LAUNCH... PROGRAM — an item that ended a
# worker is journalled, and a resumed run does not run it again (issue 17).
#
# PROGRAM is recover (recover.c), with MPIPOOL_JOURNAL set.  MODE poison: item
# K segfaults every time it runs; MODE timeout: item K never returns (the
# map's task_timeout is 1 s).  RECOVERY is "on" (LAUNCH carries mpirun
# --enable-recovery) or "off".
# The same command runs again with the same journal until a run loses no
# worker (at most 4 runs).  Then:
#   - it took 2 runs (timeout; poison with recovery, where run 1 fails the
#     item after two deaths) or 3 (poison without recovery: the launcher
#     ends the run at each death, and an item that crashed a worker once
#     runs once more, alone);
#   - item K ran exactly twice in all (poison) or once (timeout), and not
#     in the last run;
#   - the last run reports item K failed, MPIPOOL_ETASK "in an earlier run,
#     worker died running item K (rank a, SIGSEGV...; rank b, SIGSEGV); not
#     run again (journal '...')" or MPIPOOL_ETIMEDOUT "in an earlier run, its
#     task ran N s on rank a ..., longer than the map's task_timeout of 1 s;
#     ...", returns MPIPOOL_ETASK (exit status 3 without recovery), and holds
#     every other item's correct value, each item having run in some run.
# The resumed runs are static maps (the journal must keep item K out of the
# scatter).  Last, the program alone (a one-rank pool) runs nothing and
# reports as the last run did.  Everything is bounded by `timeout`.
set -u
mode=$1 recovery=$2; shift 2
n=200
dir=$(mktemp -d "${TMPDIR:-/tmp}/recover_journal.XXXXXX")
fail() { echo "recover_journal.sh ($mode, recovery $recovery, item $k): FAIL: $*" >&2
         for f in "$dir"/log*; do echo "---- $f:" >&2; cat "$f" >&2; done; exit 1; }
ulimit -c 0 # segfaults leave no core files
k=$((20 + RANDOM % (n - 40)))
export MPIPOOL_JOURNAL=$dir/journal RECOVER_ITEM=$k MPIPOOL_RECOVERY_TIMEOUT=1
lost() { grep -Eq "crashed on item|ran item [0-9]+ for|^mpipool: rank [0-9]+ \\(host" "$1"; }

run=1
static=()
while :; do
  env "${static[@]}" timeout 60 "$@" "$mode" $n "$dir" >"$dir/log$run" 2>&1
  rc=$?
  [ $rc -eq 124 ] && fail "run $run still running after 60 s"
  touch "$dir/runs"
  mv "$dir/runs" "$dir/runs$run"
  lost "$dir/log$run" || break
  [ "$recovery" = on ] || [ $rc -ne 0 ] || fail "run $run exited 0 although a worker was lost"
  [ $run -lt 4 ] || fail "every run lost a worker"
  run=$((run + 1))
  static=(RECOVER_STATIC=1) # most items are left without recovery: a static map would scatter item K too
done
case $mode/$recovery in
  timeout/*|poison/on) [ $run -eq 2 ] || fail "$run runs, expected 2" ;;
  poison/off) [ $run -eq 3 ] || fail "$run runs, expected 3" ;;
esac
[ "$recovery" = on ] || [ $rc -eq 3 ] || fail "run $run exited $rc, not 3 (MPIPOOL_ETASK)"
grep -q "^recover: map returned MPIPOOL_ETASK:" "$dir/log$run" || fail "run $run: the map did not return MPIPOOL_ETASK"
want=2
[ "$mode" = timeout ] && want=1
[ "$(cat "$dir"/runs* | awk -v k=$k '$1 == k' | wc -l)" -eq $want ] || fail "item $k did not run $want times in all"
[ "$(wc -l <"$dir/out")" -eq $n ] || fail "the report does not hold $n items"
[ "$(grep -c ' failed ' "$dir/out")" -eq 1 ] || fail "not item $k alone failed"
case $mode in
  poison) how="worker died running item $k \\(rank [0-9]+, SIGSEGV( \\(an earlier run\\))?; rank [0-9]+, SIGSEGV\\)" code=ETASK ;;
  timeout) how="its task ran [0-9.]+ s on rank [0-9]+( \\(host [^)]*\\))?, longer than the map's task_timeout of 1 s"
           code=ETIMEDOUT ;;
esac
grep -Eq "^$k failed MPIPOOL_$code in an earlier run, $how; not run again \\(journal '$dir/journal'\\)\$" "$dir/out" ||
  fail "item $k does not say how it ended workers in earlier runs: $(grep "^$k " "$dir/out")"
awk '$2 != "failed" && $2 != $1 * $1 + 7 { print "item " $1 " holds " $2; bad = 1 } END { exit bad }' "$dir/out" ||
  fail "wrong results"
cat "$dir"/runs* | awk -v n=$n -v k=$k '{ c[$1]++ } END {
    for (i = 0; i < n; i++) if (i != k && !(i in c)) { print "item " i " never ran"; bad = 1 }
    exit bad }' || fail "items never ran"
# One rank (the program without a launcher): every result is in the
# journal but item K's, which again fails at once, on the master itself.
mv "$dir/out" "$dir/out$run"
timeout 60 "${@: -1}" "$mode" $n "$dir" >"$dir/log_one_rank" 2>&1
rc=$?
[ $rc -eq 3 ] || fail "the one-rank run exited $rc, not 3 (MPIPOOL_ETASK)"
[ ! -e "$dir/runs" ] || fail "the one-rank run ran items: $(cat "$dir/runs")"
cmp -s "$dir/out" "$dir/out$run" || fail "the one-rank run reports otherwise: $(diff "$dir/out$run" "$dir/out")"
echo "recover_journal.sh ($mode, recovery $recovery): ok (item $k; $run runs)"
rm -rf "$dir"
