#!/usr/bin/env bash
# run.sh — mpipool under a real Slurm (tests/slurm/slurm.sh: Debian's
# slurm-wlm 22.05 on the three namespace hosts of tests/cluster), with the
# job scripts of examples/slurm run exactly as shipped (only sbatch's
# command-line options change their size and time limit).
#
#   tests/slurm/run.sh BUILD_DIR     (a configured Open MPI build, built)
#
# What it checks:
#   1. set-up is idempotent (up twice) and the three nodes are idle;
#   2. (a) the library job script (mpipool-job.sbatch) runs the square
#      example over the three hosts: its output equals the one-host run,
#      and sacct (from the job completion log: there is no slurmdbd) says
#      COMPLETED;
#   3. (b) the time limit story, for a library program (slow_square.c,
#      48 s of work, --time=1): Slurm warns the script (--signal=B:TERM),
#      the program exits 75, the script requeues the job, the next run
#      resumes from the journal; it ends COMPLETED after >= 1 requeue, its
#      output is byte-identical to an uninterrupted run's, no item ran again
#      in a later run except the few in flight at a stop, and the whole
#      takes less than a bound;
#      (c) the same for the task farm script (mpipool-run.sbatch: joblog,
#      --resume, status 143), run at the same time;
#      (c2) a farm stopped by `scancel --signal=TERM` requeues itself and
#      completes; then cancelled outright (`scancel`) and submitted again,
#      it resumes from its joblog: every command ran, none twice but those
#      in flight at a stop;
#   4. (d) srun directly (Open MPI over Slurm's PMIx), mpirun inside salloc
#      (Open MPI's ras/plm slurm), each with --ntasks-per-node=2: every host
#      runs items, each rank on the host the block placement gives it;
#   5. tear-down is idempotent, and leaves no namespace and no process.
# Exit 0 = passed, 1 = failed, 77 = skipped (no namespaces, no Slurm), with
# a line saying why.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
sl="$here/slurm.sh"
export MPIPOOL_SLURM_STATE=${MPIPOOL_SLURM_STATE:-/tmp/mpipool-slurm-$$}
state=$MPIPOOL_SLURM_STATE
# shellcheck source=../../scripts/env.sh
. "$root/scripts/env.sh"
# The hosts talk over their private bridge only (sbatch passes this
# environment on to the jobs, and srun/mpirun to every rank), and, as in
# tests/cluster, over TCP even within a host (the three hosts share the
# machine's /dev/shm, which real hosts do not).  The start-up SIGSEGV that
# kept this test out of CI was Slurm's barrier fence reaching no other node
# (slurm.sh writes PMIxCollFence=ring; docs/slurm.md, "The start-up crash").
export OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include=10.77.0.0/24 OMPI_MCA_oob_tcp_if_include=10.77.0.0/24

why=$("$sl" check)
if [ $? -ne 0 ]; then
  echo "slurm: SKIPPED: $why"
  exit 77
fi
if [ "${MPIPOOL_MPI_FLAVOR:-openmpi}" != openmpi ] || ! ompi_info 2>/dev/null | grep -q 'plm: slurm'; then
  echo "slurm: SKIPPED: needs an Open MPI built with Slurm support (ompi_info | grep slurm)"
  exit 77
fi

