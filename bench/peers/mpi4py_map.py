"""mpi4py_map.py — the mpi4py MPIPoolExecutor.map peer.  Run it the way
mpi4py documents for a pool inside mpirun:

    mpiexec -n 3 /usr/bin/python3 -m mpi4py.futures bench/peers/mpi4py_map.py CHUNKSIZE REPS square N
    mpiexec -n 3 /usr/bin/python3 -m mpi4py.futures bench/peers/mpi4py_map.py CHUNKSIZE REPS pareto N TOTAL_MS

Rank 0 runs this script; the other ranks are the executor's workers.
CHUNKSIZE 0 means map's default (1).  The executor is started (and its
workers are waited for) before the clock starts; only map is timed.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import work  # noqa: E402
from mpi4py import MPI  # noqa: E402
from mpi4py.futures import MPIPoolExecutor  # noqa: E402


def main():
    chunk, reps = int(sys.argv[1]), int(sys.argv[2])
    workload, n = sys.argv[3], int(sys.argv[4])
    param = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    fn, xs = work.items(workload, n, param)
    ranks = MPI.COMM_WORLD.Get_size()
    impl = "mpi4py-default" if chunk == 0 else f"mpi4py-chunk{chunk}"
    wl = "squares" if workload == "square" else workload
    with MPIPoolExecutor() as ex:
        ex.bootup(wait=True)  # the workers are up before the clock starts
        workers = ranks - 1
        lb, longest, total = work.lower_bound(workload, xs, workers)
        for r in range(reps):
            t0 = time.perf_counter()
            it = ex.map(fn, xs) if chunk == 0 else ex.map(fn, xs, chunksize=chunk)
            out = list(it)
            t1 = time.perf_counter()
            if workload == "square" and (len(out) != n or (n and out[-1] != work.square(n - 1))):
                raise SystemExit("mpi4py_map: wrong results")
            work.result(wl, impl, n, ranks, r, t1 - t0,
                        f"lower_bound={lb:.6f} longest={longest:.6f} sum={total:.6f}")


if __name__ == "__main__":
    main()
