#!/usr/bin/env bash
# bench/scale/linkcap.sh — the model's check behind the scale benchmark's
# "link bound": how fast rank 0 sends (MPI_Issend, as mpipool's master sends
# group chunks) while other ranks send to it (as group leaders send
# results), on the scale benchmark's platform and SMPI settings, with
# SimGrid's cross-traffic model on (SimGrid's default, and the benchmark's
# setting until 2026-12-06) and off (the benchmark's setting since).
# Called by `bench/run scale --linkcap`; prints a Markdown table (also in
# bench/build/scale-linkcap/linkcap.md) with the command of each row.
# Writes nothing else.  Exit status: non-zero if the build or a run fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
O=bench/build/scale-linkcap
mkdir -p "$O"
# shellcheck source=smpi_cfg.sh
source "$here/smpi_cfg.sh"
if ! smpicc -O2 -std=c11 -Wall -Wextra bench/scale/linkcap.c -o "$O/linkcap" >"$O/build.log" 2>&1; then
  echo "bench/scale/linkcap: smpicc failed; see $O/build.log" >&2; exit 1
fi
seq 0 4095 | sed 's/^/node/' >"$O/hosts.txt"
S=65536 M=20 D=4
out=$O/linkcap.md
{
  echo "| ranks sending to rank 0 (64 KiB x $M each) | cross-traffic model | rank 0 sends (MB/s) | share of the 1250 MB/s link | command |"
  echo "|---|---|---|---|---|"
} >"$out"
fail=0
for row in "0 1" "4 1" "28 1" "4 0" "28 0"; do
  set -- $row
  up=$1 ct=$2
  smpi_cfg 7.403e-07 "$ct" # the per-message cost is immaterial here: few, large messages
  cmd=(smpirun -np $((1 + D + up)) -platform bench/scale/platform.xml -hostfile "$O/hosts.txt" "${CFG[@]}"
       "$O/linkcap" "$S" "$M" "$D" "$S")
  line=$(timeout 300 "${cmd[@]}" 2>"$O/run.err" </dev/null | grep '^RESULT ')
  mbps=$(sed -n 's/.*down_MBps=\([0-9.]*\).*/\1/p' <<<"$line")
  if [ -z "$mbps" ]; then echo "bench/scale/linkcap: failed: ${cmd[*]}" >&2; fail=1; continue; fi
  share=$(awk -v x="$mbps" 'BEGIN{printf "%.0f %%", x / 1250 * 100}')
  echo "| $up | $([ "$ct" = 1 ] && echo on || echo off) | $mbps | $share | \`${cmd[*]}\` |" >>"$out"
done
cat "$out"
exit $fail
