#!/usr/bin/env bash
# bench/scale/run.sh — the scale benchmark: mpipool's real code, and two
# hand-written MPI peers, on a simulated cluster of 4096 hosts under
# SimGrid's SMPI.  Called by `bench/run scale` (which installs the packages);
# run from anywhere.
#
#   bench/scale/run.sh            full grid; writes bench/build/scale/results.dat,
#                                 the "Scale" section of bench/RESULTS.md, bench/scale.png
#   bench/scale/run.sh --smoke    64 ranks, tiny sizes (< 60 s), linkcap.sh, runs.py and
#                                 order_bound.c; writes only under bench/build/scale-smoke/
#                                 and scale-linkcap/; RESULTS.md untouched
#   bench/scale/run.sh --seeds    the heavy-tailed points again over other draws of
#                                 the item times; writes bench/build/scale-seeds/ and
#                                 the "Heavy tails over several draws" section
#
# Environment (full run): SCALE_T ideal seconds per configuration (default
# 0.05), SCALE_RANKS (default "64 256 1024 4096"), SCALE_TIMEOUT seconds of
# wall time per point (default 600), SCALE_TIMEOUT_4096 the same for the
# points with 4096 ranks (default 2400), SCALE_JOBS simulations at once
# (default 2), SCALE_DYN_MAX items above which the one-item-per-message peer
# is not run (default 150000), SCALE_LONG_T the ideal seconds of the longer
# runs at the largest rank count, 100 us and 1 ms uniform tasks (default
# 0.2; 0 or empty: none), SCALE_MSG_US the per-message cost in
# microseconds to inject instead of calibrating (e.g. an earlier run's, so
# that two grids differ only by the code; the calibration measures real
# runs, and other load on this machine moves it), SCALE_CROSSTRAFFIC 1 for
# SimGrid's cross-traffic model (on in every grid before 2026-12-06 19:00;
# default 0, off: bench/README.md says why).  --seeds: SCALE_SEEDS
# the draws (default "default 1 2 3 4 5"; "default" is the grid's own),
# SCALE_SEED_POINTS the Pareto points as RANKS:D_US (default "1024:100
# 1024:1000 4096:100 4096:1000"); SCALE_T, the timeouts and SCALE_JOBS as
# above.  SCALE_ONLY (full run): an extended regex; only the points whose
# names (bench/build/scale/plan.txt, e.g. "1024-1000-pareto-mpipool-on")
# match it run again, with today's code, and every other point keeps its
# result from the last whole grid in bench/build/scale (after a change that
# can only move those points; the Scale section says which points re-ran).
#
# Exit status: non-zero if a build fails, or a program fails or gives wrong
# results (a point that only runs out of wall time is reported, not failed,
# except in --smoke where every point must finish).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

mode=full
case "${1:-}" in
  "") ;;
  --smoke) mode=smoke ;;
  --seeds) mode=seeds ;;
  -h|--help) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "bench/scale/run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

# shellcheck source=../../scripts/env.sh
source "$root/scripts/env.sh"
MPIEXEC=mpiexec.openmpi
if [ "$mode" != smoke ]; then
  O=bench/build/scale
  [ "$mode" = seeds ] && O=bench/build/scale-seeds
  T=${SCALE_T:-0.05}
  RANKS=${SCALE_RANKS:-"64 256 1024 4096"}
  DURS="10 100 1000"
  TMO=${SCALE_TIMEOUT:-600}
  TMO_4096=${SCALE_TIMEOUT_4096:-2400}
  LONG_T=${SCALE_LONG_T-0.2}
  [ "$mode" = seeds ] && LONG_T=
  SEEDS=${SCALE_SEEDS:-"default 1 2 3 4 5"}
  SEED_POINTS=${SCALE_SEED_POINTS:-"1024:100 1024:1000 4096:100 4096:1000"}
  JOBS=${SCALE_JOBS:-2}
  DYN_MAX=${SCALE_DYN_MAX:-150000}
  RT_N=100000; RT_REPS=5
else
  O=bench/build/scale-smoke
  T=0.002; RANKS=64; DURS="100 1000"; TMO=50; TMO_4096=50; JOBS=2; DYN_MAX=100000; LONG_T=0.004
  RT_N=20000; RT_REPS=3
fi
mkdir -p "$O/points"
ONLY=
if [ "$mode" = full ] && [ -n "${SCALE_ONLY:-}" ]; then
  ONLY=$SCALE_ONLY
  if [ ! -f "$O/grid.txt" ]; then
    echo "bench/scale: SCALE_ONLY needs a whole grid's results in $O first (bench/run scale)" >&2
    exit 2
  fi
