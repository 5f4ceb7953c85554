#!/usr/bin/env bash
# journal_kill.sh MODE PROG WORKDIR NRANKS LAUNCH...
#
# Kill journal_prog at a random point, run it again with the same journal,
# and check that
#   - the resumed output is byte-identical to a clean run's;
#   - no item whose result was in the journal after the kill ran again;
#   - the first run saved something and did not finish.
# MODE: abort        a task calls abort() at a random item
#       abort-static the same with map #0 in static mode (journalled whole,
#                    when its gather completes)
#       kill-worker  kill -9 of rank 1's PID (what the program wrote)
#       kill-master  kill -9 of rank 0's PID
#       sigterm      SIGTERM to the mpiexec this script started; also checks
#                    the summary line and that it matches the journal
#       sigterm-direct  the same with no launcher (NRANKS 1, LAUNCH empty):
#                    SIGTERM to the program itself, whose exit status must
#                    be exactly 75
# Progress is read from the files the program writes (bounded waits), never
# assumed after a sleep.  Only PIDs this test started are signalled.
set -u
mode=$1 prog=$2 work=$3 np=$4
shift 4
launch=("$@")

fail() { echo "journal_kill[$mode np$np]: FAILED: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
ulimit -c 0 # abort() must not leave core files
N=1000
TOTAL=$((N + N / 2)) # items of map #0 and map #1
# A random point in the run (so kills land in either map); printed so that a
# failure can be reproduced with JOURNAL_KILL_POINT.
# SIGTERM reaches the ranks only 1 s after Open MPI's mpirun gets it: kill
# early enough, and with slow enough tasks, that the run cannot end first.
span=$((TOTAL - 400)) delay=3000
case $mode in sigterm*) span=500 delay=6000 ;; esac
point=${JOURNAL_KILL_POINT:-$((50 + RANDOM % span))}
echo "mode=$mode np=$np kill point=$point of $TOTAL items"
J=$work/journal
common=(--n $N --chunk 8)
[ "$mode" = abort-static ] && common+=(--static)

# Wait (at most 60 s) until the tasks have logged at least $1 executions.
wait_progress() {
  local want=$1 i
  for ((i = 0; i < 6000; i++)); do
    local got
    got=$(cat "$work"/r1/exec.* 2>/dev/null | wc -l)
    [ "$got" -ge "$want" ] && return 0
    kill -0 "$bg" 2>/dev/null || return 1
    sleep 0.01
  done
  return 1
}
wait_file() {
  local i
  for ((i = 0; i < 6000; i++)); do
    [ -s "$1" ] && return 0
    sleep 0.01
  done
  return 1
}

# 1. A clean run, no journal.
"${launch[@]}" "$prog" "${common[@]}" --dir "$work/clean" --out "$work/clean.out" --journal "" \
  >"$work/clean.log" 2>&1 || { cat "$work/clean.log"; fail "the clean run failed"; }

# 2. The run that dies.
rc1=0
case $mode in
abort | abort-static)
  if [ "$point" -lt "$N" ]; then at=$point; else at=$((100000 + point - N)); fi
  "${launch[@]}" "$prog" "${common[@]}" --dir "$work/r1" --out "$work/r1.out" --journal "$J" \
    --abort-at "$at" --delay-us 500 >"$work/r1.log" 2>&1
  rc1=$?
  ;;
kill-worker | kill-master | sigterm | sigterm-direct)
  env_j=()
  jopt=(--journal "$J")
  if [ "$mode" != kill-worker ] && [ "$mode" != kill-master ]; then
    env_j=(env MPIPOOL_JOURNAL="$J") # the environment variable, no code change
    jopt=()
  fi
  "${env_j[@]}" "${launch[@]}" "$prog" "${common[@]}" --dir "$work/r1" --out "$work/r1.out" "${jopt[@]}" \
    --delay-us "$delay" >"$work/r1.log" 2>&1 &
  bg=$!
  wait_progress "$point" || { wait "$bg"; cat "$work/r1.log"; fail "the first run made no progress (or ended early)"; }
  case $mode in
  kill-worker) wait_file "$work/r1/pid.1" || fail "no pid.1"; kill -9 "$(cat "$work/r1/pid.1")" ;;
  kill-master) wait_file "$work/r1/pid.0" || fail "no pid.0"; kill -9 "$(cat "$work/r1/pid.0")" ;;
  sigterm | sigterm-direct) kill -TERM "$bg" ;;
  esac
  wait "$bg"
  rc1=$?
  ;;