t_start=$SECONDS
fails=0
pass() { echo "slurm: ok: $*"; }
fail() { echo "slurm: FAILED: $*"; fails=$((fails + 1)); }
cleanup() { "$sl" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# on1 SECS CMD...: a command on the head node, as a user logged in there.
on1() { timeout "$1" "$sl" on node01 "${@:2}"; }
since() { awk -v a="$1" -v b="$SECONDS" 'BEGIN{print b - a}'; }

"$sl" down
if "$sl" up && "$sl" up; then
  pass "Slurm $(on1 10 sinfo --version | awk '{print $2}') up on node01-03 (set-up run twice): $(on1 10 sinfo -h -o '%D nodes %t, %c CPUs each')"
else
  echo "slurm: FAILED: set-up"
  exit 1
fi
work=$state/work
mkdir -p "$work"
# The scripts find mpipool through MPIPOOL_PREFIX, as a user's would.
prefix=$state/prefix
cmake --install "$build" --prefix "$prefix" >"$state/install.log" 2>&1 || { fail "cmake --install"; tail "$state/install.log"; }
export MPIPOOL_PREFIX=$prefix
JOB="$root/examples/slurm/mpipool-job.sbatch"
FARM="$root/examples/slurm/mpipool-run.sbatch"

# submit SECS NAME SBATCH-ARGS...: submit from $work, print the job ID.
submit() {
  on1 "$1" sh -c 'cd "$1" && shift && exec sbatch --parsable "$@"' sh "$work" --job-name="$2" "${@:3}"
}
# field JOBID NAME: a field of `scontrol show job` (while MinJobAge keeps it).
field() {
  on1 10 scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"
}
# wait_done SECS JOBID...: wait until every job is in a final state.
wait_done() {
  local secs=$1 j s left i
  shift
  for ((i = 0; i < secs * 2; i++)); do
    left=0
    for j in "$@"; do
      s=$(field "$j" JobState)
      case $s in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) ;; *) left=1 ;; esac
    done
    [ $left -eq 0 ] && return 0
    sleep 0.5
  done
  return 1
}
# final_state JOBID: the last state sacct has (the completion log has one
# line per end of the job: REQUEUED ones, then the final one).
final_state() { on1 10 sacct -c -n -X -P -j "$1" -o State 2>/dev/null | tail -n 1; }

# farm_ok JOBID NAME N AGAIN: the farm NAME (input NAME.in, N lines) ended
# COMPLETED; its joblog lists every command once, succeeded; its output
# (appended run after run, each run's in order with -k) holds every line
# once; every command ran, and at most AGAIN ran again (in flight at a
# stop).  A command killed by Slurm's own SIGTERM (Slurm signals every
# process of a step) is cut short, not failed: it must not be in the joblog
# as failed (Signal 15, or Exitval 143 from the shell) but rerun by
# --resume.  Sets farm_msg.
farm_ok() {
  local id=$1 name=$2 n=$3 again_max=$4 st log=$work/$2.joblog ok dup ran again lines
  st=$(final_state "$id")
  awk -F'\t' 'NR > 1 && ($7 != 0 || $8 != 0) {print "slurm:   joblog: " $0}' "$log"
  ok=$(awk -F'\t' 'NR > 1 && $7 == 0 && $8 == 0 {print $1}' "$log" | sort -n | uniq | wc -l)
  dup=$(awk -F'\t' 'NR > 1 {print $1}' "$log" | sort -n | uniq -d | wc -l)
  ran=$(sort -u "$work/$name.exec" | wc -l)
  again=$(($(count "$work/$name.exec") - ran))
  lines=$(diff <(sort "$work/$name.out") <(awk '{print "line " $1}' "$work/$name.in" | sort) >/dev/null &&
          echo same || echo differs)
  farm_msg="sacct -c: $st; joblog: $ok of $n succeeded, $dup listed twice; output: $lines;"
  farm_msg="$farm_msg $ran of $n commands ran, $again again (in flight at a stop)"
  [ "$st" = COMPLETED ] && [ "$ok" -eq "$n" ] && [ "$dup" -eq 0 ] && [ "$lines" = same ] &&
    [ "$ran" -ge "$n" ] && [ "$again" -le "$again_max" ]
}

# ---- 2. (a) the library job over three hosts ------------------------------
# One host, no launcher (and without the cluster's interface settings).
local1() { env -u OMPI_MCA_btl -u OMPI_MCA_btl_tcp_if_include -u OMPI_MCA_oob_tcp_if_include "$@"; }
local1 "$build/examples/square" 1000 >"$state/square-local.txt"
t0=$SECONDS
if id=$(submit 20 square --nodes=3 --ntasks-per-node=2 --time=5 "$JOB" "$build/examples/square" 1000) &&
   wait_done 60 "$id"; then
  st=$(final_state "$id")
  if [ "$st" = COMPLETED ] && cmp -s "$state/square-local.txt" "$work/square.out"; then
    pass "(a) sbatch mpipool-job.sbatch square 1000 on $(field "$id" NodeList) ($(since $t0) s): output = one-host run" \
         "($(wc -l <"$work/square.out") lines); sacct -c: $st"
  else
    fail "(a) square job $id: sacct -c says '$st'; output differs from one host:"
    diff "$state/square-local.txt" "$work/square.out" | head -5; tail -5 "$work/square.$id.log"
  fi
