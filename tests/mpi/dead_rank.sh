#!/usr/bin/env bash
# dead_rank.sh FLAVOUR MODE LAUNCH... PROGRAM — a rank dies; the job must end.
# For abort and segv the library must also have printed the crash line
# "mpipool: task 'die' crashed on item 1 at rank R (host H): SIGABRT|SIGSEGV".
#
# Runs `LAUNCH... PROGRAM MODE DIR` (dead_rank.c) and checks that after the
# rank dies (MODE abort, segv, master; or kill: this script sends SIGKILL to
# the worker that dead_rank.c announced in DIR/victim, by that PID only) the
# whole job ends within 5 s, with a non-zero exit status, with output that
# names the dead rank, and that none of the ranks (DIR/pid.<rank>) is left.
#   Open MPI: mpirun prints "process rank R with PID P ... exited on signal".
#   MPICH:    hydra names a PID, not a rank, so LAUNCH must carry
#             -print-all-exitcodes; its "Exit codes: [host] a,b,c" lists one
#             code per rank in rank order, and entry R must be the signal.
# Everything is bounded: the launch by `timeout 30`, the wait for the victim
# to announce itself by 30 s.
set -u
flavour=$1 mode=$2; shift 2
dir=$(mktemp -d "${TMPDIR:-/tmp}/dead_rank.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "dead_rank.sh ($flavour, $mode): FAIL: $*" >&2; echo "---- output:" >&2; cat "$dir/out" >&2; exit 1; }
now_ns() { date +%s%N; }

timeout 30 "$@" "$mode" "$dir" >"$dir/out" 2>&1 &
job=$!
# Wait for the victim's announcement: written just before it dies (or, for
# kill, before it blocks in pause() until our signal).
for _ in $(seq 1 3000); do
  [ -s "$dir/victim" ] && break
  kill -0 $job 2>/dev/null || break
  sleep 0.01
done
[ -s "$dir/victim" ] || { wait $job; fail "no rank announced itself as the victim"; }
read -r vrank vpid vtime <"$dir/victim"
if [ "$mode" = kill ]; then
  # Only a PID that one of our ranks wrote down is ever signalled.
  grep -qx "$vpid" "$dir/pid.$vrank" 2>/dev/null || fail "victim pid $vpid is not rank $vrank's"
  vtime=$(now_ns)
  kill -KILL "$vpid"
fi
wait $job
rc=$?
end=$(now_ns)
ms=$(( (end - vtime) / 1000000 ))
echo "dead_rank.sh ($flavour, $mode): rank $vrank (pid $vpid) died; the job ended ${ms} ms later, exit status $rc"

[ $rc -eq 124 ] && fail "the job was still running 30 s after the launch"
[ $rc -ne 0 ] || fail "the job exited 0 although rank $vrank died"
[ $ms -lt 5000 ] || fail "the job took ${ms} ms (>= 5 s) to end after rank $vrank died"
case $mode in abort|master) sig=6 ;; segv) sig=11 ;; kill) sig=9 ;; esac
# A task that crashes is named by the library itself (issue 16): task, item,
# rank, host and signal, in one line written from the signal handler.
case $mode in
  abort) signame=SIGABRT ;;
  segv) signame=SIGSEGV ;;
  *) signame= ;;
esac
if [ -n "$signame" ]; then
  grep -Eq "^mpipool: task 'die' crashed on item 1 at rank $vrank \(host [^)]+\): $signame\$" "$dir/out" ||
    fail "no line naming the crashed task, item 1 and rank $vrank ($signame)"
fi
case $flavour in
  openmpi)
    grep -Eq "process rank $vrank with PID [0-9]+ on node .* (exited on signal|killed by signal)" "$dir/out" ||
      fail "mpirun's message does not name rank $vrank" ;;
  mpich)
    codes=$(sed -n 's/.*Exit codes: \[[^]]*\] *\([0-9,]*\).*/\1/p' "$dir/out" | head -n 1)
    [ -n "$codes" ] || fail "hydra printed no per-rank exit codes (launch without -print-all-exitcodes?)"
    IFS=, read -r -a c <<<"$codes"
    [ "${c[$vrank]:-}" = "$sig" ] || fail "exit codes '$codes': rank $vrank's is not $sig" ;;
  *) fail "unknown MPI flavour" ;;
esac
# No rank may outlive the job (contain.sh checks the same by environment).
for f in "$dir"/pid.*; do
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" != Z ]; then
    fail "rank ${f##*.} (pid $pid) is still running"
  fi
done
exit 0
