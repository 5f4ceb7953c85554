#!/usr/bin/env bash
# slurm.sh — a real Slurm cluster (Debian's slurm-wlm: munged, slurmctld,
# slurmd) on the three hosts tests/cluster/cluster.sh makes (network, UTS and
# mount namespaces node01-03 on a private bridge).  node01 is the head node:
# munged and slurmctld run there, and one slurmd runs on each host.  A
# slurmd is found by its host name, so three of them on one machine need no
# special build (--enable-multiple-slurmd): each one's namespace is its own
# host, with its own name, address and port 6818.
#
# Everything — slurm.conf, the munge key and socket, the controller's state,
# the spool directories, the logs and the daemons' PIDs — lives in $STATE
# (MPIPOOL_SLURM_STATE, default /tmp/mpipool-slurm).  Nothing is written to
# the machine's /etc, and no daemon runs in the machine's own namespace.
# Client commands find the cluster through SLURM_CONF ($STATE/slurm.conf).
#
#   slurm.sh up             make the hosts, start munged, slurmctld and the
#                           slurmds, wait until the three nodes are idle
#                           (idempotent: a cluster already up is left as is)
#   slurm.sh down           stop the daemons (by their recorded PIDs), remove
#                           the hosts and $STATE (idempotent)
#   slurm.sh check          exit 0 if this machine can run it, else 77 and why
#   slurm.sh on HOST CMD... run CMD on HOST with SLURM_CONF set (a user's shell)
#   slurm.sh conf           print the path of slurm.conf
#
# Must run as root (namespaces; the daemons run as root too).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
me="$here/$(basename "$0")"
cl="$here/../cluster/cluster.sh"
HOSTS=(node01 node02 node03)
STATE=${MPIPOOL_SLURM_STATE:-/tmp/mpipool-slurm}
# The hosts' own state (hosts file) goes inside ours, so one `down` removes all.
export MPIPOOL_CLUSTER_STATE=$STATE/hosts
CPUS=${MPIPOOL_SLURM_CPUS:-8} # per host, as slurm.conf says (not checked against the machine)

say() { echo "slurm.sh: $*" >&2; }

check() {
  local why
  why=$("$cl" check) || { echo "$why"; exit 77; }
  for p in munged slurmctld slurmd sbatch srun scontrol; do
    command -v "$p" >/dev/null || { echo "slurm.sh: no '$p' (scripts/deps.sh installs slurmctld, slurmd, slurm-client, munge)"; exit 77; }
  done
  exit 0
}