else
  fail "(a) square job did not finish in 60 s"; tail -5 "$work"/square.*.log
fi

# ---- 3. (b) + (c) the time limit, a library program and the farm -----------
# 240 items of 1 s on 5 workers: 48 s of work for a 1-minute limit.  Slurm
# checks its limits every 30 s and sends the warning at the first check
# with at most 50 s left (--signal=B:TERM@50), so 10-40 s into a run: the
# first run is always stopped, a resumed run may be stopped again (its
# check may come before it ends), and the hard limit is never reached.  (A
# warning 5 s before the limit comes 25-55 s into a run: that took 64 s of
# work, and this test ~25 s longer.)
N=240
SLOW=(--nodes=3 --ntasks-per-node=2 --time=1 --signal=B:TERM@50)
local1 "$build/tests/slurm/slow_square" "$N" >"$state/slow-ref.txt"
seq 1 "$N" >"$work/farm.in"
# Each command: 1 s, then it notes that it ran (an execution log, as the
# library job's SLOW_LOG) and prints its line.
FARM_CMD=(sh -c "'sleep 1 && echo {} >>$work/farm.exec && echo line {}'")
t0=$SECONDS
lib_id=$(SLOW_MS=1000 SLOW_LOG=$work/slow.exec submit 20 slow "${SLOW[@]}" "$JOB" "$build/tests/slurm/slow_square" "$N")
farm_id=$(submit 20 farm "${SLOW[@]}" "$FARM" -k -a "$work/farm.in" "${FARM_CMD[@]}")

# ---- 3. (c2) scancel --signal=TERM, then scancel and resubmission ---------
# Meanwhile: 120 commands of 1 s on 3 workers (40 s of work).
NSTOP=120
seq 1 $NSTOP >"$work/stop.in"
STOP_CMD=(sh -c "'sleep 1 && echo {} >>$work/stop.exec && echo line {}'")
STOP=(--nodes=2 --ntasks-per-node=2 --time=5 "$FARM" -k -a "$work/stop.in" "${STOP_CMD[@]}")
count() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# wait_lines SECS FILE N: until FILE has N lines.
wait_lines() { local i; for ((i = 0; i < $1 * 5; i++)); do [ "$(count "$2")" -ge "$3" ] && return 0; sleep 0.2; done; return 1; }
stop_id=$(submit 20 stop "${STOP[@]}")
stop2_id=
if wait_lines 60 "$work/stop.exec" 15; then
  on1 10 scancel --signal=TERM "$stop_id"
  n_term=$(count "$work/stop.exec")
  # It requeues itself (status 143) and goes on: once its second run has
  # run a few commands, cancel it for good.
  for ((k = 0; k < 300; k++)); do
    [ "$(field "$stop_id" Restarts)" = 1 ] && [ "$(field "$stop_id" JobState)" = RUNNING ] && break
    sleep 0.2
  done
  n_rerun=$(count "$work/stop.exec")
  if wait_lines 60 "$work/stop.exec" $((n_rerun + 6)) && [ "$(field "$stop_id" Restarts)" -ge 1 ]; then
    on1 10 scancel "$stop_id"
    wait_done 30 "$stop_id"
    st_cancel=$(final_state "$stop_id")
    # cancelled means cancelled: the script must not requeue it
    [ "$st_cancel" = CANCELLED ] && [ "$(field "$stop_id" Restarts)" -eq 1 ] ||
      fail "(c2) scancel: job $stop_id ended '$st_cancel' after $(field "$stop_id" Restarts) requeues (want CANCELLED, 1)"
    n_cancel=$(sort -u "$work/stop.exec" | wc -l)
    [ "$n_cancel" -lt $NSTOP ] || fail "(c2) the farm was done before it was cancelled: the test proves nothing"
    stop2_id=$(submit 20 stop "${STOP[@]}")
  else
    fail "(c2) the farm did not go on after scancel --signal=TERM (restarts: $(field "$stop_id" Restarts))"
    tail -8 "$work/stop.$stop_id.log"
  fi
