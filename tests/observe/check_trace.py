#!/usr/bin/env python3
"""check_trace.py TRACE RANKS JOB=N [JOB=N ...]

Check an mpipool trace (MPIPOOL_TRACE=FILE) of a run on RANKS ranks: it is
valid JSON in the Chrome trace-event format, has one named track per rank,
every item of each job appears in exactly one chunk (or static share) span,
spans run on worker tracks only (rank 0 alone in a one-rank pool), no two
spans of a track overlap, and the master's sends and receives (rank 0) pair
up with the dynamic chunks.  Exit 0, or 1 naming the first problem."""
import json
import sys


def fail(msg):
    print(f"check_trace.py: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) < 4:
        fail("usage: check_trace.py TRACE RANKS JOB=N...")
    path, ranks = sys.argv[1], int(sys.argv[2])
    want = {int(a.split("=")[0]): int(a.split("=")[1]) for a in sys.argv[3:]}
    with open(path) as f:
        doc = json.load(f)  # raises on invalid JSON
    ev = doc["traceEvents"]
    tracks = {e["tid"]: e["args"]["name"] for e in ev if e.get("ph") == "M" and e["name"] == "thread_name"}
    if sorted(tracks) != list(range(ranks)):
        fail(f"tracks {sorted(tracks)}, expected ranks 0..{ranks - 1}")
    spans = [e for e in ev if e.get("ph") == "X"]
    work = [e for e in spans if e.get("cat") in ("chunk", "static")]
    workers = {0} if ranks == 1 else set(range(1, ranks))
    seen = {j: [0] * n for j, n in want.items()}
    for e in work:
        if e["tid"] not in workers:
            fail(f"a chunk on rank {e['tid']}: {e}")
        if e["ts"] < 0 or e["dur"] < 0:
            fail(f"negative time: {e}")
        a = e["args"]
        if a["job"] not in seen:
            fail(f"a chunk of unexpected job {a['job']}")
        for i in range(a["first"], a["first"] + a["count"]):
            if i >= len(seen[a["job"]]):
                fail(f"job {a['job']}: item {i} beyond its {want[a['job']]} items")
            seen[a["job"]][i] += 1
    for j, counts in seen.items():
        bad = [i for i, c in enumerate(counts) if c != 1]
        if bad:
            fail(f"job {j}: item {bad[0]} appears {counts[bad[0]]} times ({len(bad)} items wrong)")
    for tid in workers:
        mine = sorted((e for e in work if e["tid"] == tid), key=lambda e: e["ts"])
        for a, b in zip(mine, mine[1:]):
            if b["ts"] < a["ts"] + a["dur"] - 0.01:  # 10 ns of rounding in the file
                fail(f"rank {tid}: spans overlap: {a['name']} and {b['name']}")
    master = [e for e in spans if e.get("cat") == "master"]
    if any(e["tid"] != 0 for e in master):
        fail("a master event off rank 0's track")
    dynamic = sum(1 for e in work if e["cat"] == "chunk")
    if ranks > 1:
        sends = sum(1 for e in master if e["name"] == "send")
        recvs = sum(1 for e in master if e["name"] == "recv")
        if sends != dynamic or recvs != dynamic:
            fail(f"{sends} sends and {recvs} receives for {dynamic} chunks")
    elif master:
        fail("master sends/receives in a one-rank pool")
    print(f"check_trace.py: {path}: {len(work)} spans cover {sum(want.values())} items of "
          f"{len(want)} jobs exactly once on {ranks} track(s)")


main()
