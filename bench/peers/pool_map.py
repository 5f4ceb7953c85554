"""pool_map.py — the Python multiprocessing.Pool.map peer.

    /usr/bin/python3 bench/peers/pool_map.py PROCESSES CHUNKSIZE REPS square N
    /usr/bin/python3 bench/peers/pool_map.py PROCESSES CHUNKSIZE REPS pareto N TOTAL_MS

CHUNKSIZE 0 means Pool.map's default chunksize.  The pool is created before
the clock starts (as MPI_Init is excluded for the C programs); only
pool.map is timed.
"""
import multiprocessing as mp
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import work  # noqa: E402


def main():
    procs, chunk, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    workload, n = sys.argv[4], int(sys.argv[5])
    param = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    fn, xs = work.items(workload, n, param)
    lb, longest, total = work.lower_bound(workload, xs, procs)
    impl = "py-pool-default" if chunk == 0 else f"py-pool-chunk{chunk}"
    wl = "squares" if workload == "square" else workload
    with mp.Pool(processes=procs) as pool:
        for r in range(reps):
            t0 = time.perf_counter()
            out = pool.map(fn, xs) if chunk == 0 else pool.map(fn, xs, chunksize=chunk)
            t1 = time.perf_counter()
            if workload == "square" and (len(out) != n or (n and out[-1] != work.square(n - 1))):
                raise SystemExit("pool_map: wrong results")
            work.result(wl, impl, n, procs + 1, r, t1 - t0,
                        f"lower_bound={lb:.6f} longest={longest:.6f} sum={total:.6f}")


if __name__ == "__main__":
    main()
