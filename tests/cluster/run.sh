#!/usr/bin/env bash
# run.sh — mpipool on a 3-host cluster over TCP (three network namespaces
# made by cluster.sh), launched from a hostfile the way a real cluster job
# is: mpirun on the head node (node01) starts Open MPI's daemons on the other
# hosts through an "ssh" (tests/cluster/rsh) and the ranks talk over TCP
# only.
#
#   tests/cluster/run.sh BUILD_DIR     (a configured Open MPI build, built)
#
# What it checks, in order:
#   1. set-up is idempotent (up twice), and the hosts really are separate:
#      a job restricted to shared memory (btl self,vader) must fail;
#   2. the square example over 3 hosts prints exactly what it prints on one
#      host;
#   3. every host runs items, and each rank reports its own host (where.c);
#      the task farm (mpipool-run) runs jobs on every host, and its joblog
#      names the host of each job;
#   4. every MPI test of the suite (its 4-rank variant) passes over 3 hosts
#      (but the *_single and *_hier twins: see below);
#      then a host's link goes down mid-map: the job ends within 15 s
#      naming that host, and run again with the link back it resumes from
#      its journal (MPIPOOL_JOURNAL) and loses nothing;
#   5. MPICH's hydra, launched the same way, runs where.c three times:
#      reported, never a failure (MPICH 4.0.2 with UCX over TCP hangs in
#      MPI_Finalize now and then; each run is bounded by a timeout);
#   6. tear-down is idempotent and leaves no namespace and no process.
# Exit 0 = passed, 1 = failed, 77 = this machine cannot make namespaces
# (CTest's SKIP_RETURN_CODE), with a line saying why.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
cl="$here/cluster.sh"
export MPIPOOL_CLUSTER_STATE=${MPIPOOL_CLUSTER_STATE:-/tmp/mpipool-cluster-$$}
state=$MPIPOOL_CLUSTER_STATE
# shellcheck source=../../scripts/env.sh
. "$root/scripts/env.sh"

why=$("$cl" check)
rc=$?
if [ $rc -ne 0 ]; then
  echo "cluster: SKIPPED: $why"
  exit 77
fi

