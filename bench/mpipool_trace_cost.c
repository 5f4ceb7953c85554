/*
 * mpipool_trace_cost.c — what watching a run costs: the same map of tiny
 * items, one item per chunk (the worst case: three trace events and a
 * stats update per item, and the least work to hide them behind), timed
 * with and without MPIPOOL_TRACE / MPIPOOL_STATS set in the environment.
 *
 *     mpiexec -n 3 bench/build/mpipool_trace_cost N REPS LABEL
 *     MPIPOOL_TRACE=/tmp/t.json mpiexec -n 3 bench/build/mpipool_trace_cost N REPS trace
 *
 * Prints one RESULT line per repetition (the map only, MPI_Wtime) with the
 * time per chunk; the trace file itself is written at close, outside the
 * timing, and its writing time is printed on a separate line.
 */
#include <mpipool.h>
#include "work.h"

static int square(mpipool_task *t) {
    *(unsigned *)t->out = bench_square(*(const unsigned *)t->in);
    return 0;
}
MPIPOOL_TASK(square);

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) {
        fprintf(stderr, "mpipool_trace_cost: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    size_t n = (size_t)bench_arg(argc, argv, 1, 100000);
    int reps = (int)bench_arg(argc, argv, 2, 5);
    const char *label = argc > 3 ? argv[3] : "plain";
    unsigned *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    if (!in || !out) { fprintf(stderr, "mpipool_trace_cost: out of memory\n"); mpipool_close(pool); return 1; }
    for (size_t i = 0; i < n; i++) in[i] = (unsigned)i;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1;
    int ranks;
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    char impl[64];
    snprintf(impl, sizeof impl, "mpipool-%s", label);
    int bad = 0;
    for (int r = 0; r < reps && !bad; r++) {
        double t0 = MPI_Wtime();
        int rc = mpipool_map(pool, square, in, sizeof *in, out, sizeof *out, n, &o);
        double t1 = MPI_Wtime();
        if (rc != MPIPOOL_OK) { fprintf(stderr, "mpipool_trace_cost: %s\n", mpipool_last_error(pool)); bad = 1; break; }
        for (size_t i = 0; i < n; i++)
            if (out[i] != bench_square((unsigned)i)) { fprintf(stderr, "mpipool_trace_cost: wrong result at %zu\n", i); bad = 1; break; }
        if (!bad) bench_result("trace_cost", impl, n, ranks, r, t1 - t0, "us_per_chunk=%.3f", (t1 - t0) / (double)n * 1e6);
    }
    free(in); free(out);
    /* The close writes the trace; MPI is finalised by then, so no MPI_Wtime. */
    struct timespec c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &c0);
    int crc = mpipool_close(pool);
    clock_gettime(CLOCK_MONOTONIC, &c1);
    printf("CLOSE impl=%s seconds=%.6f\n", impl,
           (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9);
    return crc == MPIPOOL_OK && !bad ? 0 : 1;
}
