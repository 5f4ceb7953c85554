#!/usr/bin/env bash
# cluster.sh — a 3-host cluster on one machine, for mpipool's multi-host
# tests: three Linux network namespaces (node01, node02, node03), each with one
# interface eth0 (10.77.0.1-3/24) on a bridge that lives in a fourth
# namespace (mpipool-br).  No route leads anywhere else, and nothing is
# created in the machine's own namespace.  Each host gets its own hostname
# (a UTS namespace) and its own /etc/hosts (a bind mount in a mount
# namespace), set up by the launcher `rsh` below, so names resolve per host
# without touching the machine's /etc/hosts.
#
#   cluster.sh up                create the hosts (idempotent)
#   cluster.sh down              remove them (idempotent)
#   cluster.sh check             exit 0 if this machine can create them, else 77
#   cluster.sh rsh HOST CMD...   run CMD on HOST: Open MPI's plm_rsh_agent,
#                                MPICH's -launcher-exec
#   cluster.sh on HOST CMD...    the same, for a person or a test
#   cluster.sh link HOST up|down set HOST's link (the fault test)
#   cluster.sh reach HOST PEER [SECONDS]
#                                wait until HOST's packets reach PEER and
#                                back (default 10 s); exit 1 if they never do
#   cluster.sh procs             list the PIDs still running in the hosts
#
# Must run as root (network namespaces); the test driver checks first.
set -euo pipefail

HOSTS=(node01 node02 node03) # the names hostfile.example uses
BR_NS=mpipool-br
NET=10.77.0
STATE=${MPIPOOL_CLUSTER_STATE:-/tmp/mpipool-cluster}
me=$(readlink -f "$0")

addr() { # node02 -> 10.77.0.2
  echo "$NET.$((10#${1#node}))"
}

ns_exists() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"
}

up() {
  mkdir -p "$STATE"
  {
    echo "127.0.0.1 localhost"
    for h in "${HOSTS[@]}"; do echo "$(addr "$h") $h"; done
  } >"$STATE/hosts"
  ns_exists "$BR_NS" || ip netns add "$BR_NS"
  ip -n "$BR_NS" link show br0 >/dev/null 2>&1 || ip -n "$BR_NS" link add br0 type bridge
  ip -n "$BR_NS" link set br0 up
  ip -n "$BR_NS" link set lo up
  for h in "${HOSTS[@]}"; do
    ns_exists "$h" || ip netns add "$h"
    ip -n "$h" link set lo up
    if ! ip -n "$h" link show eth0 >/dev/null 2>&1; then
      # Create the pair inside the bridge's namespace, then move one end:
      # nothing ever appears in the machine's own namespace.
      ip -n "$BR_NS" link del "v-$h" >/dev/null 2>&1 || true
      ip -n "$BR_NS" link add "v-$h" type veth peer name eth0 netns "$h"
    fi
    ip -n "$BR_NS" link set "v-$h" master br0
    ip -n "$BR_NS" link set "v-$h" up
    ip -n "$h" addr replace "$(addr "$h")/24" dev eth0
    ip -n "$h" link set eth0 up
  done
}

down() {
  for h in "${HOSTS[@]}"; do
    if ns_exists "$h"; then
      # Processes still in the namespace keep it alive: end the ones we
      # find there (by PID, from the namespace itself), then delete it.
      for pid in $(ip netns pids "$h" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$h" 2>/dev/null || true
    fi
  done
  ns_exists "$BR_NS" && ip netns del "$BR_NS" 2>/dev/null || true
  rm -rf "$STATE"
}

check() {
  if [ "$(id -u)" -ne 0 ]; then echo "cluster.sh: not root: cannot create network namespaces"; exit 77; fi
  command -v ip >/dev/null || { echo "cluster.sh: no 'ip' (iproute2)"; exit 77; }
  command -v unshare >/dev/null || { echo "cluster.sh: no 'unshare' (util-linux)"; exit 77; }
  local probe="mpipool-probe-$$"
  if ! ip netns add "$probe" 2>/dev/null; then echo "cluster.sh: cannot create network namespaces here"; exit 77; fi
  local ok=1
  ip netns exec "$probe" unshare --uts --mount true 2>/dev/null || ok=0
  ip netns del "$probe" 2>/dev/null || true
  [ $ok -eq 1 ] || { echo "cluster.sh: cannot create UTS/mount namespaces here"; exit 77; }
  exit 0
}

# Run "$@" on host $1, with the host's name and hosts file.
on() {
  local h=$1
  shift
  case " ${HOSTS[*]} " in *" $h "*) ;; *) echo "cluster.sh: unknown host '$h'" >&2; exit 2 ;; esac
  [ -f "$STATE/hosts" ] || { echo "cluster.sh: the cluster is not up (cluster.sh up)" >&2; exit 2; }
  exec ip netns exec "$h" unshare --uts --mount --propagation private \
    /bin/sh -c 'hostname "$1" && mount --bind "$2" /etc/hosts && shift 2 && exec "$@"' \
    sh "$h" "$STATE/hosts" "$@"
}

# Open MPI calls the agent as `AGENT [options] HOST COMMAND WORDS...` and, like
# ssh, expects the words to be joined and run by a shell.
rsh() {
  while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done
  local h=$1
  shift
  on "$h" /bin/sh -c "$*"
}

# reach HOST PEER SECONDS: from HOST, a TCP connection to a closed port of
# PEER until the kernel there answers (a refusal is the answer: the SYN
# went there and the RST came back), every 0.1 s up to SECONDS.  A link
# just set up again can drop the first packets (the fault test's resumed
# job once failed at once: "an inability to create a connection back to
# mpirun"), so the tests wait for this before they use it.
reach() {
  local h=$1 peer=$2 secs=${3:-10}
  (on "$h" python3 -c '
import socket, sys, time
addr, end, last = sys.argv[1], time.monotonic() + float(sys.argv[2]), None
while True:
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect((addr, 9))
        sys.exit(0)
    except ConnectionRefusedError:
        sys.exit(0)
    except OSError as e:
        last = e
    finally:
        s.close()
    if time.monotonic() > end:
        sys.exit("cluster.sh: %s cannot reach %s: %s" % (sys.argv[3], addr, last))
    time.sleep(0.1)
' "$(addr "$peer")" "$secs" "$h")
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  up) up ;;
  down) down ;;
  check) check ;;
  on) on "$@" ;;
  rsh) rsh "$@" ;;
  link) ip -n "$BR_NS" link set "v-$1" "$2" ;;
  reach) reach "$@" ;;
  procs) for h in "${HOSTS[@]}"; do ns_exists "$h" && ip netns pids "$h" 2>/dev/null; done; true ;;
  *) sed -n '2,21p' "$me" | sed 's/^# \{0,1\}//'; [ -z "$cmd" ] || exit 2 ;;
esac
