/*
 * mpipool_mastercpu.c — how much CPU the master burns while the workers run
 * long tasks: n tasks of MS milliseconds of CPU each, getrusage(RUSAGE_SELF)
 * on rank 0 around the map (all its threads, the progress thread included).
 *
 *     mpiexec -n 3 bench/build/mpipool_mastercpu N MS REPS
 *
 * With a fourth argument GAP_MS, the "short maps" rows instead (workload
 * shortmaps): rank 0 sleeps GAP_MS before each repetition, outside the
 * timed map, while the workers wait inside the library, as between the
 * maps of an iterative program; what it measures is how soon idle workers
 * notice the next map.  Its peer is bench/peers/dynamic.c with
 * BENCH_GAP_MS (workers in MPI_Recv, which busy-polls with Open MPI).
 *
 *     mpiexec -n 3 bench/build/mpipool_mastercpu N MS REPS GAP_MS
 */
#include <mpipool.h>
#include "work.h"

static int spin(mpipool_task *t) {
    bench_spin(*(const double *)t->in);
    *(int *)t->out = t->rank;
    return 0;
}
MPIPOOL_TASK(spin);

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) {
        fprintf(stderr, "mpipool_mastercpu: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    size_t n = (size_t)bench_arg(argc, argv, 1, 2);
    double ms = (double)bench_arg(argc, argv, 2, 2000);
    int reps = (int)bench_arg(argc, argv, 3, 5);
    double gap = (double)bench_arg(argc, argv, 4, 0);
    double *us = malloc(n * sizeof *us + 1);
    int *out = malloc(n * sizeof *out + 1);
    if (!us || !out) { fprintf(stderr, "mpipool_mastercpu: out of memory\n"); mpipool_close(pool); return 1; }
    for (size_t i = 0; i < n; i++) us[i] = ms * 1000.0;
    int ranks; MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    int bad = 0;
    for (int r = 0; r < reps && !bad; r++) {
        if (gap > 0) bench_pause(gap);
        double c0 = bench_cpu_self(), t0 = MPI_Wtime();
        int rc = mpipool_map(pool, spin, us, sizeof *us, out, sizeof *out, n, NULL);
        double t1 = MPI_Wtime(), c1 = bench_cpu_self();
        if (rc != MPIPOOL_OK) { fprintf(stderr, "mpipool_mastercpu: %s\n", mpipool_last_error(pool)); bad = 1; break; }
        for (size_t i = 0; i < n; i++)
            if (out[i] <= 0) { fprintf(stderr, "mpipool_mastercpu: item %zu has no worker's rank\n", i); bad = 1; }
        bench_result(gap > 0 ? "shortmaps" : "mastercpu", "mpipool", n, ranks, r, t1 - t0,
                     "task_ms=%.0f master_cpu=%.6f cpu_frac=%.6f gap_ms=%g", ms, c1 - c0, (c1 - c0) / (t1 - t0), gap);
    }
    free(us); free(out);
    return mpipool_close(pool) == MPIPOOL_OK && !bad ? 0 : 1;
}
