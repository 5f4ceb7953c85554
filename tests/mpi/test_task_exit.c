/*
 * test_task_exit.c — issue 21, item 4: a task that calls exit(0) on a
 * worker.  The worker must not leave with status 0 while it serves (with
 * MPICH 4.0 the whole job could end with status 0, the master printing
 * nothing): the library reports "task 'quit' called exit() while running
 * item N" naming the rank, and the job's status is non-zero.  The master
 * prints "map returned ..." if its map ever returns.  Driven by
 * test_task_exit.sh (several runs, both MPIs); needs 2 ranks or more (in a
 * one-rank pool the task would run on the master, outside this item).
 */
#include <stdio.h>
#include <stdlib.h>
#include "mpipool.h"

enum { N = 40, EXIT_ITEM = 3 };

static int quit(mpipool_task *t) {
    if (t->index == EXIT_ITEM) exit(0);
    *(int *)t->out = *(const int *)t->in + 1;
    return 0;
}
MPIPOOL_TASK(quit);

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) return 2;
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    int in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    int rc = mpipool_map(pool, quit, in, sizeof *in, out, sizeof *out, N, NULL);
    printf("map returned %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
    fflush(stdout);
    int rc2 = mpipool_close(pool);
    return rc == MPIPOOL_OK && rc2 == MPIPOOL_OK ? 0 : 1;
}
