/*
 * print_numbers.c — four tasks that each print a number from the worker that
 * runs them, and return it to the master.
 *
 *     mpirun -n 4 ./build/examples/print_numbers
 *
 * Typical output with 4 ranks.  The master's "item" lines are in order; the
 * workers' lines can come in any order, even after the master's, because each
 * rank's stdout reaches mpirun separately:
 *
 *     rank 1 prints 10 (item 0)
 *     rank 3 prints 30 (item 2)
 *     rank 2 prints 20 (item 1)
 *     rank 1 prints 40 (item 3)
 *     item 0 -> 10 (ran on rank 1)
 *     item 1 -> 20 (ran on rank 2)
 *     item 2 -> 30 (ran on rank 3)
 *     item 3 -> 40 (ran on rank 1)
 *
 * Which rank runs which item depends on timing.  With one rank, rank 0 runs
 * them all.
 */
#include <stdio.h>
#include <mpipool.h>

/* A result can be any fixed-size struct. */
typedef struct {
    int number; /* the item, handed back */
    int rank;   /* who ran it */
} result;

static int print_number(mpipool_task *t) {
    int number = *(const int *)t->in;
    printf("rank %d prints %d (item %zu)\n", t->rank, number, t->index);
    fflush(stdout); /* workers' stdout is a pipe to mpirun: flush each line */
    result *r = t->out;
    r->number = number;
    r->rank = t->rank;
    return 0;
}
MPIPOOL_TASK_TYPED(print_number, int, result);

int main(int argc, char **argv) {
    mpipool *pool;
    /* Workers never return from mpipool_start: they run tasks until the
     * master closes the pool, then exit.  What follows runs on the master. */
    int rc = mpipool_start(&pool, &argc, &argv);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "print_numbers: %s\n", mpipool_last_error(NULL));
        return 1;
    }

    int numbers[4] = {10, 20, 30, 40};
    result results[4];

    /* One item per chunk, so the four items spread over the workers instead
     * of travelling together. */
    mpipool_map_options opts;
    mpipool_map_options_init(&opts);
    opts.chunk_size = 1;

    rc = mpipool_map(pool, print_number, numbers, sizeof numbers[0], results, sizeof results[0],
                     4, &opts);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "print_numbers: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
    } else {
        for (int i = 0; i < 4; i++)
            printf("item %d -> %d (ran on rank %d)\n", i, results[i].number, results[i].rank);
    }

    int crc = mpipool_close(pool);
    if (crc != MPIPOOL_OK)
        fprintf(stderr, "print_numbers: mpipool_close: %s\n", mpipool_strerror(crc));
    return mpipool_exit_status(rc != MPIPOOL_OK ? rc : crc);
}