write_conf() {
  local d=$STATE
  # cred_expire: how long a requeued job waits before it may start again
  # (default 120 s; the requeue tests would wait that long).
  cat >"$d/slurm.conf" <<EOF
# Written by tests/slurm/slurm.sh for mpipool's tests: a 3-node cluster in
# network namespaces.  Paths are under $d.
ClusterName=mpipool
SlurmctldHost=node01(10.77.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.socket,cred_expire=5
StateSaveLocation=$d/ctld
SlurmdSpoolDir=$d/spool/%n
# The hosts share the machine's /tmp; Slurm's PMIx plugin makes its
# per-step directories under TmpFS, whose %n makes them per host.
TmpFS=$d/tmp/%n
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd-%n.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups (the machine's cgroup tree is not ours): track a job's
# processes by their parent chain, which also follows mpipool-run's jobs
# into the process groups it makes for them.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd (it needs a MySQL server): sacct -c reads the job completion
# log instead, one line per job end (requeues included).
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$d/log/jobcomp.log
# Open MPI 4.1 started by srun talks PMIx to slurmstepd.
MpiDefault=pmix
SchedulerType=sched/builtin
# The main scheduling pass every 2 s (default 60 s): a requeued job becomes
# eligible cred_expire s after its requeue, and no event wakes the
# scheduler then.
SchedulerParameters=sched_interval=2
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# The test hosts share 2 cores: trust the CPU count below, not the machine.
SlurmdParameters=config_overrides
ReturnToService=2
# Times, small for a test: completed jobs stay visible to scontrol for
# MinJobAge s; a job past its limit gets SIGTERM, then SIGKILL KillWait s
# later, with no grace minutes (OverTimeLimit).
MinJobAge=300
KillWait=5
OverTimeLimit=0
InactiveLimit=0
MessageTimeout=10
SlurmdTimeout=60
EOF
  local h
  for h in "${HOSTS[@]}"; do
    echo "NodeName=$h NodeAddr=10.77.0.$((10#${h#node})) CPUs=$CPUS State=UNKNOWN" >>"$d/slurm.conf"
  done
  # slurmd 22.05 loads a cgroup plugin whatever the other plugins are; the
  # machine's hybrid cgroup mount defeats its autodetection.  With the
  # plugins above it only loads (nothing is created under /sys/fs/cgroup).
  echo "CgroupPlugin=cgroup/v1" >"$d/cgroup.conf"
  # The PMIx plugin's fences between nodes.  By default Slurm 22.05 runs a
  # fence that collects data (Open MPI's modex) as a ring and a barrier
  # (no data) as a tree.  Here the tree never reaches the other nodes: with
  # PMIxDebug=1 each slurmstepd logs its tree fence as done at once with
  # its own node's contribution alone ("local=1, child_cntr=0", "local
  # delivery"), in every job.  So the barrier at the end of Open MPI's
  # MPI_Init was no barrier: a rank left MPI_Init while a rank on another
  # node still waited for the modex, and its first message reached that
  # rank before the PML had registered its handlers — a SIGSEGV (a call
  # through a NULL callback in btl/tcp's receive handler, in MPI_Init), in
  # about one job step in 60 here.  The ring reaches every node.
  echo "PMIxCollFence=ring" >"$d/mpi.conf"
  echo "PartitionName=batch Nodes=$(IFS=,; echo "${HOSTS[*]}") Default=YES MaxTime=INFINITE State=UP" >>"$d/slurm.conf"
}

# start NAME HOST CMD...: run a daemon in the foreground on HOST, in the
# background here; its PID (cluster.sh `on` execs all the way down, so it is
# the daemon's) goes to $STATE/pids.
start() {
  local name=$1 host=$2
  shift 2
  "$cl" on "$host" "$@" </dev/null >>"$STATE/log/$name.out" 2>&1 &
  echo "$! $name" >>"$STATE/pids"
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

up() {
  if [ -f "$STATE/up" ]; then say "already up ($STATE)"; return 0; fi
  # A set-up that fails half-way leaves nothing running.
  trap 'say "set-up failed: tearing down"; down' EXIT
  "$cl" up
  mkdir -p "$STATE"/{munge,ctld,run,log} "${HOSTS[@]/#/$STATE/spool/}" "${HOSTS[@]/#/$STATE/tmp/}"
  chmod 700 "$STATE/munge"
  write_conf
  export SLURM_CONF=$STATE/slurm.conf
  # munge: one daemon serves the three hosts through its socket file (a
  # file-system socket is reachable from every network namespace).
  [ -f "$STATE/munge/munge.key" ] || dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 2>/dev/null
  chmod 400 "$STATE/munge/munge.key"
  start munged node01 munged --foreground --force --socket="$STATE/munge/munge.socket" \
    --key-file="$STATE/munge/munge.key" --pid-file="$STATE/run/munged.pid" \
    --log-file="$STATE/log/munged.log" --seed-file="$STATE/munge/munged.seed"
  wait_for 10 "munge socket" test -S "$STATE/munge/munge.socket"
  start slurmctld node01 slurmctld -D -c -f "$SLURM_CONF"
  local h
  for h in "${HOSTS[@]}"; do start "slurmd-$h" "$h" slurmd -D -f "$SLURM_CONF"; done
  wait_for 60 "three idle nodes" nodes_idle
  touch "$STATE/up"
  trap - EXIT
}

# Client commands must run on a host: the machine's own namespace has no
# route to the cluster.
nodes_idle() {
  [ "$("$cl" on node01 sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 == "idle"' | wc -l)" -eq ${#HOSTS[@]} ]
}

# wait_for SECS WHAT CMD...: poll CMD every 0.2 s; fail naming WHAT, with
# the daemons' logs, if it is not true in time or a daemon died.
wait_for() {
  local secs=$1 what=$2 i pid name
  shift 2
  for ((i = 0; i < secs * 5; i++)); do
    "$@" && return 0
    while read -r pid name; do
      alive "$pid" || { say "$name (PID $pid) died while waiting for $what:"; tail -n 15 "$STATE/log/$name"* >&2; return 1; }
    done <"$STATE/pids"
    sleep 0.2
  done
  say "no $what after $secs s"
  tail -n 15 "$STATE"/log/*.log >&2 || true
  return 1
}

down() {
  if [ -f "$STATE/pids" ]; then
    local pid name
    # Daemons first (TERM, then KILL what is left after 5 s), so that they
    # take their job steps with them.
    while read -r pid name; do alive "$pid" && kill -TERM "$pid" 2>/dev/null; done <"$STATE/pids"
    local i
    for ((i = 0; i < 25; i++)); do
      local any=0
      while read -r pid name; do alive "$pid" && any=1; done <"$STATE/pids"
      [ $any -eq 0 ] && break
      sleep 0.2
    done
    while read -r pid name; do alive "$pid" && kill -KILL "$pid" 2>/dev/null; done <"$STATE/pids"
  fi
  # Whatever else is still in the hosts (job steps) goes with them.
  "$cl" down
  rm -rf "$STATE"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  up) up ;;
  down) down ;;
  check) check ;;
  conf) echo "$STATE/slurm.conf" ;;
  on) h=$1; shift; exec "$cl" on "$h" env SLURM_CONF="$STATE/slurm.conf" "$@" ;;
  *) sed -n '2,23p' "$me" | sed 's/^# \{0,1\}//'; [ -z "$cmd" ] || exit 2 ;;
esac
