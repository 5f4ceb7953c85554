/*
 * mpipool_roundtrip.c — many tiny tasks (a square) with a fixed chunk size:
 * chunk 1 is one item per message, the round-trip rate of the pool.
 * Compared with peers/dynamic.c at the same chunk size.
 *
 *     mpiexec -n 3 bench/build/mpipool_roundtrip N REPS CHUNK   (CHUNK 0 = automatic)
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
        fprintf(stderr, "mpipool_roundtrip: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    size_t n = (size_t)bench_arg(argc, argv, 1, 100000);
    int reps = (int)bench_arg(argc, argv, 2, 5);
    size_t chunk = (size_t)bench_arg(argc, argv, 3, 1);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = chunk;
    unsigned *in = malloc(n * sizeof *in + 1), *out = malloc(n * sizeof *out + 1);
    if (!in || !out) { fprintf(stderr, "mpipool_roundtrip: out of memory\n"); mpipool_close(pool); return 1; }
    for (size_t i = 0; i < n; i++) in[i] = (unsigned)i;
    int ranks; MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    int bad = 0;
    for (int r = 0; r < reps && !bad; r++) {
        memset(out, 0, n * sizeof *out);
        double t0 = MPI_Wtime();
        int rc = mpipool_map(pool, square, in, sizeof *in, out, sizeof *out, n, &o);
        double t1 = MPI_Wtime();
        if (rc != MPIPOOL_OK) { fprintf(stderr, "mpipool_roundtrip: %s\n", mpipool_last_error(pool)); bad = 1; break; }
        for (size_t i = 0; i < n; i++)
            if (out[i] != bench_square((unsigned)i)) { fprintf(stderr, "mpipool_roundtrip: wrong result at %zu\n", i); bad = 1; break; }
        if (!bad) bench_result("roundtrip", "mpipool", n, ranks, r, t1 - t0, "chunk=%zu", chunk);
    }
    free(in); free(out);
    return mpipool_close(pool) == MPIPOOL_OK && !bad ? 0 : 1;
}
