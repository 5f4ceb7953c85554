#!/usr/bin/env bash
# trace2png.sh — draw an mpipool trace (MPIPOOL_TRACE=FILE) as a PNG
# timeline with gnuplot: one row per rank, each chunk a bar (alternating
# shades, so neighbours stay apart), the master's sends and receives on
# rank 0's row (widened to about a pixel so they show), and white where a
# rank was idle.
#
#   scripts/trace2png.sh TRACE.json OUT.png [TITLE]
#
# Needs python3 and gnuplot (Debian: gnuplot-nox; scripts/deps.sh installs
# it).  Exit status: 0 with OUT.png written, 1 on a bad trace or a failed
# plot, 2 on misuse.
set -euo pipefail

prog=trace2png.sh
if [ $# -lt 2 ] || [ $# -gt 3 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ] && exit 0
  exit 2
fi
trace=$1 out=$2 title=${3:-"mpipool timeline: $(basename "$1")"}
command -v gnuplot >/dev/null || { echo "$prog: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "$prog: python3 not found" >&2; exit 1; }
[ -r "$trace" ] || { echo "$prog: cannot read $trace" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# JSON -> one data file per kind: x_center y half_width half_height shade
python3 - "$trace" "$tmp" <<'EOF' || { echo "$prog: $trace is not an mpipool trace" >&2; exit 1; }
import json, sys
trace, tmp = sys.argv[1], sys.argv[2]
with open(trace) as f:
    d = json.load(f)
ev = d["traceEvents"] if isinstance(d, dict) else d
names = {}
spans = []
for e in ev:
    if e.get("ph") == "M" and e.get("name") == "thread_name":
        names[e["tid"]] = e["args"]["name"]
    elif e.get("ph") == "X":
        spans.append(e)
if not names:
    sys.exit("no tracks")
ranks = sorted(names)
rows = {r: i for i, r in enumerate(reversed(ranks))}  # rank 0 on top
files = {k: open(f"{tmp}/{k}.dat", "w") for k in ("chunk", "static", "send", "recv", "scatter")}
count = {}
rec = []
end = 0.0
for e in sorted(spans, key=lambda e: e["ts"]):
    cat = e.get("cat", "")
    kind = cat if cat in ("chunk", "static") else {"send": "send", "recv": "recv"}.get(e["name"], "scatter")
    t0, dur = e["ts"] / 1e6, max(e["dur"], 0.0) / 1e6
    end = max(end, t0 + dur)
    y = rows.get(e["tid"], 0)
    n = count.get((kind, e["tid"]), 0)
    count[(kind, e["tid"])] = n + 1
    # master events are thin bars in the lower/upper half of rank 0's row
    h, dy = (0.38, 0.0) if kind in ("chunk", "static") else (0.15, 0.2 if kind == "send" else -0.2)
    if kind == "scatter":
        h, dy = 0.38, 0.0
    rec.append((kind, t0, dur, y + dy, h, n % 2))
# The master's sends and receives last microseconds: widen them to about a
# pixel (1/1000 of the run) so they show; chunks are drawn to scale.
for kind, t0, dur, y, h, shade in rec:
    half = dur / 2
    if kind in ("send", "recv"):
        half = max(half, end / 2000)
    files[kind].write(f"{t0 + dur / 2:.9f} {y} {half:.9f} {h} {shade}\n")
for f in files.values():
    f.close()
with open(f"{tmp}/meta.gp", "w") as f:
    tics = ", ".join(f'"{names[r]}" {rows[r]}' for r in ranks)
    f.write(f"set ytics ({tics})\n")
    f.write(f"set yrange [-0.6:{len(ranks) - 0.4}]\n")
    f.write(f"set xrange [0:{end * 1.02 if end > 0 else 1}]\n")
    f.write(f"set size ratio {min(0.6, 0.12 + 0.08 * len(ranks))}\n")
EOF

plots=()
add() { # kind colour0 colour1 title
  if [ -s "$tmp/$1.dat" ]; then
    plots+=("'$tmp/$1.dat' using 1:2:3:4:(\$5 > 0.5 ? $3 : $2) with boxxyerror fs solid 1.0 noborder lc rgb variable title '$4'")
  fi
}
add chunk 0x08519c 0x4292c6 "chunk on a worker"
add static 0x00682f 0x41ab5d "static share"
add scatter 0x999999 0xbbbbbb "scatter/gather (master)"
add send 0xe08214 0xe08214 "master sends"
add recv 0xb2182b 0xb2182b "master collects"
if [ ${#plots[@]} -eq 0 ]; then echo "$prog: $trace holds no spans" >&2; exit 1; fi
joined=$(printf '%s, ' "${plots[@]}")
joined=${joined%, }

gnuplot <<EOF || { echo "$prog: gnuplot failed" >&2; exit 1; }
set terminal pngcairo size 1200,520 font "DejaVu Sans,11" noenhanced
set output '$out'
set title "$title"
set xlabel "seconds since the pool opened (master's clock)"
set key outside bottom center horizontal
set grid xtics
load '$tmp/meta.gp'
plot $joined
EOF
[ -s "$out" ] || { echo "$prog: no image written" >&2; exit 1; }
