/*
 * cube.c — the cubes of 0..N-1, like square.c, but with the static schedule.
 *
 *     mpirun -n 4 ./build/examples/cube          # N = 10
 *     mpirun -n 4 ./build/examples/cube 1000
 *
 * Prints "i^3 = v", one line per item, in input order.  Every item costs the
 * same here, so the static schedule fits: each worker gets one equal share of
 * the items in a single MPI_Scatterv, and the results come back in a single
 * MPI_Gatherv.  The output is the same as with the default dynamic schedule.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <mpipool.h>

static int cube(mpipool_task *t) {
    long long x = *(const long long *)t->in;
    *(long long *)t->out = x * x * x;
    return 0;
}
MPIPOOL_TASK_TYPED(cube, long long, long long);

/* Parse argv[1] as N (default 10).  -1 if it is not a non-negative integer. */
static long parse_n(int argc, char **argv) {
    if (argc < 2) return 10;
    char *end;
    errno = 0;
    long n = strtol(argv[1], &end, 10);
    if (errno != 0 || end == argv[1] || *end != '\0' || n < 0) return -1;
    return n;
}

int main(int argc, char **argv) {
    mpipool *pool;
    /* Workers never return from mpipool_start: they run tasks until the
     * master closes the pool, then exit.  What follows runs on the master. */
    int rc = mpipool_start(&pool, &argc, &argv);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "cube: %s\n", mpipool_last_error(NULL));
        return 1;
    }

    long n = parse_n(argc, argv);
    if (n < 0) {
        fprintf(stderr, "cube: usage: cube [N]  (N >= 0, default 10)\n");
        mpipool_close(pool);
        return 2;
    }

    long long *in = malloc(((size_t)n + 1) * sizeof *in);
    long long *out = malloc(((size_t)n + 1) * sizeof *out);
    if (in == NULL || out == NULL) {
        fprintf(stderr, "cube: out of memory for %ld items\n", n);
        free(in);
        free(out);
        mpipool_close(pool);
        return 1;
    }
    for (long i = 0; i < n; i++) in[i] = i;

    /* Start from the defaults, then change what we need: options must be
     * initialised (MPIPOOL_MAP_OPTIONS_INIT or mpipool_map_options_init). */
    mpipool_map_options opts = MPIPOOL_MAP_OPTIONS_INIT;
    opts.schedule = MPIPOOL_SCHEDULE_STATIC;

    rc = MPIPOOL_MAP(pool, cube, in, out, (size_t)n, &opts);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "cube: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
    } else {
        for (long i = 0; i < n; i++) printf("%ld^3 = %lld\n", i, out[i]);
    }

    free(in);
    free(out);
    int crc = mpipool_close(pool);
    if (crc != MPIPOOL_OK) fprintf(stderr, "cube: mpipool_close: %s\n", mpipool_strerror(crc));
    return mpipool_exit_status(rc != MPIPOOL_OK ? rc : crc);
}
