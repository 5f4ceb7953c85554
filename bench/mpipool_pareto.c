/*
 * mpipool_pareto.c — the irregular workload: n tasks whose CPU times follow
 * a heavy-tailed Pareto law (fixed seed, work.h), summing to TOTAL_MS.
 * Reports the makespan and the lower bound max(sum / workers, longest task).
 *
 *     mpiexec -n 3 bench/build/mpipool_pareto N TOTAL_MS REPS CHUNK  (CHUNK 0 = automatic)
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
        fprintf(stderr, "mpipool_pareto: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    size_t n = (size_t)bench_arg(argc, argv, 1, 1000);
    double total = (double)bench_arg(argc, argv, 2, 4000) / 1000.0;
    int reps = (int)bench_arg(argc, argv, 3, 5);
    size_t chunk = (size_t)bench_arg(argc, argv, 4, 0);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = chunk;
    double *us = malloc(n * sizeof *us + 1);
    int *out = malloc(n * sizeof *out + 1);
    if (!us || !out) { fprintf(stderr, "mpipool_pareto: out of memory\n"); mpipool_close(pool); return 1; }
    bench_pareto(us, n, total);
    double longest = 0;
    for (size_t i = 0; i < n; i++) if (us[i] > longest) longest = us[i];
    int workers = mpipool_size(pool);
    double lb = total / workers > longest * 1e-6 ? total / workers : longest * 1e-6;
    int ranks; MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    char impl[64];
    if (chunk) snprintf(impl, sizeof impl, "mpipool-chunk%zu", chunk);
    else snprintf(impl, sizeof impl, "mpipool");
    int bad = 0;
    for (int r = 0; r < reps && !bad; r++) {
        double c0 = bench_cpu_self(), t0 = MPI_Wtime();
        int rc = mpipool_map(pool, spin, us, sizeof *us, out, sizeof *out, n, &o);
        double t1 = MPI_Wtime(), c1 = bench_cpu_self();
        if (rc != MPIPOOL_OK) { fprintf(stderr, "mpipool_pareto: %s\n", mpipool_last_error(pool)); bad = 1; break; }
        bench_result("pareto", impl, n, ranks, r, t1 - t0, "lower_bound=%.6f longest=%.6f sum=%.6f master_cpu=%.6f",
                     lb, longest * 1e-6, total, c1 - c0);
    }
    free(us); free(out);
    return mpipool_close(pool) == MPIPOOL_OK && !bad ? 0 : 1;
}
