"""report.py — turn bench/build/scale/results.dat into the "Scale" section of
bench/RESULTS.md and bench/scale.png.  Only that section is replaced (or
appended when missing); the rest of RESULTS.md is kept byte for byte.

    python3 bench/scale/report.py --dat FILE --calibration FILE --results bench/RESULTS.md \
        --png bench/scale.png --gp FILE --points DIR --plan FILE --t T ...
    python3 bench/scale/report.py --save-section RESULTS.md FILE     (bench/run: before
    python3 bench/scale/report.py --restore-section RESULTS.md FILE   and after report.py;
                                  the scale section and the hand-written ones after it)
"""
import argparse
import datetime
import os
import subprocess
import sys

HEADING = "## Scale: 64 to 4096 simulated ranks (SimGrid SMPI)"
IMPLS = [("mpipool-auto", "mpipool auto"), ("mpipool-off", "mpipool off (flat)"), ("mpipool-on", "mpipool on (hierarchy)"),
         ("peer-dynamic1", "peer dynamic, 1 item/msg"), ("peer-static", "peer static (Scatterv/Gatherv)")]


def split_section(text, heading=HEADING):
    """(before, section, after): the section runs from `heading` to the next
    level-2 heading or the end."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if l.rstrip("\n") == heading), None)
    if start is None:
        return text, "", ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "".join(lines[:start]), "".join(lines[start:end]), "".join(lines[end:])


def replace_section(path, section, heading=HEADING):
    text = open(path).read() if os.path.exists(path) else "# mpipool benchmark results\n"
    before, _, after = split_section(text, heading)
    if not before.endswith("\n\n"):
        before = before.rstrip("\n") + "\n\n"
    if after and not section.endswith("\n\n"):
        section = section.rstrip("\n") + "\n\n"
    with open(path + ".tmp", "w") as f:
        f.write(before + section + after)
    os.replace(path + ".tmp", path)


def read_dat(path):
    rows = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        f = line.split()
        keys = ["ranks", "dur_us", "dist", "impl", "status", "eff", "makespan", "ideal", "sum", "longest", "n",
                "chunks", "wall"]
        d = dict(zip(keys, f))
        rows[(int(d["ranks"]), int(float(d["dur_us"])), d["dist"], d["impl"])] = d
    return rows


def cell(d, timeout, dyn_max):
    if d is None:
        return "—"
    if d["status"] == "ok":
        w = float(d["wall"])
        return f"**{float(d['eff']):.3f}** ({w:.1f} s)" if w < 10 else f"**{float(d['eff']):.3f}** ({w:.0f} s)"
    if d["status"] == "timeout":
        return f"not run (wall time > {float(d['wall']):.0f} s)"
    if d["status"] == "skipped":
        return f"not run (wall time: {int(d['n']):,} one-item messages > {dyn_max:,})"
    return "FAILED"


def plot(rows, ranks, durs, png, gp, flat_only):
    dat = os.path.splitext(gp)[0] + ".plot.dat"
    blocks = []
    with open(dat, "w") as f:
        for dist in ("uniform", "pareto"):
            for impl, _ in IMPLS:
                for d in durs:
                    pts = [(p, float(rows[(p, d, dist, impl)]["eff"])) for p in ranks
                           if (p, d, dist, impl) in rows and rows[(p, d, dist, impl)]["status"] == "ok"]
                    f.write(f"# {dist} {impl} {d}us\n")
                    for p, e in pts:
                        f.write(f"{p} {e:.6f}\n")
                    if not pts:
                        f.write("nan nan\n")
                    f.write("\n\n")
                    blocks.append((dist, impl, d, len(pts)))
    color = {"mpipool-auto": "#1f77b4", "mpipool-off": "#2ca02c", "mpipool-on": "#9467bd", "peer-dynamic1": "#d62728",
             "peer-static": "#ff7f0e"}
    dash = {10: 1, 100: 2, 1000: 3}
    ptype = {10: 7, 100: 5, 1000: 9}
    names = dict(IMPLS)
    if flat_only:
        names["mpipool-auto"] = "mpipool (auto = off here)"
    lines = ["set terminal pngcairo size 1500,720 font ',10'", f"set output '{png}'",
             "set multiplot layout 1,2", "set logscale x 2", "set xrange [48:5400]", "set yrange [0:1.05]",
             "set xtics (64, 256, 1024, 4096)", "set grid", "set xlabel 'ranks (1 master + ranks-1 workers)'",
             "set ylabel 'efficiency = ideal / simulated makespan'",
             "set key outside below horizontal maxcols 3 font ',8'"]
    for dist, title in (("uniform", "uniform task durations"),
                        ("pareto", "heavy-tailed (Pareto 1.5) task durations")):
        lines.append(f"set title '{title}'")
        parts = []
        for i, (bd, impl, d, npts) in enumerate(blocks):
            if bd != dist or npts == 0 or (flat_only and impl == "mpipool-off"):
                continue
            parts.append(f"'{dat}' index {i} using 1:2 with linespoints lc rgb '{color[impl]}' dt {dash[d]} "
                         f"pt {ptype[d]} lw 1.5 title '{names[impl]}, {d} us'")
        lines.append("plot " + ", \\\n     ".join(parts) if parts else "plot NaN notitle")
    lines.append("unset multiplot")
    open(gp, "w").write("\n".join(lines) + "\n")
    p = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if p.returncode != 0:
        print(f"report.py: gnuplot failed: {p.stderr.strip()}", file=sys.stderr)
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--save-section", nargs=2, metavar=("RESULTS", "FILE"))
    ap.add_argument("--restore-section", nargs=2, metavar=("RESULTS", "FILE"))
    ap.add_argument("--dat")
    ap.add_argument("--calibration")
    ap.add_argument("--results")
    ap.add_argument("--png")
    ap.add_argument("--gp")
    ap.add_argument("--points")
    ap.add_argument("--plan")
    ap.add_argument("--t", type=float)
    ap.add_argument("--long-dat")
    ap.add_argument("--long-t", type=float, default=0)
    ap.add_argument("--timeout", type=float)
    ap.add_argument("--timeout-4096", type=float)
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--dyn-max", type=int)
    ap.add_argument("--elapsed", type=int)
    ap.add_argument("--hierarchy")
    ap.add_argument("--only", help="SCALE_ONLY's record (run.sh): the points re-run, and the run the rest are from")
    a = ap.parse_args()

    if a.save_section:
        res, out = a.save_section
        # The scale section and every section after it: bench/report.py
        # writes RESULTS.md only up to its own notes, and the sections after
        # this one are measurements written by hand (per issue), not by it.
        _, sec, after = split_section(open(res).read()) if os.path.exists(res) else ("", "", "")
        open(out, "w").write(sec + after if sec else "")
        return 0
    if a.restore_section:
        res, src = a.restore_section
        sec = open(src).read() if os.path.exists(src) else ""
        if sec and os.path.exists(res) and not split_section(open(res).read())[1]:
            replace_section(res, sec)
        return 0

    rows = read_dat(a.dat)
    cal = dict(l.rstrip("\n").split("=", 1) for l in open(a.calibration) if "=" in l)
    ranks = sorted({k[0] for k in rows})
    durs = sorted({k[1] for k in rows})
    ok_plot = plot(rows, ranks, durs, a.png, a.gp, a.hierarchy == "no")
    meta = {}
    for name in os.listdir(a.points):
        if name.endswith(".meta"):
            m = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(a.points, name)) if "=" in l)
            meta[name[:-5]] = m
    cmds = {}
    for line in open(a.plan):
        name, p, impl, d, dist, _t = line.split()
        if name in meta:
            cmds.setdefault(impl, meta[name]["cmd"])
    sim_wall = sum(float(d["wall"]) for d in rows.values() if d["status"] != "skipped"
                   and not (a.hierarchy == "no" and d["impl"] == "mpipool-off"))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    us = float(cal["us_per_message"])
    out = [HEADING, ""]
    load = open('/proc/loadavg').read().split()[0]
    o = None
    if a.only and os.path.exists(a.only):
        o = dict(l.rstrip("\n").split("=", 1) for l in open(a.only) if "=" in l)
    if o is None:
        out.append(f"Produced by `bench/run scale` (which runs `bench/scale/run.sh`) on {now}; the whole run, "
                   f"calibration and builds included, took **{a.elapsed} s** of wall time on this 2-core machine "
                   f"({sim_wall:.0f} s of simulations, {a.jobs} at a time). Load average after: {load}.")
    else:
        out.append(f"Produced by `bench/run scale` (which runs `bench/scale/run.sh`) in two steps. The whole grid "
                   f"ran on {o.get('grid_date', '?')} with commit {o.get('grid_commit', '?')} "
                   f"(**{o.get('grid_elapsed', '?')} s** of wall time on this 2-core machine); then the points "
                   f"whose names match `SCALE_ONLY='{o.get('only', '')}'` ran again on {o.get('date', '?')} with "
                   f"commit {o.get('commit', '?')} (**{a.elapsed} s**), a change that could move only them; every "
                   f"other point is the grid's. {sim_wall:.0f} s of simulations in all, {a.jobs} at a time. Load "
                   f"average after: {load}.")
    out.append("")
    out.append("mpipool's real code (src/*.c, built with `smpicc`) and two hand-written MPI peers run on a "
               "simulated cluster of 4096 hosts (bench/scale/platform.xml: one rank per 1 Gflop/s host, "
               "10 Gbps full-duplex links to one switch, 1.5 µs host to host). Tasks are simulated: a batch "
               "task charges its items' durations to the simulated clock with one `smpi_execute()` "
               "(bench/scale/simwork.h). Every run checks every result on the master.")
    out.append("")
    if cal.get("source") == "measured":
        out.append(f"**Calibration: {us:.3g} µs per message**, injected as `smpi/ois` = `smpi/os` (send) and "
                   f"`smpi/or` (receive) into every simulated run, mpipool's and the peers' alike. Measured in "
                   f"this run with the real Open MPI build: `{cal['command']}` (one item per message, 1 master "
                   f"+ 2 workers on 2 cores), launched three times, gave at best {float(cal['best_items_per_s']):.4g} items/s; each "
                   f"item costs the master one send and one receive, so 1 / rate = {2 * us:.3g} µs per item, "
                   f"half of it per message. Best of the repetitions rather than the median, because other load "
                   f"only adds time; still an upper bound on mpipool's own cost (3 ranks share 2 cores). "
                   f"Load average at calibration: {cal.get('load', '?')}.")
    elif cal.get("source") == "given":
        out.append(f"**Calibration: {us:.4g} µs per message, given** (`SCALE_MSG_US={us:.4g}`, not measured in "
                   f"this run): the figure of an earlier calibration, so that this grid and that one differ only "
                   f"by the code. Injected as `smpi/ois` = `smpi/os` (send) and `smpi/or` (receive) into every "
                   f"simulated run, mpipool's and the peers' alike.")
    else:
        out.append(f"**Calibration: {us:.3g} µs per message (fallback)**: the calibration run could not run "
                   f"here, so run.sh used its documented fallback, the figure of bench/RESULTS.md of "
                   f"2026-12-01 (497063 items/s one item per message = 2.01 µs per item, half per message).")
    out.append("")
    if cal.get("crosstraffic", "1") == "0":
        out.append("**SimGrid's cross-traffic model: off** (`network/crosstraffic:0`; every grid before "
                   "2026-12-06 19:00 had it on, SimGrid's default, and `SCALE_CROSSTRAFFIC=1` gives that back). "
                   "On, it takes the master's sends to 51 % of its link while 4 ranks send results back and "
                   "13 % with 28 (`bench/run scale --linkcap`), which no full-duplex fabric does; "
                   "bench/README.md, \"Scale benchmark\".")
    else:
        out.append("**SimGrid's cross-traffic model: on** (`SCALE_CROSSTRAFFIC=1`, SimGrid's default): the "
                   "master's sends get a share of its link that shrinks with the results streaming back "
                   "(`bench/run scale --linkcap`).")
    out.append("")
    n_of = {}
    for (p, d, dist, impl), r in rows.items():
        if r["n"] != "-":
            n_of[(p, d)] = int(r["n"])
    out.append(f"**Problem size:** the ideal time is fixed at T = {a.t:g} s for every configuration: "
               f"n = T × (ranks − 1) / D items (from {min(n_of.values()):,} to {max(n_of.values()):,}). "
               "Efficiency = ideal / simulated makespan, where ideal = sum of durations / (ranks − 1) for "
               "uniform work and max(sum / (ranks − 1), longest item) for heavy-tailed work (the makespan "
               "lower bound; rank 0 runs no task in any implementation). Makespan = simulated MPI_Wtime on "
               "rank 0 from just before the map (peers: after a barrier) to just after it.")
    out.append("")
    if a.hierarchy == "no":
        out.append("**mpipool auto vs off:** the library in this tree does not read `MPIPOOL_HIERARCHY` yet, "
                   "so both are the same program (mpipool's default: one flat master); it was run once and "
                   "is shown in both columns.")
        out.append("")
    out.append("Each cell: efficiency, then (simulation wall time). Peer dynamic sends one item per message "
               "with two in flight per worker; it is not run where it would need more than "
               f"{a.dyn_max:,} one-item messages (its wall time grows with the message count, and such a "
               "point is master-bound anyway: makespan ≥ n × 2 messages × the calibrated cost). "
               f"Every other point gets {a.timeout:.0f} s of wall time ({a.timeout_4096:.0f} s at 4096 ranks).")
    out.append("")
    hdr = "| work | D | ranks | n | ideal (s) | longest item (s) | " + " | ".join(n for _, n in IMPLS) + " |"
    out.append(hdr)
    out.append("|" + "---|" * (6 + len(IMPLS)))
    for dist in ("uniform", "pareto"):
        for d in durs:
            for p in ranks:
                any_row = next((rows[(p, d, dist, i)] for i, _ in IMPLS if (p, d, dist, i) in rows
                                and rows[(p, d, dist, i)]["status"] == "ok"), None)
                ideal = f"{float(any_row['ideal']):.4g}" if any_row else "—"
                longest = f"{float(any_row['longest']):.4g}" if any_row else "—"
                n = f"{n_of.get((p, d), 0):,}"
                cells = [cell(rows.get((p, d, dist, i)), a.timeout, a.dyn_max) for i, _ in IMPLS]
                out.append(f"| {dist} | {d} µs | {p} | {n} | {ideal} | {longest} | " + " | ".join(cells) + " |")
    out.append("")
    long_rows = read_dat(a.long_dat) if a.long_dat and os.path.exists(a.long_dat) else {}
    if long_rows and a.long_t > 0:
        out.append(f"**Longer runs (T = {a.long_t:g} s)** at {max(k[0] for k in long_rows)} ranks, where the "
                   "targets are: mpipool's loss against the ideal is mostly a fixed few milliseconds at the end "
                   "of a map (the last items spread over thousands of ranks), so a run as short as T = "
                   f"{a.t:g} s (50 tasks per rank at 1 ms) understates what a job of realistic length sees. "
                   "Same programs and settings, only T differs:")
        out.append("")
        limpls = [(i, n) for i, n in IMPLS if any(k[3] == i for k in long_rows)]
        out.append("| work | D | ranks | n | ideal (s) | " + " | ".join(n for _, n in limpls) + " |")
        out.append("|" + "---|" * (5 + len(limpls)))
        for dist in ("uniform", "pareto"):
            for d in sorted({k[1] for k in long_rows}):
                for p in sorted({k[0] for k in long_rows}):
                    any_row = next((long_rows[(p, d, dist, i)] for i, _ in limpls if (p, d, dist, i) in long_rows
                                    and long_rows[(p, d, dist, i)]["status"] == "ok"), None)
                    if not any(k[:3] == (p, d, dist) for k in long_rows):
                        continue
                    ideal = f"{float(any_row['ideal']):.4g}" if any_row else "—"
                    n = f"{int(any_row['n']):,}" if any_row else "—"
                    cells = [cell(long_rows.get((p, d, dist, i)), a.timeout, a.dyn_max) for i, _ in limpls]
                    out.append(f"| {dist} | {d} µs | {p} | {n} | {ideal} | " + " | ".join(cells) + " |")
        out.append("")
    if ok_plot:
        out.append(f"![{os.path.basename(a.png)}]({os.path.basename(a.png)})")
        out.append("")
        out.append(f"Plot: `gnuplot {a.gp}` (written by bench/scale/report.py from `{a.dat}`).")
        out.append("")
    out.append("Commands (from the repository root after `bench/run scale` built the programs; "
               "substitute the row's ranks for -np, D, work and T):")
    out.append("")
    for impl, name in IMPLS:
        if impl in cmds:
            out.append(f"- {name}: `{cmds[impl]}`")
    if a.hierarchy == "no":
        out.append("- mpipool off: the mpipool auto command (no hierarchy in this library yet).")
    out.append("")
    out.append("The SMPI settings and why each is there are in bench/README.md (\"Scale benchmark\").")
    out.append("")
    replace_section(a.results, "\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