else
  fail "(c2) the farm to stop never started"; tail -5 "$work/stop.$stop_id.log"
fi
# ...and it finishes, from the joblog.
if [ -n "$stop2_id" ] && wait_done 90 "$stop2_id"; then
  if farm_ok "$stop2_id" stop $NSTOP $((2 * 3)); then
    pass "(c2) farm: scancel --signal=TERM -> status 143 -> requeued and went on; scancel ->" \
         "resubmitted (job $stop_id -> $stop2_id; TERM after $n_term commands, requeued run from $n_rerun," \
         "cancelled ($st_cancel, not requeued) at $n_cancel of $NSTOP) -> resumed from the joblog: $farm_msg"
  else
    fail "(c2) farm stopped, cancelled and resubmitted: $farm_msg"
    tail -8 "$work/stop.$stop2_id.log"
  fi
elif [ -n "$stop2_id" ]; then
  fail "(c2) the resubmitted farm did not finish"; tail -8 "$work/stop.$stop2_id.log"
fi

# (b) and (c): wait for both.  Bound: the work (48 s), the stops and
# restarts (about 10 s each: requeue, cred_expire, scheduling, start-up)
# and two checks' worth of slack.
BOUND=150
if ! wait_done $((BOUND - $(since $t0))) "$lib_id" "$farm_id"; then
  fail "(b, c) the time-limit jobs did not finish within $BOUND s"
