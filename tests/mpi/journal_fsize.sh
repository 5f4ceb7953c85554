#!/usr/bin/env bash
# journal_fsize.sh MODE PROG WORKDIR NRANKS LAUNCH...
#
# A file-size limit (RLIMIT_FSIZE, `ulimit -f`) met while the journal is
# written must not kill the master with SIGXFSZ (issue 21, item 7): the map
# runs every item, returns MPIPOOL_EJOURNAL with a message naming the
# journal and "file too large", the journal keeps what fit, and a run
# without the limit resumes from it to the clean run's output, running no
# journalled item again.
# MODE: ulimit     `ulimit -f 8` in a shell that execs the program (one rank,
#                  Open MPI: a limit around mpiexec breaks the launcher, and
#                  MPICH's MPI_Init, first)
#       setrlimit  journal_prog --fsize-limit 8192: the master sets it after
#                  MPI is up (any number of ranks)
set -u
mode=$1 prog=$2 work=$3 np=$4
shift 4
launch=("$@")

fail() { echo "journal_fsize[$mode np$np]: FAILED: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
ulimit -c 0
N=1000
J=$work/journal
common=(--n $N --chunk 8)

# 1. A clean run, no journal.
"${launch[@]}" "$prog" "${common[@]}" --dir "$work/clean" --out "$work/clean.out" --journal "" \
  >"$work/clean.log" 2>&1 || { cat "$work/clean.log"; fail "the clean run failed"; }

# 2. The run under the limit: map #0's 16 KiB of results cannot all fit in 8 KiB.
args=("${common[@]}" --dir "$work/r1" --out "$work/r1.out" --journal "$J")
case $mode in
ulimit) "${launch[@]}" bash -c 'ulimit -f 8 && exec "$@"' limited "$prog" "${args[@]}" >"$work/r1.log" 2>&1 ;;
setrlimit) "${launch[@]}" "$prog" "${args[@]}" --fsize-limit 8192 >"$work/r1.log" 2>&1 ;;
*) fail "unknown mode $mode" ;;
esac
rc1=$?
cat "$work/r1.log"
echo "limited run: exit status $rc1"
grep -q 'File size limit\|signal 25\|SIGXFSZ' "$work/r1.log" && fail "a process died of SIGXFSZ"
[ "$rc1" -ne 0 ] || fail "the limited run exited 0"
[ "$rc1" -lt 128 ] || fail "the limited run died of a signal (exit status $rc1)"
line=$(grep "^journal_prog: map #0: " "$work/r1.log") || fail "map #0 did not fail"
for want in "every item ran" "journal '$J'" "file too large" "ulimit -f"; do
  case $line in *"$want"*) ;; *) fail "the message does not say \"$want\"" ;; esac
done
ran=$(cat "$work"/r1/exec.* | grep -c '^0 ')
[ "$ran" -eq "$N" ] || fail "map #0 ran $ran of its $N items"
[ "$(cat "$work"/r1/exec.* | grep '^0 ' | sort -u | wc -l)" -eq "$N" ] || fail "an item of map #0 ran twice"
size=$(stat -c %s "$J")
[ "$size" -le 8192 ] || fail "the journal is $size bytes, over the limit"
"$prog" --dump "$J" | sort >"$work/journalled" || fail "the journal is unreadable"
saved=$(wc -l <"$work/journalled")
echo "journalled under the limit: $saved items ($size bytes)"
[ "$saved" -gt 0 ] && [ "$saved" -lt "$N" ] || fail "$saved items journalled, expected some but not all"

# 3. Without the limit: resume, same output, nothing journalled runs again.
"${launch[@]}" "$prog" "${common[@]}" --dir "$work/r2" --out "$work/r2.out" --journal "$J" \
  >"$work/r2.log" 2>&1 || { cat "$work/r2.log"; fail "the resumed run failed"; }
cmp "$work/clean.out" "$work/r2.out" || fail "the resumed output differs from the clean run's"
cat "$work"/r2/exec.* 2>/dev/null | sort >"$work/rerun"
again=$(comm -12 "$work/journalled" "$work/rerun" | wc -l)
[ "$again" -eq 0 ] || fail "$again journalled items ran again"
echo "journal_fsize[$mode np$np]: passed"
