/*
 * ordered_output.c — MPIPOOL_MAP_ORDERED_OUTPUT (ordered_output.sh drives
 * it): each task prints "out I" to stdout and "err I" to stderr after a
 * sleep that makes chunks finish out of order (chunk_size 1 and automatic);
 * the master prints "master: before" and "master: after" around each map.
 * The script checks the master's stdout and stderr read in item order.
 * Exit 0 if both maps returned MPIPOOL_OK with the right results.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>
#include "mpipool.h"

#define N 60

static int noisy(mpipool_task *t) {
    int i = *(const int *)t->in;
    /* Later items are quicker: without ordering, their text would come first. */
    struct timespec ts = {0, (long)((N - i) % 7) * 700000L};
    nanosleep(&ts, NULL);
    printf("out %d\n", i);
    fprintf(stderr, "err %d\n", i);
    *(int *)t->out = 3 * i;
    return 0;
}
MPIPOOL_TASK_TYPED(noisy, int, int);

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_start(&pool, &argc, &argv) != MPIPOOL_OK) return 1;
    int in[N], out[N], bad = 0;
    for (int i = 0; i < N; i++) in[i] = i;
    for (int round = 0; round < 2; round++) {
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.flags = MPIPOOL_MAP_ORDERED_OUTPUT;
        o.chunk_size = round == 0 ? 1 : 0;
        printf("master: before %d\n", round);
        fflush(stdout);
        int rc = MPIPOOL_MAP(pool, noisy, in, out, N, &o);
        printf("master: after %d\n", round);
        fflush(stdout);
        if (rc != MPIPOOL_OK) {
            fprintf(stderr, "ordered_output: map returned %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
            bad = 1;
        }
        for (int i = 0; i < N; i++)
            if (out[i] != 3 * i) bad = 1;
    }
    return mpipool_close(pool) == MPIPOOL_OK && !bad ? 0 : 1;
}
