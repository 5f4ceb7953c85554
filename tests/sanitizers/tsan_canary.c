/*
 * tsan_canary.c — proves the ThreadSanitizer set-up still sees races in our
 * code.  The master maps a task (so MPI and the pool are up, and their
 * frames are on the stacks TSan records), and meanwhile a thread of this
 * program writes a counter the task also writes, with no lock.  If a
 * suppression in tsan.supp ever matched mpipool or test code, TSan would
 * stay silent and this test (which expects a report naming racy_task)
 * fails.
 */
#include <pthread.h>
#include <stdio.h>
#include "mpipool.h"

static long counter; /* written by two threads without a lock, on purpose */

static int racy_task(mpipool_task *t) {
    counter++;
    *(int *)t->out = *(const int *)t->in + 1;
    return 0;
}
MPIPOOL_TASK(racy_task);

static void *bump(void *arg) {
    for (int i = 0; i < 1000; i++) counter++;
    return arg;
}

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) return 1;
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    /* The racing thread runs on the master, where a one-rank pool runs the
     * task: the canary is for np1. */
    pthread_t th;
    if (pthread_create(&th, NULL, bump, NULL) != 0) return 1;
    enum { N = 100 };
    int in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    int rc = mpipool_map(pool, racy_task, in, sizeof *in, out, sizeof *out, N, NULL);
    pthread_join(th, NULL);
    printf("counter %ld\n", counter);
    mpipool_close(pool);
    return rc == MPIPOOL_OK ? 0 : 1;
}
