/*
 * mpipool_bigitems.c — items of SIZE bytes (1 MiB by default): the task
 * copies its item to its result, so every item crosses the wire twice.
 * Bandwidth = 2 * n * SIZE / time, compared with peers/pingpong.c.
 *
 *     mpiexec -n 3 bench/build/mpipool_bigitems N REPS [SIZE]
 */
#include <mpipool.h>
#include "work.h"

static int copy(mpipool_task *t) {
    memcpy(t->out, t->in, t->in_size);
    return 0;
}
MPIPOOL_TASK(copy);

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) {
        fprintf(stderr, "mpipool_bigitems: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    size_t n = (size_t)bench_arg(argc, argv, 1, 256);
    int reps = (int)bench_arg(argc, argv, 2, 5);
    size_t size = (size_t)bench_arg(argc, argv, 3, 1 << 20);
    char *in = malloc(n * size + 1), *out = malloc(n * size + 1);
    if (!in || !out) { fprintf(stderr, "mpipool_bigitems: out of memory\n"); mpipool_close(pool); return 1; }
    for (size_t i = 0; i < n * size; i++) in[i] = (char)(i * 7);
    memset(out, 0, n * size);
    int ranks; MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    int bad = 0;
    for (int r = 0; r < reps && !bad; r++) {
        double t0 = MPI_Wtime();
        int rc = mpipool_map(pool, copy, in, size, out, size, n, NULL);
        double t1 = MPI_Wtime();
        if (rc != MPIPOOL_OK) { fprintf(stderr, "mpipool_bigitems: %s\n", mpipool_last_error(pool)); bad = 1; break; }
        if (memcmp(in, out, n * size) != 0) { fprintf(stderr, "mpipool_bigitems: wrong results\n"); bad = 1; break; }
        bench_result("bigitems", "mpipool", n, ranks, r, t1 - t0, "size=%zu MiB_per_s=%.6g", size,
                     2.0 * (double)n * (double)size / (1 << 20) / (t1 - t0));
    }
    free(in); free(out);
    return mpipool_close(pool) == MPIPOOL_OK && !bad ? 0 : 1;
}
