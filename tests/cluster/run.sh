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
#   4. every MPI test of the suite (its 4-rank variant) passes over 3 hosts;
#      then a host's link goes down mid-map: the job ends within 15 s
#      naming that host;
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

# 4. The MPI test suite, 4 ranks, over 3 hosts.
tests=$(cd "$build" && ctest --show-only=json-v1 -L mpi -R '_np4$' | python3 -c '
import json, os, sys
for t in json.load(sys.stdin)["tests"]:
    cmd = t["command"]
    exe = next(i for i, c in enumerate(cmd) if "/tests/" in c and os.access(c, os.X_OK))
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    env = [e for e in props.get("ENVIRONMENT", []) if e.startswith("MPIPOOL_")]
    # The 2 GB stream of test_imap is about the master'"'"'s memory on one
    # host; over TCP here 200 MB show the same protocol in a tenth the time.
    env.append("MPIPOOL_TEST_STREAM_ITEMS=200000")
    print(t["name"], int(props.get("TIMEOUT", 60)), ",".join(env) or "-", " ".join(cmd[exe:]), sep="\t")
')
n=0
while IFS=$'\t' read -r name tmo env cmd; do
  [ -n "$name" ] || continue
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
    fail "$name over 3 hosts:"; tail -15 "$state/$name.log"
  fi
done <<<"$tests"
[ $n -gt 0 ] || fail "found no MPI tests to run in $build"

# 4b. A host's link goes down mid-map: the job must end within 15 s, naming
#     the lost host.  Open MPI's default would notice after minutes (TCP
#     retransmission); its out-of-band keepalive, tuned here, notices in
#     about keepalive_time + probes * intvl = 4 s.
KEEPALIVE=(--mca oob_tcp_keepalive_time 1 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3)
fault_log="$state/fault.log"
on1 60 "${MPIRUN[@]}" "${TCP[@]}" "${KEEPALIVE[@]}" -n 4 "$build/tests/cluster/where" 600 50 \
    </dev/null >"$fault_log" 2>&1 &
fault_pid=$!
for _ in $(seq 300); do grep -q '^started' "$fault_log" 2>/dev/null && break; sleep 0.1; done
t_down=$(date +%s.%N)
"$cl" link node03 down
wait $fault_pid
frc=$?
t_end=$(date +%s.%N)
"$cl" link node03 up
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
