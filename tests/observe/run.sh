#!/usr/bin/env bash
# run.sh — the observation tests (CTest helper): run observe_prog with one
# of the MPIPOOL_* observation variables and check what it produced.
#
#   run.sh MODE WORKDIR NRANKS PROG [LAUNCH...]
#
#   trace  MPIPOOL_TRACE: the JSON parses and every item is in exactly one span
#   png    the trace drawn by scripts/trace2png.sh is a PNG (77 = skipped: no gnuplot)
#   stats  MPIPOOL_STATS=1: the table on stderr adds up to the items run
#   log    MPIPOOL_PROGRESS=1, stderr a file: whole lines, the last at 100%
#   pty    stderr a pseudo-terminal (script(1)): a bar redrawn in place with
#          \r, ending at 100%; under mpiexec, where rank 0's stderr is a pipe,
#          MPIPOOL_PROGRESS=1 gives log lines and =bar forces the bar
# LAUNCH is the mpiexec prefix; none runs PROG as an MPI singleton.
# Nothing waits on a clock: progress is drawn at every update
# (MPIPOOL_PROGRESS_INTERVAL=0) and only the output is checked.
set -uo pipefail
mode=$1 dir=$2 nranks=$3 prog=$4
shift 4
launch=("$@")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
N=600
ITEMS=$((N + 90 + 50))
mkdir -p "$dir"
out=$dir/stdout.txt err=$dir/stderr.txt
rm -f "$dir"/*

fail() { echo "run.sh $mode: $*" >&2; for f in "$out" "$err"; do [ -f "$f" ] && { echo "--- $f" >&2; head -c 3000 "$f" | cat -v >&2; echo >&2; }; done; exit 1; }
run() { # env... : run the program, stdout and stderr to files
  env "$@" timeout 50 "${launch[@]}" "$prog" "$N" >"$out" 2>"$err" || fail "the program failed ($?)"
}
check_stdout() {
  [ "$(cat "$out")" = "$(printf 'job 1: ok\njob 2: ok\njob 3: ok')" ] || fail "stdout is not the three job lines"
}

case "$mode" in
trace|png)
  run MPIPOOL_TRACE="$dir/trace.json"
  check_stdout
  python3 "$here/check_trace.py" "$dir/trace.json" "$nranks" 1="$N" 2=90 3=50 || fail "bad trace"
  if [ "$mode" = png ]; then
    command -v gnuplot >/dev/null || { echo "run.sh: no gnuplot; skipped"; exit 77; }
    timeout 50 "$root/scripts/trace2png.sh" "$dir/trace.json" "$dir/timeline.png" || fail "trace2png.sh failed"
    magic=$(head -c 8 "$dir/timeline.png" | od -An -tx1 | tr -d ' \n')
    [ "$magic" = 89504e470d0a1a0a ] || fail "timeline.png is not a PNG ($magic)"
    size=$(stat -c %s "$dir/timeline.png")
    [ "$size" -gt 5000 ] || fail "timeline.png is only $size bytes"
    echo "run.sh png: $dir/timeline.png, $size bytes"
  fi
  ;;
stats)
  run MPIPOOL_STATS=1
  check_stdout
  grep -q "^mpipool stats: .* $ITEMS items in " "$err" || fail "no stats header for $ITEMS items"
  workers=$(( nranks > 1 ? nranks - 1 : 1 ))
  rows=$(grep -cE '^ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+% +[0-9]+ +[0-9]+$' "$err")
  [ "$rows" -eq "$workers" ] || fail "$rows worker rows, expected $workers"
  sum=$(grep -E '^ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+ ' "$err" | awk '{s += $2} END {print s}')
  [ "$sum" -eq "$ITEMS" ] || fail "the rows add up to $sum items, expected $ITEMS"
  grep -q "load imbalance: max/mean busy = " "$err" || fail "no load imbalance line"
  grep -q "master CPU: " "$err" || fail "no master CPU line"
  ;;
log)
  # Interval 0 means the display's floor (10 ms); 2 ms per item makes each
  # job last long enough for several lines.
  run MPIPOOL_PROGRESS=1 MPIPOOL_PROGRESS_INTERVAL=0 OBSERVE_ITEM_US=2000
  check_stdout
  grep -q $'\r' "$err" && fail "carriage returns in a log that is not a terminal"
  grep -q $'\033' "$err" && fail "escape codes in a log that is not a terminal"
  n1=$(grep -c '^mpipool: job 1: ' "$err")
  [ "$n1" -ge 2 ] || fail "only $n1 lines for job 1"
  last1=$(grep '^mpipool: job 1: ' "$err" | tail -n 1)
  [[ $last1 == "mpipool: job 1: 100% $N/$N items, "*" items/s, done in "* ]] || fail "job 1 ends with: $last1"
  last2=$(grep '^mpipool: job 2: ' "$err" | tail -n 1)
  [[ $last2 == "mpipool: job 2: 100% 90/90 items, "*"done in "* ]] || fail "job 2 ends with: $last2"
  last3=$(grep '^mpipool: job 3: ' "$err" | tail -n 1)
  # a stream has no total until its source ends: then it has one
  grep -qE '^mpipool: job 3: [0-9]+ items, [0-9.]+ items/s, [0-9.]+ s so far$' "$err" || fail "no count-only line for the imap"
  [[ $last3 == "mpipool: job 3: 100% 50/50 items, "*"done in "* ]] || fail "job 3 ends with: $last3"
  # the counts never go down
  grep '^mpipool: job 1: ' "$err" | sed -E 's/.* ([0-9]+)\/[0-9]+ items.*/\1/' | sort -n -c || fail "job 1's counts go down"
  ;;
pty)
  command -v script >/dev/null || { echo "run.sh: no script(1); skipped"; exit 77; }
  printf -v cmd '%q ' "${launch[@]}" "$prog" "$N"
  ts=$dir/typescript
  pty_run() { # progress-value file
    SHELL=/bin/sh MPIPOOL_PROGRESS=$1 MPIPOOL_PROGRESS_INTERVAL=0 \
      timeout 50 script -qfec "exec $cmd >$(printf %q "$out")" "$2" >/dev/null </dev/null || fail "the program failed under script"
    check_stdout
  }
  check_bar() { # file
    local reds
    reds=$(grep -ao $'\rmpipool: job 1: \[' "$1" | wc -l)
    [ "$reds" -ge 2 ] || fail "job 1's bar was drawn $reds times"
    grep -aq $'\rmpipool: job 1: \[########################\] 100% '"$N/$N items, [0-9.]* items/s, done in [^\r]*"$'\033\\[K\r\\?$' "$1" \
      || fail "job 1's bar does not end at 100% with a newline"
    grep -aq 'job 1: ok' "$1" && fail "stdout reached the terminal"
    true
  }
  if [ ${#launch[@]} -eq 0 ]; then
    pty_run 1 "$ts"            # a singleton's stderr is the terminal: a bar
    check_bar "$ts"
  else
    pty_run 1 "$ts"            # rank 0's stderr is mpiexec's pipe: log lines
    grep -aq $'\rmpipool: job' "$ts" && fail "MPIPOOL_PROGRESS=1 drew a bar through mpiexec's pipe"
    grep -aq "^mpipool: job 1: 100% $N/$N items" "$ts" || fail "no final log line through mpiexec"
    pty_run bar "$ts.bar"      # forced
    check_bar "$ts.bar"
  fi
  ;;
*) echo "run.sh: unknown mode $mode" >&2; exit 2 ;;
esac
echo "run.sh $mode: ok ($nranks rank(s))"