else
  rm -f "$O"/points/* "$O/only.txt"
  printf 'grid_date=%s\ngrid_commit=%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" >"$O/grid.txt"
fi
log=$O/log.txt
: >"$log"
failures=0
say() { echo "bench/scale: $*"; }
started=$(date +%s)

# ---- calibration: mpipool's real per-message cost on this machine -------
# One item per message (chunk_size 1) between 1 master and 2 workers with
# the real Open MPI build: every item costs the master one send and one
# receive.  1 / (best items/s of the repetitions) = master time per item;
# half of it per message, injected as smpi/ois = smpi/os (send) and
# smpi/or (receive) in every simulated run, mpipool's and the peers' alike.
# Three launches; the best repetition of all, not the median: other load
# on the machine only ever adds time.
FALLBACK_US=1.0   # per message: RESULTS.md of 2026-12-01, 497063 items/s -> 2.01 us/item
say "calibrating ($mode)"
calib_src=fallback
msg_us=$FALLBACK_US
B=bench/build
if [ -n "${SCALE_MSG_US:-}" ]; then
  calib_src=given
  msg_us=$SCALE_MSG_US
elif { cmake -S . -B "$B/lib" -DCMAKE_BUILD_TYPE=Release -DMPI_C_COMPILER=mpicc.openmpi \
       -DMPIPOOL_BUILD_TESTS=OFF -DMPIPOOL_BUILD_EXAMPLES=OFF >"$O/calib-build.log" 2>&1 &&
     cmake --build "$B/lib" -j2 --target mpipool >>"$O/calib-build.log" 2>&1 &&
     mpicc.openmpi -std=c11 -D_GNU_SOURCE -O2 -Iinclude bench/mpipool_roundtrip.c -o "$B/mpipool_roundtrip" \
       -L"$B/lib" -Wl,-rpath,"$root/$B/lib" -lmpipool -lm >>"$O/calib-build.log" 2>&1; }; then
  calib_cmd="$MPIEXEC -n 3 $B/mpipool_roundtrip $RT_N $RT_REPS 1"
  : >"$O/calib.txt"
  for launch in 1 2 3; do timeout 120 $calib_cmd >>"$O/calib.txt" 2>>"$log"; done
  best=$(awk '/^RESULT /{for(i=2;i<=NF;i++){split($i,kv,"=");if(kv[1]=="items_per_s"&&kv[2]>b)b=kv[2]}} END{if(b>0)printf "%.6g", b}' "$O/calib.txt")
  if [ -n "$best" ]; then
    calib_src=measured
    msg_us=$(awk -v r="$best" 'BEGIN{printf "%.4g", 1e6 / r / 2}')
  else
    say "calibration run failed (see $log); using the fallback $FALLBACK_US us per message"
  fi
else
  say "could not build the calibration program (see $O/calib-build.log); using the fallback $FALLBACK_US us per message"
fi
msg_s=$(awk -v u="$msg_us" 'BEGIN{printf "%.4g", u * 1e-6}')
{
  echo "source=$calib_src"
  echo "us_per_message=$msg_us"
  echo "best_items_per_s=${best:-}"
  echo "command=${calib_cmd:-}"
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "crosstraffic=${SCALE_CROSSTRAFFIC:-0}"
} >"$O/calibration.txt"
say "calibration: $msg_us us per message ($calib_src)"

# ---- build the simulated programs ----------------------------------------
say "building with smpicc"
SMPICFLAGS=(-O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra)
if ! smpicc "${SMPICFLAGS[@]}" -Iinclude -Isrc src/*.c bench/scale/scale.c -o "$O/scale" -lm -lpthread \
       >"$O/build.log" 2>&1 ||
   ! smpicc "${SMPICFLAGS[@]}" bench/scale/peer.c -o "$O/peer" -lm >>"$O/build.log" 2>&1; then
  echo "bench/scale: smpicc failed; see $O/build.log" >&2; tail -20 "$O/build.log" >&2; exit 1
fi
hosts=$O/hosts.txt
seq 0 4095 | sed 's/^/node/' >"$hosts"

# The SMPI settings (bench/README.md says why each one): CFG.
# shellcheck source=smpi_cfg.sh
source "$here/smpi_cfg.sh"
smpi_cfg "$msg_s" || exit 2
PLATFORM=bench/scale/platform.xml

# Until the library reads MPIPOOL_HIERARCHY, "auto" and "off" are the same
# program: run it once and report it under both names.
if grep -q MPIPOOL_HIERARCHY src/*.c; then hier=yes; else hier=no; fi

# ---- the grid --------------------------------------------------------------
# point NAME P IMPL D DIST T [SEED]: one simulation; writes $O/points/NAME.{out,err,meta}.
point() {
  local name=$1 p=$2 impl=$3 d=$4 dist=$5 t=$6 seed=${7:-default} prog args envs=()
  case $impl in
    mpipool-auto) prog=$O/scale; args=("$d" "$dist" "$t"); [ $hier = yes ] && envs=(MPIPOOL_HIERARCHY=auto) ;;
    mpipool-off)  prog=$O/scale; args=("$d" "$dist" "$t"); envs=(MPIPOOL_HIERARCHY=off) ;;
    mpipool-on)   prog=$O/scale; args=("$d" "$dist" "$t"); envs=(MPIPOOL_HIERARCHY=on) ;;
    peer-dynamic1) prog=$O/peer; args=(dynamic "$d" "$dist" "$t") ;;
    peer-static)  prog=$O/peer; args=(static "$d" "$dist" "$t") ;;
  esac
  [ "$seed" != default ] && envs+=(SCALE_SEED="$seed")
  local cmd=(env "${envs[@]}" smpirun -np "$p" -platform "$PLATFORM" -hostfile "$hosts" "${CFG[@]}" "$prog" "${args[@]}")
  local t0 t1 rc tmo=$TMO
  [ "$p" -ge 4096 ] && tmo=$TMO_4096
  t0=$(date +%s.%N)
  timeout "$tmo" "${cmd[@]}" >"$O/points/$name.out" 2>"$O/points/$name.err" </dev/null
  rc=$?
  t1=$(date +%s.%N)
  printf 'rc=%s\nwall=%.1f\ncmd=%s\n' "$rc" "$(echo "$t1 - $t0" | bc)" "${cmd[*]}" >"$O/points/$name.meta"
}

# The points, cheapest first, as lines "NAME P IMPL D DIST".
plan=$O/plan.txt
: >"$plan"
skipped=$O/skipped.txt
: >"$skipped"
# --seeds: the Pareto points over several draws (SCALE_SEED, simwork.h),
# mpipool's default against each peer, with the in-order estimate of
# bench/scale/order_bound.c for each draw.
seed_plan() {
  local pt p d seed impl n
  for pt in $SEED_POINTS; do
    p=${pt%%:*} d=${pt##*:}
    n=$(awk -v t="$T" -v p="$p" -v d="$d" 'BEGIN{printf "%.0f", t * (p - 1) / (d * 1e-6)}')
    for seed in $SEEDS; do
      for impl in peer-static peer-dynamic1 mpipool-auto; do
        [ "$impl" = peer-dynamic1 ] && [ "$n" -gt "$DYN_MAX" ] && continue
        echo "$p-$d-pareto-$impl-s$seed $p $impl $d pareto $T $seed"
      done
    done
  done
}
[ "$mode" = seeds ] && RANKS= && seed_plan >"$plan"
for p in $RANKS; do
  for d in $DURS; do
    for dist in uniform pareto; do
      # "auto" is not run on its own: it is "on" from
      # MPIPOOL__HIER_AUTO_WORKERS workers (src/pure.h), else "off"; see collect.
      impls="peer-static peer-dynamic1 mpipool-auto"
      [ $hier = yes ] && impls="peer-static peer-dynamic1 mpipool-off mpipool-on"
      for impl in $impls; do
        n=$(awk -v t="$T" -v p="$p" -v d="$d" 'BEGIN{printf "%.0f", t * (p - 1) / (d * 1e-6)}')
        if [ "$impl" = peer-dynamic1 ] && [ "$n" -gt "$DYN_MAX" ]; then
          echo "$p $d $dist $impl $n" >>"$skipped"
          continue
        fi
        echo "$p-$d-$dist-$impl $p $impl $d $dist $T" >>"$plan"
      done
    done
  done
done
# Longer runs where the targets are (the largest rank count; 100 us and
# 1 ms tasks): mpipool's losses there are mostly a fixed few ms (the end of
# the map), so they shrink with the run's length.  Uniform work only: a
# heavy-tailed run is bound by where its longest item falls, and at 4096
# ranks and T = 0.2 s one such point alone took 10 minutes of wall time.
# Listed first: they are the longest simulations.
long_plan=$O/plan-long.txt
: >"$long_plan"
if [ -n "$LONG_T" ] && [ "$LONG_T" != 0 ]; then
  pmax=$(echo $RANKS | tr ' ' '\n' | sort -n | tail -1)
  for d in 100 1000; do
    for dist in uniform; do
      for impl in mpipool-on mpipool-off peer-static; do
        [ $hier = no ] && [ $impl != peer-static ] && impl=mpipool-auto
        echo "long-$pmax-$d-$dist-$impl $pmax $impl $d $dist $LONG_T" >>"$long_plan"
      done
    done
  done
  sort -u "$long_plan" -o "$long_plan"
fi
nsim=$(cat "$plan" "$long_plan" | wc -l)
[ -n "$ONLY" ] && nsim=$(cat "$plan" "$long_plan" | cut -d' ' -f1 | grep -Ec -- "$ONLY")
say "$nsim simulations, $JOBS at a time, ${TMO}s wall each at most (${TMO_4096}s at 4096 ranks); T = $T s ideal per configuration (longer runs: ${LONG_T:-none})"
running=0
if [ -n "$ONLY" ]; then
  missing=0
  while read -r name _; do
    if ! echo "$name" | grep -Eq -- "$ONLY" && [ ! -f "$O/points/$name.meta" ]; then
      echo "bench/scale: SCALE_ONLY: no earlier result for $name in $O/points" >&2
      missing=1
    fi
  done < <(cat "$long_plan" "$plan")
  [ $missing = 0 ] || exit 2
  { cat "$O/grid.txt"; printf 'only=%s\ndate=%s\ncommit=%s\n' "$ONLY" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
      "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"; } >"$O/only.txt"
fi
while read -r name p impl d dist t seed; do
  if [ -n "$ONLY" ] && ! echo "$name" | grep -Eq -- "$ONLY"; then continue; fi
  printf '  %s ranks=%s D=%sus %s T=%s%s\n' "$impl" "$p" "$d" "$dist" "$t" "${seed:+ seed=$seed}"
  point "$name" "$p" "$impl" "$d" "$dist" "$t" "$seed" &
  running=$((running + 1))
  if [ $running -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done < <(cat "$long_plan" "$plan")
wait

# ---- collect ---------------------------------------------------------------
dat=$O/results.dat long_dat=$O/results-long.dat
# rows PLAN: one results line per point of PLAN.
rows() {
  echo "# ranks dur_us dist impl status efficiency makespan_s ideal_s sum_s longest_s n chunks wall_s [seed]"
  while read -r name p impl d dist t seed; do
    meta=$O/points/$name.meta out=$O/points/$name.out
    rc=$(sed -n 's/^rc=//p' "$meta"); wall=$(sed -n 's/^wall=//p' "$meta")
    line=$(grep '^SCALE ' "$out" | tail -1)
    if [ "$rc" = 0 ] && [ -n "$line" ]; then
      get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
      echo "$p $d $dist $impl ok $(get efficiency) $(get makespan) $(get ideal) $(get sum) $(get longest) $(get n) $(get chunks) $wall${seed:+ $seed}"
    elif [ "$rc" = 124 ]; then
      echo "$p $d $dist $impl timeout - - - - - - - $wall${seed:+ $seed}"
    else
      echo "$p $d $dist $impl failed - - - - - - - $wall${seed:+ $seed}"
    fi
  done <"$1"
}
rows "$long_plan" >"$long_dat"
{
  rows "$plan"
  while read -r p d dist impl n; do
    echo "$p $d $dist $impl skipped - - - - - $n - 0"
  done <"$skipped"
} >"$dat.tmp"
# mpipool's default is the run it chooses: the hierarchy from
# MPIPOOL__HIER_AUTO_WORKERS workers (src/pure.h; 128 was written here
# until 2026-12-05, after the library had moved to 512).
auto_from=$(sed -n 's/^#define MPIPOOL__HIER_AUTO_WORKERS \([0-9]*\).*/\1/p' src/pure.h)
if [ $hier = yes ] && [ -z "$auto_from" ]; then
  echo "bench/scale: MPIPOOL__HIER_AUTO_WORKERS not found in src/pure.h" >&2
  exit 1
