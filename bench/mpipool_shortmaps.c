/*
 * mpipool_shortmaps.c — a short map after the master's own work, as in an
 * iterative program (compute for a few ms, map, compute, map ...): rank 0
 * sleeps GAP_MS before each repetition, outside the timed map, while the
 * workers wait inside the library; then N tasks of MS milliseconds of CPU
 * each.  What it measures is how soon idle workers notice the next map.
 * The peer is bench/peers/dynamic.c with BENCH_GAP_MS=GAP_MS (its workers
 * wait in MPI_Recv, which busy-polls with Open MPI).
 *
 *     mpiexec -n 3 bench/build/mpipool_shortmaps N MS REPS GAP_MS
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
        fprintf(stderr, "mpipool_shortmaps: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    size_t n = (size_t)bench_arg(argc, argv, 1, 4);
    double ms = (double)bench_arg(argc, argv, 2, 1);
    int reps = (int)bench_arg(argc, argv, 3, 50);
    double gap = (double)bench_arg(argc, argv, 4, 5);
    double *us = malloc(n * sizeof *us + 1);
    int *out = malloc(n * sizeof *out + 1);
    if (!us || !out) { fprintf(stderr, "mpipool_shortmaps: out of memory\n"); mpipool_close(pool); return 1; }
    for (size_t i = 0; i < n; i++) us[i] = ms * 1000.0;
    int ranks; MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    int bad = 0;
    for (int r = 0; r < reps && !bad; r++) {
        bench_pause(gap);
        double t0 = MPI_Wtime();
        int rc = mpipool_map(pool, spin, us, sizeof *us, out, sizeof *out, n, NULL);
        double t1 = MPI_Wtime();
        if (rc != MPIPOOL_OK) { fprintf(stderr, "mpipool_shortmaps: %s\n", mpipool_last_error(pool)); bad = 1; break; }
        for (size_t i = 0; i < n; i++)
            if (out[i] <= 0) { fprintf(stderr, "mpipool_shortmaps: item %zu has no worker's rank\n", i); bad = 1; }
        bench_result("shortmaps", "mpipool", n, ranks, r, t1 - t0, "task_ms=%g gap_ms=%g", ms, gap);
    }
    free(us); free(out);
    return mpipool_close(pool) == MPIPOOL_OK && !bad ? 0 : 1;
}
