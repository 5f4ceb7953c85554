/*
 * square_cube.c — two task functions, one pool, two maps, then one apply.
 *
 *     mpirun -n 4 ./build/examples/square_cube   # N = 10
 *     mpirun -n 4 ./build/examples/square_cube 50
 *
 * A pool is opened once and reused: the workers stay inside mpipool_start() and
 * run whichever registered task each map names.  Prints "i: i^2 = a, i^3 = b"
 * for i in 0..N-1, then the cube of N computed by mpipool_apply (one item on
 * one worker, like Python's pool.apply).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <mpipool.h>

static int square(mpipool_task *t) {
    long long x = *(const long long *)t->in;
    *(long long *)t->out = x * x;
    return 0;
}

static int cube(mpipool_task *t) {
    long long x = *(const long long *)t->in;
    *(long long *)t->out = x * x * x;
    return 0;
}

/* Every rank registers both, so every rank can run either. */
MPIPOOL_TASK_TYPED(square, long long, long long);
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
        fprintf(stderr, "square_cube: %s\n", mpipool_last_error(NULL));
        return 1;
    }

    long n = parse_n(argc, argv);
    if (n < 0) {
        fprintf(stderr, "square_cube: usage: square_cube [N]  (N >= 0, default 10)\n");
        mpipool_close(pool);
        return 2;
    }

    size_t count = (size_t)n + 1; /* + 1: never malloc(0) */
    long long *in = malloc(count * sizeof *in);
    long long *squares = malloc(count * sizeof *squares);
    long long *cubes = malloc(count * sizeof *cubes);
    if (in == NULL || squares == NULL || cubes == NULL) {
        fprintf(stderr, "square_cube: out of memory for %ld items\n", n);
        rc = MPIPOOL_ENOMEM;
        goto done;
    }
    for (long i = 0; i < n; i++) in[i] = i;

    /* Two maps over the same items with different functions. */
    rc = MPIPOOL_MAP(pool, square, in, squares, (size_t)n, NULL);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "square_cube: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
        goto done;
    }
    rc = MPIPOOL_MAP(pool, cube, in, cubes, (size_t)n, NULL);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "square_cube: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
        goto done;
    }
    for (long i = 0; i < n; i++) printf("%ld: %ld^2 = %lld, %ld^3 = %lld\n", i, i, squares[i], i, cubes[i]);

    /* One item on one worker. */
    long long x = n, x3 = 0;
    rc = mpipool_apply(pool, cube, &x, sizeof x, &x3, sizeof x3);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "square_cube: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
        goto done;
    }
    printf("apply: %lld^3 = %lld\n", x, x3);

done:
    free(in);
    free(squares);
    free(cubes);
    int crc = mpipool_close(pool);
    if (crc != MPIPOOL_OK)
        fprintf(stderr, "square_cube: mpipool_close: %s\n", mpipool_strerror(crc));
    return mpipool_exit_status(rc != MPIPOOL_OK ? rc : crc);
}