fi
if [ $hier = yes ]; then
  awk -v from="$auto_from" '!/^#/ && (($4 == "mpipool-on" && $1 - 1 >= from) || ($4 == "mpipool-off" && $1 - 1 < from)) { $4 = "mpipool-auto"; print }' \
    "$dat.tmp" >"$dat.tmp2"
  cat "$dat.tmp2" >>"$dat.tmp"; rm -f "$dat.tmp2"
fi
# Without a hierarchy in the library, the one mpipool run stands for both.
if [ $hier = no ]; then
  awk '!/^#/ && $4 == "mpipool-auto" { $4 = "mpipool-off"; print }' "$dat.tmp" >>"$dat.tmp2"
  cat "$dat.tmp2" >>"$dat.tmp"; rm -f "$dat.tmp2"
fi
mv "$dat.tmp" "$dat"
for f in "$O"/points/*.meta; do
  name=$(basename "$f" .meta)
  rc=$(sed -n 's/^rc=//p' "$f")
  if [ "$rc" != 0 ]; then
    if [ "$rc" = 124 ] && [ "$mode" != smoke ]; then
      say "out of wall time: $name"
    else
      failures=$((failures + 1))
      echo "bench/scale: FAILED (exit $rc): $(sed -n 's/^cmd=//p' "$f")" | tee -a "$log" >&2
      sed 's/^/    /' "$O/points/$name.err" | grep -v '^\s*$' | tail -5 >&2
    fi
  fi
done
elapsed=$(( $(date +%s) - started ))
[ "$mode" = full ] && [ -z "$ONLY" ] && echo "grid_elapsed=$elapsed" >>"$O/grid.txt"
say "grid done in ${elapsed}s; $dat"

# ---- report ----------------------------------------------------------------
if [ "$mode" = seeds ]; then
  # The in-order estimate of each draw (order_bound.c; its T is 0.05 s).
  if cc -O2 -o "$O/order_bound" bench/scale/order_bound.c -lm >>"$O/build.log" 2>&1; then
    for seed in $SEEDS; do
      if [ "$seed" = default ]; then "$O/order_bound" "$T" >"$O/order-$seed.txt"
      else SCALE_SEED=$seed "$O/order_bound" "$T" >"$O/order-$seed.txt"; fi
    done
  fi
  if ! python3 bench/scale/seeds.py --dat "$dat" --order-dir "$O" --calibration "$O/calibration.txt" \
        --results bench/RESULTS.md --t "$T" --elapsed "$elapsed" --jobs "$JOBS" --dyn-max "$DYN_MAX"; then
    echo "bench/scale: seeds.py failed" >&2
    failures=$((failures + 1))
  else
    say "wrote the \"Heavy tails over several draws\" section of bench/RESULTS.md"
  fi
elif [ "$mode" = full ]; then
  if ! python3 bench/scale/report.py --dat "$dat" --calibration "$O/calibration.txt" \
        --results bench/RESULTS.md --png bench/scale.png --gp "$O/scale.gp" \
        --points "$O/points" --plan "$plan" --t "$T" --long-dat "$long_dat" --long-t "${LONG_T:-0}" --timeout "$TMO" --timeout-4096 "$TMO_4096" --jobs "$JOBS" \
        --dyn-max "$DYN_MAX" --elapsed "$elapsed" --hierarchy "$hier" --only "$O/only.txt"; then
    echo "bench/scale: report.py failed" >&2
    failures=$((failures + 1))
  else
    say "wrote the Scale section of bench/RESULTS.md and bench/scale.png"
  fi
else
  column -t "$dat" 2>/dev/null || cat "$dat"
  column -t "$long_dat" 2>/dev/null || cat "$long_dat"
  # The link check (bench/run scale --linkcap) runs too: a few seconds.
  if ! bash "$here/linkcap.sh" >"$O/linkcap.txt" 2>&1; then
    echo "bench/scale: linkcap.sh failed (see $O/linkcap.txt)" >&2
    failures=$((failures + 1))
  fi
  # And the diagnostics (bench/README.md), so that they keep working: one
  # point with groups and SCALE_RUNS=1 through runs.py, and order_bound.
  if ! timeout "$TMO" env MPIPOOL_HIERARCHY=on SCALE_RUNS=1 smpirun -np 64 -platform "$PLATFORM" \
         -hostfile "$hosts" "${CFG[@]}" "$O/scale" 100 pareto "$T" >"$O/runs.out" 2>"$O/runs.txt" </dev/null ||
     ! python3 "$here/runs.py" --hierarchy on "$O/runs.txt" >"$O/runs-report.txt" 2>&1 ||
     ! grep -q '^longest call' "$O/runs-report.txt"; then
    echo "bench/scale: SCALE_RUNS=1 or runs.py failed (see $O/runs.txt, $O/runs-report.txt)" >&2
    failures=$((failures + 1))
  fi
  if ! cc -O2 -o "$O/order_bound" bench/scale/order_bound.c -lm >>"$O/build.log" 2>&1 ||
     ! "$O/order_bound" "$T" >"$O/order.txt" 2>&1 || [ "$(grep -c '^[0-9]' "$O/order.txt")" != 12 ]; then
    echo "bench/scale: order_bound failed (see $O/order.txt, $O/build.log)" >&2
    failures=$((failures + 1))
  fi
fi
if [ $failures -ne 0 ]; then
  echo "bench/scale: $failures simulation(s) failed" >&2
  exit 1
fi
exit 0