fails=0
pass() { echo "cluster: ok: $*"; }
fail() { echo "cluster: FAILED: $*"; fails=$((fails + 1)); }
cleanup() { "$cl" down >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$cl" down
"$cl" up && "$cl" up || { echo "cluster: FAILED: set-up"; exit 1; }
pass "3 hosts up (set-up run twice)"
# The hostfile is hostfile.example itself (its hosts are node01-03), and the
# MPICH one is made from its commented MPICH lines, as its comments say.
hostfile="$root/hostfile.example"
sed -n 's/^# \(node0[0-9]*:[0-9]*\)$/\1/p' "$hostfile" >"$state/hostfile.mpich"

# The job as a cluster user starts it: on the head node, with a hostfile.
MPIRUN=(mpiexec.openmpi --hostfile "$hostfile" --map-by node
        --mca plm_rsh_agent "$here/rsh"
        --mca oob_tcp_if_include "10.77.0.0/24")
TCP=(--mca btl tcp,self --mca btl_tcp_if_include "10.77.0.0/24")
on1() { timeout "$1" "$cl" on node01 "${@:2}"; }

# 1. Separate hosts: shared memory alone cannot connect them.
if on1 60 "${MPIRUN[@]}" --mca btl self,vader -n 3 "$build/examples/square" >"$state/sep.log" 2>&1; then
  fail "a job with btl self,vader only ran across the hosts: they are not separate"
elif grep -q "unable to reach each other" "$state/sep.log"; then
  pass "btl self,vader cannot reach the other hosts (they are separate)"
else
  fail "the self,vader job failed, but not for want of a path:"; tail -5 "$state/sep.log"
fi

# 2. square: the same output over 3 hosts as on one.
"$build/examples/square" >"$state/square-local.txt" 2>&1
if on1 120 "${MPIRUN[@]}" "${TCP[@]}" -n 4 "$build/examples/square" >"$state/square-cluster.txt" 2>&1 &&
   cmp -s "$state/square-local.txt" "$state/square-cluster.txt"; then
  pass "square over 3 hosts = square on one host ($(wc -l <"$state/square-local.txt") lines)"
else
  fail "square over 3 hosts differs from one host:"; diff "$state/square-local.txt" "$state/square-cluster.txt" | head
fi

# 3. Every host runs items; each rank reports its host.
if on1 120 "${MPIRUN[@]}" "${TCP[@]}" -n 4 "$build/tests/cluster/where" 60 >"$state/where.txt" 2>&1; then
  hosts=$(awk '/^item/ {print $6}' "$state/where.txt" | sort -u | tr '\n' ' ')
  master=$(awk '/^master host/ {print $3}' "$state/where.txt")
  # --map-by node: rank r runs on node0(r % 3 + 1).
  bad=$(awk '/^item/ { if ($6 != "node0" ($4 % 3 + 1)) print }' "$state/where.txt" | head -3)
  items=$(grep -c '^item' "$state/where.txt")
  if [ "$hosts" = "node01 node02 node03 " ] && [ "$master" = node01 ] && [ -z "$bad" ] && [ "$items" -eq 60 ]; then
    pass "60 items ran on $hosts(master on $master); every rank on the host --map-by node gives it"
    awk '/^item/ {print "  rank " $4 " on " $6}' "$state/where.txt" | sort -u
  else
    fail "where: hosts '$hosts', master '$master', $items items, misplaced: $bad"
  fi
else
  fail "where did not run:"; tail -5 "$state/where.txt"
fi

# 3b. The task farm over 3 hosts: each job prints the host it ran on, and
#     the joblog (GNU parallel's format) names the hosts.
if [ -x "$build/tools/mpipool-run" ]; then
  seq 1 24 | sed 's/^/echo job /; s/$/ $(hostname)/' >"$state/farm.in"
  if on1 120 "${MPIRUN[@]}" "${TCP[@]}" -n 4 "$build/tools/mpipool-run" -k --joblog "$state/farm.joblog" \
       -a "$state/farm.in" </dev/null >"$state/farm.out" 2>"$state/farm.err"; then
    out_hosts=$(awk '{print $3}' "$state/farm.out" | sort -u | tr '\n' ' ')
    log_hosts=$(awk -F'\t' 'NR > 1 {print $2}' "$state/farm.joblog" | sort -u | tr '\n' ' ')
    # each job's joblog Host is the host its output names
    agree=$(awk -F'\t' 'NR > 1 {print $1, $2}' "$state/farm.joblog" | sort -n |
            paste -d' ' - <(awk '{print $2, $3}' "$state/farm.out") | awk '$1 != $3 || $2 != $4' | wc -l)
    if [ "$(wc -l <"$state/farm.out")" -eq 24 ] && [ "$out_hosts" = "node01 node02 node03 " ] &&
       [ "$log_hosts" = "node01 node02 node03 " ] && [ "$agree" -eq 0 ]; then
      pass "mpipool-run over 3 hosts: 24 jobs, in order; the joblog names $log_hosts(each job's host as it printed)"
    else
      fail "mpipool-run over 3 hosts: output hosts '$out_hosts', joblog hosts '$log_hosts', $agree mismatches"
      head -3 "$state/farm.joblog"
    fi
  else
    fail "mpipool-run over 3 hosts did not run:"; tail -5 "$state/farm.err"
  fi
fi

# 4. The MPI test suite, 4 ranks, over 3 hosts.  Left to the one-host
#    suite: the twins that differ from a test here only in the thread level
#    (*_single: the same program under plain MPI_Init) or in the hierarchy
#    being forced on (*_hier, but map_hier): what crosses the hosts is the
#    same as in their twin, and map_hier and test_hierarchy keep a group
#    leader and its members on different hosts (--map-by node).  That was
#    43.7 s of this test's 202 s (one run: the 8 twins' own times).
tests=$(cd "$build" && ctest --show-only=json-v1 -L mpi -R '_np4$' -E '_single_np4$|_(async|batch|errors|hooks|pieces|policy|resume)_hier_np4$' | python3 -c '
import json, os, sys
for t in json.load(sys.stdin)["tests"]:
    cmd = t["command"]
    # [contain.sh SECS] mpiexec -n 4 [flags] PROGRAM ARGS...: keep PROGRAM ARGS.
    # Tests run by a driver script (it launches mpiexec itself, e.g. to kill
    # a rank) are listed as skipped: they are about one host.
    if os.path.basename(cmd[0]) == "contain.sh":
        cmd = cmd[2:]
    if not os.path.basename(cmd[0]).startswith("mpiexec"):
        print(t["name"], 0, "-", "SKIP", sep="\t")
        continue
    exe = next(i for i, c in enumerate(cmd) if i > 0 and "/" in c and os.access(c, os.X_OK))
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    env = [e for e in props.get("ENVIRONMENT", []) if e.startswith("MPIPOOL_")]
    # The 2 GB stream of test_imap is about the master'"'"'s memory on one
    # host; over TCP here 200 MB show the same protocol in a tenth the time.
    env.append("MPIPOOL_TEST_STREAM_ITEMS=200000")
    print(t["name"], int(props.get("TIMEOUT", 60)), ",".join(env) or "-", " ".join(cmd[exe:]), sep="\t")
')
n=0 skipped=""
while IFS=$'\t' read -r name tmo env cmd; do
  [ -n "$name" ] || continue
  if [ "$cmd" = SKIP ]; then skipped="$skipped $name"; continue; fi
  n=$((n + 1))
  # The test's own MPIPOOL_* settings, for every rank on every host.
  kv=() xs=()
  if [ "$env" != "-" ]; then
    IFS=, read -r -a kv <<<"$env"
    for e in "${kv[@]}"; do xs+=(-x "$e"); done
  fi
  # shellcheck disable=SC2086 # the command's words, as CTest lists them
  t0=$(date +%s.%N)
  if on1 $((tmo * 2)) env "${kv[@]}" "${MPIRUN[@]}" "${TCP[@]}" "${xs[@]}" -n 4 $cmd </dev/null >"$state/$name.log" 2>&1; then
    pass "$name over 3 hosts ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s)"
  else
    # What the test said went wrong (cmocka's lines and the harness's),
    # then the end of its output.
    fail "$name over 3 hosts:"
    grep -E '^ERROR: |^\[  (ERROR|FAILED) |: error: |FAILED on|rank [0-9]+ failed' "$state/$name.log" | head -20
    tail -8 "$state/$name.log"
  fi
done <<<"$tests"
[ $n -gt 0 ] || fail "found no MPI tests to run in $build"
[ -z "$skipped" ] || echo "cluster: note: run by driver scripts on one host, not here:$skipped"

# 4b. A host's link goes down mid-map: the job must end within 15 s, naming
#     the lost host.  Open MPI's default would notice after minutes (TCP
#     retransmission); its out-of-band keepalive, tuned here, notices in
#     about keepalive_time + probes * intvl = 4 s.
KEEPALIVE=(--mca oob_tcp_keepalive_time 1 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3)
fault_log="$state/fault.log"
JOURNAL=(-x MPIPOOL_JOURNAL="$state/fault.journal")
on1 60 env WHERE_LOG="$state/exec1.log" "${MPIRUN[@]}" "${TCP[@]}" "${KEEPALIVE[@]}" "${JOURNAL[@]}" \
    -x WHERE_LOG -n 4 "$build/tests/cluster/where" 600 50 </dev/null >"$fault_log" 2>&1 &
fault_pid=$!
# Wait until the map is under way and some items have run (and so been
# journalled as their chunks came back), bounded at 30 s.
for _ in $(seq 300); do
  [ "$(wc -l 2>/dev/null <"$state/exec1.log" || echo 0)" -ge 60 ] && break
  sleep 0.1
done
t_down=$(date +%s.%N)
"$cl" link node03 down
wait $fault_pid
frc=$?
t_end=$(date +%s.%N)
"$cl" link node03 up
# The resumed job needs the link carrying packets again, both ways.
"$cl" reach node03 node01 10 && "$cl" reach node01 node03 10 ||
  fail "fault: node03's link was set up again, but node01 and node03 do not reach each other within 10 s"
took=$(awk -v a="$t_down" -v b="$t_end" 'BEGIN{printf "%.1f", b - a}')
if ! grep -q '^started' "$fault_log"; then
  fail "fault: the map never started"; tail -5 "$fault_log"
elif [ $frc -eq 0 ] || [ $frc -eq 124 ]; then
  fail "fault: node03's link went down; the job exited $frc after $took s"; tail -5 "$fault_log"
elif ! awk -v t="$took" 'BEGIN{exit !(t < 15)}'; then
  fail "fault: the job took $took s to end (limit 15 s)"
elif ! grep -q 'node03' "$fault_log"; then
  fail "fault: the job ended (exit $frc, $took s) without naming node03:"; tail -8 "$fault_log"
else
  pass "fault: node03's link down mid-map; the job ended in $took s (exit $frc) naming it:"
  grep -m2 -E 'lost communication|Remote daemon' "$fault_log" | sed 's/^/    /'
fi
# ... and, with the link back, the same job resumes from its journal: every
# item in the output exactly once, the items it did not run again were run
# by the first attempt, and it ran fewer than all of them.
if on1 120 env WHERE_LOG="$state/exec2.log" "${MPIRUN[@]}" "${TCP[@]}" "${JOURNAL[@]}" -x WHERE_LOG \
     -n 4 "$build/tests/cluster/where" 600 50 </dev/null >"$state/resume.txt" 2>&1; then
  touch "$state/exec2.log"
  items=$(awk '/^item/ {print $2}' "$state/resume.txt" | sort -n | uniq | wc -l)
  all=$(grep -c '^item' "$state/resume.txt")
  ran2=$(sort -n -u "$state/exec2.log" | wc -l)
  dup2=$(sort -n "$state/exec2.log" | uniq -d | wc -l)
  # items not run now must have run in the first attempt
  replayed_not_run=$(comm -23 <(seq 0 599 | sort) <(sort -u "$state/exec2.log") | comm -23 - <(sort -u "$state/exec1.log") | wc -l)
  if [ "$items" -eq 600 ] && [ "$all" -eq 600 ] && [ "$ran2" -lt 600 ] && [ "$dup2" -eq 0 ] && [ "$replayed_not_run" -eq 0 ]; then
    pass "fault: resumed from the journal on the restored hosts: 600 items, $((600 - ran2)) from the journal, $ran2 run again"
  else
    fail "fault: resume: $items distinct items of $all lines, $ran2 run again ($dup2 twice), $replayed_not_run never run"
  fi
else
  fail "fault: the resumed job failed:"; tail -5 "$state/resume.txt"
fi

# 4c. In-job recovery over 3 hosts (issue 17): under --enable-recovery the
#     worker on node03 (rank 2: --map-by node) is killed (SIGKILL, by itself)
#     mid-map; the map completes on the other hosts, every result right, no
#     item lost, and the master names rank 2 on node03 (recover.sh's checks).
if on1 150 env RECOVER_RANK=2 RECOVER_HOST=node03 bash "$root/tests/mpi/recover.sh" killrank on \
     "${MPIRUN[@]}" "${TCP[@]}" --enable-recovery -x RECOVER_ITEM -x RECOVER_ITEM2 -x RECOVER_RANK \
     -x MPIPOOL_RECOVERY_TIMEOUT -x MPIPOOL_STATS -n 4 "$build/tests/mpi/recover" </dev/null \
     >"$state/recover.log" 2>&1; then
  pass "recovery: the worker on node03 was killed mid-map; $(grep -o 'ok in [0-9]* s' "$state/recover.log"), map complete on node01-02"
else
  # recover.sh's verdict is its first lines, then the job's whole output.
  fail "recovery over 3 hosts: $(grep -m1 'FAIL: ' "$state/recover.log")"; tail -12 "$state/recover.log"
fi

# 5. MPICH's hydra, the same way: reported only.  Three runs of where.c,
#    one rank per host (-ppn 1), each bounded by 20 s.
mwhere="$build/../build-mpich/tests/cluster/where"
if [ -x "$mwhere" ] && command -v mpiexec.mpich >/dev/null; then
  ok=0 hung=0 other=0
  for k in 1 2 3; do
    on1 20 env UCX_TLS=tcp,self UCX_NET_DEVICES=eth0 mpiexec.mpich -f "$state/hostfile.mpich" \
        -launcher ssh -launcher-exec "$here/rsh" -n 4 -ppn 1 "$mwhere" 12 </dev/null >"$state/mpich-$k.txt" 2>&1
    case $? in
      0) ok=$((ok + 1)) ;;
      124) hung=$((hung + 1)) ;;
      *) other=$((other + 1)) ;;
    esac
  done
  hosts=$(awk '/^item/ {print $6}' "$state"/mpich-*.txt | sort -u | tr '\n' ' ')
  echo "cluster: note: MPICH (hydra, UCX over TCP) over 3 hosts: $ok of 3 runs finished," \
       "$hung hung past 20 s, $other failed; items ran on: ${hosts:-none} (reported, not gated: see issue 8)"
fi

# 6. Nothing of the jobs is left running on the hosts; tear-down, twice.
procs=$("$cl" procs | tr '\n' ' ')
if [ -z "${procs// /}" ]; then pass "no process left on the hosts"; else fail "processes left on the hosts: $procs"; ps -o pid,args -p ${procs// /,} 2>/dev/null; fi
"$cl" down && "$cl" down
left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(node0[123]|mpipool-br)$' | tr '\n' ' ')
if [ -z "$left" ]; then pass "torn down (twice): no namespace left"; else fail "namespaces left: $left"; fi
trap - EXIT

if [ $fails -eq 0 ]; then echo "cluster: all checks passed"; exit 0; fi
echo "cluster: $fails check(s) failed"
exit 1