fi
took=$(since $t0)
check_lib() {
  local st restarts reruns worst stops statuses
  st=$(final_state "$lib_id")
  restarts=$(field "$lib_id" Restarts)
  # an item run in run r > 0 that had already run in an earlier run
  reruns=$(awk '{ if ($1 in seen && seen[$1] < $2) again[$2]++; if (!($1 in seen)) seen[$1] = $2 }
                END { for (r in again) print again[r] }' "$work/slow.exec" | sort -n | tail -n 1)
  worst=${reruns:-0}
  # Each worker holds at most two chunks of one item: 5 workers, 10 in flight.
  # The program's own status at each stop: srun's line for the master
  # (task 0), or the script's when srun passed it on.
  stops=$(grep -c -E 'task 0: Exited with exit code 75|stopped with work left \(status 75\)' "$work/slow.$lib_id.log")
  # what srun itself returned at each stop (the script's line), for docs/slurm.md
  statuses=$(sed -n 's/.*stopped with work left (status \([0-9]*\)).*/\1/p' "$work/slow.$lib_id.log" | tr '\n' ' ')
  if [ "$st" = COMPLETED ] && [ "${restarts:-0}" -ge 1 ] && cmp -s "$state/slow-ref.txt" "$work/slow.out" &&
     [ "$worst" -le 10 ] && [ "$took" -le $BOUND ] && [ "$stops" -ge "$restarts" ]; then
    pass "(b) library job over a 1-minute limit: $((restarts + 1)) runs, $(grep -c 'requeueing' "$work/slow.$lib_id.log") requeues by the script" \
         "(the master exited 75 each time; srun returned: ${statuses:-nothing}); output byte-identical to an uninterrupted run ($N lines); at most $worst items ran again" \
         "in a run (in flight at a stop; $(wc -l <"$work/slow.exec") executions of $N items); sacct -c: $st; $took s"
  else
    fail "(b) library job: sacct '$st', $restarts restarts, $stops stops with status 75, $worst items ran again in one run, $took s;" \
         "output $(cmp -s "$state/slow-ref.txt" "$work/slow.out" && echo same || echo DIFFERS)"
    cat "$work/slow.$lib_id.log" | tail -20
  fi
}
check_farm() {
  local restarts
  restarts=$(field "$farm_id" Restarts)
  if [ "${restarts:-0}" -ge 1 ] && [ "$took" -le $BOUND ] && farm_ok "$farm_id" farm "$N" $((5 * restarts)); then
    pass "(c) task farm over a 1-minute limit: $((restarts + 1)) runs (status 143, requeued by the script); $farm_msg; $took s"
  else
    fail "(c) task farm: $restarts restarts, $took s; $farm_msg"
    tail -20 "$work/farm.$farm_id.log"
  fi
}
check_lib
check_farm

# ---- 4. (d) srun, mpirun in salloc, --ntasks-per-node placement ----------
# where.c prints "item I rank R host H"; with 2 tasks per node, block
# placement puts rank r on node0(r / 2 + 1).
check_where() { # LABEL FILE
  local hosts bad items
  hosts=$(awk '/^item/ {print $6}' "$2" | sort -u | tr '\n' ' ')
  bad=$(awk '/^item/ { if ($6 != "node0" (int($4 / 2) + 1)) print }' "$2" | head -3)
  items=$(grep -c '^item' "$2")
  if [ "$hosts" = "node01 node02 node03 " ] && [ -z "$bad" ] && [ "$items" -eq 60 ] && grep -q '^master host node01' "$2"; then
    pass "$1: 60 items ran on $hosts; every rank on its --ntasks-per-node=2 host"
  else
    fail "$1: hosts '$hosts', $items items, misplaced: ${bad:-none}"; tail -5 "$2"
  fi
}
if on1 60 srun --nodes=3 --ntasks-per-node=2 "$build/tests/cluster/where" 60 >"$state/srun.txt" 2>&1; then
  check_where "(d) srun (Open MPI over Slurm's PMIx, $(on1 10 scontrol show config | awk '/^MpiDefault/ {print $3}'))" "$state/srun.txt"
else
  fail "(d) srun where:"; tail -5 "$state/srun.txt"
fi
if on1 60 salloc --nodes=3 --ntasks-per-node=2 mpiexec.openmpi "$build/tests/cluster/where" 60 >"$state/salloc.txt" 2>&1; then
  check_where "(d) mpirun inside salloc (Open MPI's ras/plm slurm, no hostfile)" "$state/salloc.txt"
else
  fail "(d) mpirun in salloc:"; tail -5 "$state/salloc.txt"
fi

# ---- 5. nothing left; tear-down twice -------------------------------------
# MPIPOOL_SLURM_KEEP=DIR keeps the jobs' files and the daemons' logs of a
# failed run there.
if [ $fails -gt 0 ] && [ -n "${MPIPOOL_SLURM_KEEP:-}" ]; then
  mkdir -p "$MPIPOOL_SLURM_KEEP" && cp -r "$work" "$state/log" "$state/slurm.conf" "$MPIPOOL_SLURM_KEEP/"
  echo "slurm: files kept in $MPIPOOL_SLURM_KEEP"
fi
# A job whose processes have ended stays COMPLETING while slurmd cleans
# up (seen once in CI: "7 COMPLETING" right after salloc returned): wait
# for those to leave, at most 30 s; any other job left is a failure.
for ((i = 0; i < 60; i++)); do
  left=$(on1 10 squeue -h -o '%i %T' | tr '\n' ' ')
  case " $left" in *COMPLETING*) sleep 0.5 ;; *) break ;; esac
done
[ -z "$left" ] || fail "jobs left in the queue: $left"
"$sl" down && "$sl" down
nss=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(node0[123]|mpipool-br)$' | tr '\n' ' ')
procs=""
for p in $(pgrep -x 'slurmctld|slurmd|slurmstepd|munged' 2>/dev/null); do
  grep -qz "^MPIPOOL_SLURM_STATE=$state$" "/proc/$p/environ" 2>/dev/null && procs="$procs $p"
done
if [ -z "$nss" ] && [ -z "$procs" ] && [ ! -e "$state" ]; then
  pass "torn down (twice): no namespace, no daemon, no state left"
else
  fail "left after tear-down: namespaces '$nss', daemons '$procs'"
fi
trap - EXIT

echo "slurm: $(since $t_start) s in all"
if [ $fails -eq 0 ]; then echo "slurm: all checks passed"; exit 0; fi
echo "slurm: $fails check(s) failed"
exit 1
