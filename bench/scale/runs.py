#!/usr/bin/env python3
"""runs.py -- where the workers of one simulated map sat idle, and why.

Reads the stderr of one scale run made with SCALE_RUNS=1 (scale.c: one
"RUN rank start seconds first count" line per task call, one "MAP t0 t1
workers" line from the master) and prints:

  - the share of workers busy in each millisecond of the map (to 10 ms
    past `until`);
  - the workers' idle time before `until` (default: the ideal time a
    worker, the summed work over the workers), split into members idle
    while their group leader ran a call of its own longer than
    --own-long seconds, other member idle, and the leaders' idle;
  - the leaders' own busy time, the least busy groups, and when the
    longest call started.

Groups are the library's (src/plan.c, mpipool__plan_group): ranks 1, 1 + G,
1 + 2G, ... lead the G - 1 ranks after them, G the nearest integer to the
square root of the workers.  --hierarchy says whether the run had them, as
MPIPOOL_HIERARCHY did: auto (the default) from MPIPOOL__HIER_AUTO_WORKERS
workers (read from src/pure.h), on, or off; --group G sets G (MPIPOOL_GROUP_SIZE).

    SCALE_RUNS=1 smpirun ... scale 100 pareto 0.05 2>runs.txt
    python3 bench/scale/runs.py runs.txt
"""
import argparse
import math
import os
import re
import sys


def auto_workers():
    """MPIPOOL__HIER_AUTO_WORKERS, from src/pure.h (as run.sh reads it)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "pure.h")
    m = re.search(r"^#define MPIPOOL__HIER_AUTO_WORKERS (\d+)", open(path).read(), re.M)
    if not m:
        sys.exit("runs.py: MPIPOOL__HIER_AUTO_WORKERS not found in %s" % path)
    return int(m.group(1))


def library_group(workers, hierarchy, size):
    if hierarchy == "off" or (hierarchy == "auto" and workers < auto_workers()) or workers < 2:
        return 0
    if size:
        return size
    g = 1
    while (g + 1) * (g + 1) <= workers:
        g += 1
    if workers - g * g > g:
        g += 1
    return max(g, 2)


def read(path):
    t0 = workers = None
    calls = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if p[:1] == ["MAP"]:
                t0, workers = float(p[1]), int(p[3])
            elif p[:1] == ["RUN"]:
                calls.setdefault(int(p[1]), []).append((float(p[2]), float(p[3])))
    if t0 is None:
        sys.exit("runs.py: no MAP line in %s (was the run made with SCALE_RUNS=1?)" % path)
    for r in calls:
        calls[r] = sorted((a - t0, a - t0 + d) for a, d in calls[r])
    return workers, calls


def gaps(spans, until):
    """The idle intervals of one worker in [0, until)."""
    out, at = [], 0.0
    for a, b in spans:
        if a > at:
            out.append((at, min(a, until)))
        at = max(at, b)
        if at >= until:
            break
    if at < until:
        out.append((at, until))
    return [(a, b) for a, b in out if b > a]


def overlap(a, b, spans):
    return sum(max(0.0, min(b, y) - max(a, x)) for x, y in spans)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--hierarchy", choices=["auto", "on", "off"], default="auto", help="as MPIPOOL_HIERARCHY")
    ap.add_argument("--group", type=int, default=0, help="ranks a group, as MPIPOOL_GROUP_SIZE")
    ap.add_argument("--until", type=float, default=None, help="seconds since the map began")
    ap.add_argument("--own-long", type=float, default=3e-4, help="a leader's call this long counts (s)")
    a = ap.parse_args()
    workers, calls = read(a.file)
    g = library_group(workers, a.hierarchy, a.group)
    total = sum(y - x for s in calls.values() for x, y in s)
    until = a.until if a.until else total / workers
    ms = int(math.ceil(max(y for s in calls.values() for _, y in s) * 1e3))
    busy = [0.0] * ms
    for s in calls.values():
        for x, y in s:
            while x < y:
                i = int(x * 1e3)
                e = min(y, (i + 1) / 1e3)
                busy[i] += e - x
                x = e
    print("busy share by millisecond (%d workers), to 10 ms past %.2f ms:" % (workers, until * 1e3))
    for i in range(0, min(ms, int(until * 1e3) + 10), 10):
        print("  %4d ms  %s" % (i, " ".join("%.2f" % (b / (workers * 1e-3)) for b in busy[i:i + 10])))
    leaders = set(range(1, workers + 1, g)) if g > 1 else set()
    own, other, lead_idle = 0.0, 0.0, 0.0
    group_busy = {}
    for r in range(1, workers + 1):
        s = calls.get(r, [])
        lead = 1 + (r - 1) // g * g if g > 1 else None
        group_busy.setdefault(lead or r, [0.0, 0])
        group_busy[lead or r][0] += sum(max(0.0, min(y, until) - x) for x, y in s if x < until)
        group_busy[lead or r][1] += 1
        for x, y in gaps(s, until):
            if r in leaders:
                lead_idle += y - x
                continue
            longs = [(p, q) for p, q in calls.get(lead, []) if q - p > a.own_long] if lead else []
            o = overlap(x, y, longs)
            own += o
            other += y - x - o
    print("before %.2f ms (the summed work over the workers):" % (until * 1e3))
    print("  idle, worker-ms: %.0f in all; members while their leader ran a call over %.1f ms: %.0f;"
          " other members: %.0f; leaders: %.0f" % ((own + other + lead_idle) * 1e3, a.own_long * 1e3,
                                                    own * 1e3, other * 1e3, lead_idle * 1e3))
    if leaders:
        lb = sum(min(y, until) - x for r in leaders for x, y in calls.get(r, []) if x < until)
        print("  leaders' own calls, worker-ms: %.0f" % (lb * 1e3))
        low = sorted((b / (n * until), l) for l, (b, n) in group_busy.items())[:5]
        print("  least busy groups (leader: share): %s" % ", ".join("%d: %.2f" % (l, u) for u, l in low))
    r, (x, y) = max(((r, c) for r, s in calls.items() for c in s), key=lambda rc: rc[1][1] - rc[1][0])
    print("longest call: %.2f ms on rank %d, from %.3f ms" % ((y - x) * 1e3, r, x * 1e3))


if __name__ == "__main__":
    main()
