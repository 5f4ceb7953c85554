"""work.py — the Python peers' copy of ../work.h: the same kernels and the
same fixed-seed Pareto durations (bit for bit: splitmix64, Pareto(1.5),
scaled to the given total)."""
import time

PARETO_SEED = 20240601
PARETO_ALPHA = 1.5
M64 = (1 << 64) - 1


def square(x):
    return (x * x) & 0xFFFFFFFF


def spin(us):
    """Burn `us` microseconds of this thread's CPU time; returns 1."""
    end = time.thread_time() + us * 1e-6
    while time.thread_time() < end:
        pass
    return 1


def pareto(n, total_s):
    s = PARETO_SEED
    out = []
    for _ in range(n):
        s = (s + 0x9E3779B97F4A7C15) & M64
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        u = (z >> 11) * 2.0 ** -53
        out.append((1.0 - u) ** (-1.0 / PARETO_ALPHA))
    total = sum(out)
    return [d * (total_s * 1e6 / total) for d in out]


def items(workload, n, param):
    """(function, item list, lower bound in seconds for `workers`)."""
    if workload == "square":
        return square, list(range(n))
    if workload == "pareto":
        return spin, pareto(n, param / 1000.0)
    raise SystemExit(f"unknown workload {workload}")


def lower_bound(workload, xs, workers):
    if workload == "square":
        return 0.0, 0.0, 0.0
    total = sum(xs) * 1e-6
    longest = max(xs) * 1e-6
    return max(total / workers, longest), longest, total


def result(workload, impl, n, ranks, rep, seconds, extra=""):
    print(f"RESULT workload={workload} impl={impl} n={n} ranks={ranks} rep={rep} "
          f"seconds={seconds:.6f} items_per_s={n / seconds if seconds > 0 else 0:.6g}"
          + (f" {extra}" if extra else ""), flush=True)
