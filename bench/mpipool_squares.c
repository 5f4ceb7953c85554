/*
 * mpipool_squares.c — squares of n unsigned ints with mpipool_map, uniform
 * work.  Compared with peers/scatter_gather.c (same kernel, work.h).
 *
 *     mpiexec -n 3 bench/build/mpipool_squares N REPS static|dynamic[-batch]
 *
 * "-batch" runs the batch task (MPIPOOL_BATCH_TASK: one call per run of
 * items, the loop in the task, like the hand-written peer's) instead of
 * the per-item task.
 *
 * Prints one RESULT line per repetition (time of the map only, MPI_Wtime).
 */
#include <mpipool.h>
#include "work.h"

static int square(mpipool_task *t) {
    *(unsigned *)t->out = bench_square(*(const unsigned *)t->in);
    return 0;
}
MPIPOOL_TASK(square);

static int square_batch(mpipool_task *t) {
    const unsigned *in = t->in;
    unsigned *out = t->out;
    for (size_t i = 0; i < t->count; i++) out[i] = bench_square(in[i]);
    return 0;
}
MPIPOOL_BATCH_TASK(square_batch);

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) {
        fprintf(stderr, "mpipool_squares: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    size_t n = (size_t)bench_arg(argc, argv, 1, 1000000);
    int reps = (int)bench_arg(argc, argv, 2, 5);
    const char *mode = argc > 3 ? argv[3] : "static";
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.schedule = strncmp(mode, "static", 6) == 0 ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
    mpipool_fn fn = strstr(mode, "-batch") ? square_batch : square;
    unsigned *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    if (!in || !out) { fprintf(stderr, "mpipool_squares: out of memory\n"); mpipool_close(pool); return 1; }
    for (size_t i = 0; i < n; i++) in[i] = (unsigned)i;
    memset(out, 0, n * sizeof *out);
    int ranks; MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    char impl[64]; snprintf(impl, sizeof impl, "mpipool-%s", mode);
    int bad = 0;
    for (int r = 0; r < reps && !bad; r++) {
        double t0 = MPI_Wtime();
        int rc = mpipool_map(pool, fn, in, sizeof *in, out, sizeof *out, n, &o);
        double t1 = MPI_Wtime();
        if (rc != MPIPOOL_OK) { fprintf(stderr, "mpipool_squares: %s\n", mpipool_last_error(pool)); bad = 1; break; }
        for (size_t i = 0; i < n; i += 1 + n / 1000)
            if (out[i] != bench_square((unsigned)i)) { fprintf(stderr, "mpipool_squares: wrong result at %zu\n", i); bad = 1; }
        if (n && out[n - 1] != bench_square((unsigned)(n - 1))) bad = 1;
        if (!bad) bench_result("squares", impl, n, ranks, r, t1 - t0, NULL);
        memset(out, 0, n * sizeof *out);
    }
    free(in); free(out);
    return mpipool_close(pool) == MPIPOOL_OK && !bad ? 0 : 1;
}