*) fail "unknown mode $mode" ;;
esac
echo "first run: exit status $rc1"
# The program writes its output only when both maps are done.
[ ! -e "$work/r1.out" ] || { cat "$work/r1.log"; fail "the first run finished: the kill came too late"; }
[ "$mode" = sigterm ] || [ "$rc1" -ne 0 ] || fail "the first run died with exit status 0"
"$prog" --dump "$J" | sort >"$work/journalled" || fail "the journal after the kill is unreadable"
saved=$(wc -l <"$work/journalled")
echo "journalled after the kill: $saved items"
[ "$saved" -lt "$TOTAL" ] || fail "everything was journalled: the kill came too late"

if [ "$mode" = sigterm ] || [ "$mode" = sigterm-direct ]; then
  # The map returned MPIPOOL_EINTR; the program printed its last error.
  line=$(grep 'interrupted by SIGTERM: ' "$work/r1.log") || { cat "$work/r1.log"; fail "no summary line"; }
  echo "summary: $line"
  echo "$line" | grep -q 'run the program again with the same journal to resume' ||
    fail "the summary does not say how to resume"
  done_n=$(echo "$line" | sed -E 's/.*interrupted by SIGTERM: ([0-9]+) of ([0-9]+) items.*/\1/')
  of_n=$(echo "$line" | sed -E 's/.*interrupted by SIGTERM: ([0-9]+) of ([0-9]+) items.*/\2/')
  if [ "$of_n" = "$N" ]; then seq=0; else seq=1; fi
  in_j=$(grep -c "^$seq " "$work/journalled")
  [ "$done_n" = "$in_j" ] || fail "the summary says $done_n done, the journal holds $in_j of map #$seq"
  # The master exits 75: checked exactly with no launcher in between.  What
  # mpiexec returns after it was signalled is its own business, so it is
  # only printed: Open MPI's mpirun returns 1; MPICH's 75, but also 9 (it
  # SIGKILLed workers still finishing their chunks) or even 0 (1 rank).
  if [ "$mode" = sigterm-direct ]; then
    [ "$rc1" -eq 75 ] || fail "exit status $rc1, expected 75"
  fi
fi

# 3. Resume with the same journal.
env_j=()
jopt=(--journal "$J")
case $mode in sigterm*) env_j=(env MPIPOOL_JOURNAL="$J") jopt=() ;; esac
"${env_j[@]}" "${launch[@]}" "$prog" "${common[@]}" --dir "$work/r2" --out "$work/r2.out" "${jopt[@]}" \
  >"$work/r2.log" 2>&1 || { cat "$work/r2.log"; fail "the resumed run failed"; }
cmp "$work/clean.out" "$work/r2.out" || fail "the resumed output differs from the clean run's"
cat "$work"/r2/exec.* 2>/dev/null | sort >"$work/rerun"
again=$(comm -12 "$work/journalled" "$work/rerun" | wc -l)
[ "$again" -eq 0 ] || { comm -12 "$work/journalled" "$work/rerun" | head; fail "$again journalled items ran again"; }
ran=$(wc -l <"$work/rerun")
[ $((ran + saved)) -ge "$TOTAL" ] || fail "only $saved journalled + $ran run of $TOTAL items"
echo "resumed: $ran items ran, $saved came from the journal; output identical"
# 4. A third run has nothing left to do.
"${env_j[@]}" "${launch[@]}" "$prog" "${common[@]}" --dir "$work/r3" --out "$work/r3.out" "${jopt[@]}" \
  >"$work/r3.log" 2>&1 || { cat "$work/r3.log"; fail "the third run failed"; }
cmp "$work/clean.out" "$work/r3.out" || fail "the third run's output differs"
[ "$(cat "$work"/r3/exec.* 2>/dev/null | wc -l)" -eq 0 ] || fail "the third run ran items again"
echo "journal_kill[$mode np$np]: passed"
