/*
 * square.c — the smallest complete mpipool program: the squares of 0..N-1.
 *
 *     mpirun -n 4 ./build/examples/square        # N = 10: 1 master, 3 workers
 *     mpirun -n 4 ./build/examples/square 1000
 *     ./build/examples/square                    # one rank: the master runs the tasks
 *
 * Prints "i^2 = v", one line per item, in input order, whatever the number of
 * ranks.  Python equivalent:
 *
 *     with Pool() as pool:
 *         for i, v in enumerate(pool.map(lambda x: x * x, range(n))):
 *             print(f"{i}^2 = {v}")
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <mpipool.h>

/* The task: one item in, one result out.  It runs on a worker rank (or on the
 * master in a one-rank pool), so it must not touch the master's variables. */
static int square(mpipool_task *t) {
    long long x = *(const long long *)t->in;
    *(long long *)t->out = x * x;
    return 0; /* 0 = success */
}
/* Register `square` by name on every rank before main() runs. */
MPIPOOL_TASK_TYPED(square, long long, long long); /* item and result types: checked at map time */

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
    /* SIGTERM (a batch system's time limit) ends the map with MPIPOOL_EINTR
     * once the journal (MPIPOOL_JOURNAL) is durable, and the program exits 75. */
    mpipool_catch_signals(0);
    /* Workers never return from mpipool_start: they run tasks until the
     * master closes the pool, then exit.  What follows runs on the master. */
    int rc = mpipool_start(&pool, &argc, &argv);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "square: %s\n", mpipool_last_error(NULL));
        return 1;
    }

    /* From here on we are the master. */
    long n = parse_n(argc, argv);
    if (n < 0) {
        fprintf(stderr, "square: usage: square [N]  (N >= 0, default 10)\n");
        mpipool_close(pool); /* releases the workers, so nobody hangs */
        return 2;
    }

    long long *in = malloc(((size_t)n + 1) * sizeof *in);
    long long *out = malloc(((size_t)n + 1) * sizeof *out);
    if (in == NULL || out == NULL) {
        fprintf(stderr, "square: out of memory for %ld items\n", n);
        free(in);
        free(out);
        mpipool_close(pool);
        return 1;
    }
    for (long i = 0; i < n; i++) in[i] = i;

    /* out[i] = square(in[i]) for every i, spread over the workers, gathered
     * back in order.  NULL options: dynamic scheduling, automatic chunks. */
    rc = MPIPOOL_MAP(pool, square, in, out, (size_t)n, NULL); /* sizes from the arrays' types */
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "square: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
    } else {
        for (long i = 0; i < n; i++) printf("%ld^2 = %lld\n", i, out[i]);
    }

    free(in);
    free(out);
    int crc = mpipool_close(pool); /* stops the workers; finalises MPI */
    if (crc != MPIPOOL_OK) fprintf(stderr, "square: mpipool_close: %s\n", mpipool_strerror(crc));
    return mpipool_exit_status(rc != MPIPOOL_OK ? rc : crc);
}
