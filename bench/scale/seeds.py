"""seeds.py — turn bench/build/scale-seeds/results.dat (bench/run scale --seeds)
into the "Heavy tails over several draws" section of bench/RESULTS.md.  Only
that section is replaced (or appended when missing).

At the grid's heavy-tailed points with many ranks the ideal time is the
longest item alone, so a run's efficiency is mostly where that one item falls
in the map: a single draw of the item times (the grid's) says more about the
draw than about the scheduler.  This section runs the same points over
several draws and compares mpipool with each peer draw by draw.

    python3 bench/scale/seeds.py --dat FILE --order-dir DIR --calibration FILE \
        --results bench/RESULTS.md --t T --elapsed S --jobs J --dyn-max N
"""
import argparse
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import replace_section  # noqa: E402

HEADING = "## Heavy tails over several draws (bench/run scale --seeds)"
PEERS = [("peer-static", "static"), ("peer-dynamic1", "dynamic, 1 item/msg")]
TIE = 0.005  # issue 19.3: ties within 0.005


def read_rows(path):
    rows = {}
    keys = ["ranks", "dur_us", "dist", "impl", "status", "eff", "makespan", "ideal", "sum", "longest", "n", "chunks",
            "wall", "seed"]
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        d = dict(zip(keys, line.split()))
        rows[(int(d["ranks"]), int(float(d["dur_us"])), d["seed"], d["impl"])] = d
    return rows


def read_order(path):
    """order_bound.c's table: (ranks, D) -> (at, estimate, list schedule or None)."""
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        f = line.split()
        if len(f) in (7, 9) and f[0].isdigit():
            out[(int(f[0]), int(float(f[1])))] = (float(f[4]), float(f[6]), float(f[7]) if len(f) == 9 else None)
    return out


def eff(d):
    return float(d["eff"]) if d is not None and d["status"] == "ok" else None


def fmt(d):
    if d is None:
        return "—"
    if d["status"] == "ok":
        return f"{float(d['eff']):.3f}"
    return "out of time" if d["status"] == "timeout" else "FAILED"


def point_table(rows, order, p, dur, seeds, peers):
    """The lines of one point's table and its summary sentence."""
    out = [f"**{p} ranks × {dur} µs, Pareto**", "",
           "| draw | longest item at (of n) | in-order estimate | in-order list schedule | mpipool | " +
           " | ".join(name for _, name in peers) + " | mpipool ≥ every peer |",
           "|" + "---|" * (6 + len(peers))]
    wins = counted = 0
    sums = {}
    for seed in seeds:
        m = rows.get((p, dur, seed, "mpipool-auto"))
        at, est, lst = order.get(seed, {}).get((p, dur), (None, None, None))
        cells = [fmt(rows.get((p, dur, seed, impl))) for impl, _ in peers]
        me = eff(m)
        others = [eff(rows.get((p, dur, seed, impl))) for impl, _ in peers]
        verdict = "—"
        if me is not None and all(o is not None for o in others):
            counted += 1
            ok = all(me >= o - TIE for o in others)
            wins += ok
            verdict = "yes" if ok else f"no ({me - max(others):+.3f})"
            for impl, v in [("mpipool-auto", me)] + [(impl, o) for (impl, _), o in zip(peers, others)]:
                sums[impl] = sums.get(impl, 0.0) + v
        out.append(f"| {seed} | {'—' if at is None else f'{at:.3f}'} | {'—' if est is None else f'{est:.3f}'} | "
                   f"{'—' if lst is None else f'{lst:.3f}'} | {fmt(m)} | " + " | ".join(cells) + f" | {verdict} |")
    out.append("")
    if counted:
        means = ", ".join(f"{name} {sums[impl] / counted:.3f}" for impl, name in
                          [("mpipool-auto", "mpipool")] + peers)
        out.append(f"mpipool ≥ every peer (ties within {TIE}) in **{wins} of {counted}** draws; "
                   f"means over those draws: {means}.")
        out.append("")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dat", required=True)
    ap.add_argument("--order-dir", required=True)
    ap.add_argument("--calibration", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--t", type=float, required=True)
    ap.add_argument("--elapsed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--dyn-max", type=int, default=0)
    a = ap.parse_args()

    rows = read_rows(a.dat)
    if not rows:
        print(f"seeds.py: no results in {a.dat}", file=sys.stderr)
        return 1
    seeds = []
    for k in rows:
        if k[2] not in seeds:
            seeds.append(k[2])
    order = {s: read_order(os.path.join(a.order_dir, f"order-{s}.txt")) for s in seeds}
    cal = dict(l.rstrip("\n").split("=", 1) for l in open(a.calibration) if "=" in l)
    points = sorted({(k[0], k[1]) for k in rows})
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [HEADING, "",
           f"Generated {when} by `bench/run scale --seeds` ({a.elapsed} s of wall time, {a.jobs} simulations at "
           f"once; {cal.get('us_per_message', '?')} µs per message, {cal.get('source', '?')}; T = {a.t:g} s). "
           "The same programs and SMPI settings as the Scale section; only the draw of the item times differs "
           "(`SCALE_SEED`, bench/scale/simwork.h; \"default\" is the grid's own draw).", "",
           "At these points the ideal time is the longest item alone, so a run's efficiency is mostly when that "
           "item starts: where it falls in the map.  A scheduler that hands items out in index order (mpipool, "
           "the dynamic peer) starts it after about the work ahead of it spread over every worker; the "
           "\"in-order estimate\" is the efficiency that leaves, and the \"in-order list schedule\" the exact "
           "efficiency of such a scheduler with no overhead at all (bench/scale/order_bound.c).  Static "
           "Scatterv/Gatherv starts it after the items ahead of it in its own rank's block only, which "
           "helps or hurts by where it falls in that block.  One draw is a lottery; several say which "
           "scheduler is better.", ""]
    for p, dur in points:
        peers = [(impl, name) for impl, name in PEERS if any(k[0] == p and k[1] == dur and k[3] == impl
                                                             for k in rows)]
        out += point_table(rows, order, p, dur, seeds, peers)
    if a.dyn_max:
        out.append(f"The one-item-per-message peer runs only where n ≤ {a.dyn_max:,} (SCALE_DYN_MAX), as in the "
                   "grid.")
        out.append("")
    out.append("Command (from the repository root): `SCALE_MSG_US=<µs per message> bench/run scale --seeds`; "
               "one point by hand: `SCALE_SEED=<draw> smpirun ... bench/build/scale-seeds/scale D pareto T` "
               "with the Scale section's settings.")
    out.append("")
    replace_section(a.results, "\n".join(out), HEADING)
    return 0


if __name__ == "__main__":
    sys.exit(main())
