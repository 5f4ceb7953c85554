/*
 * test_sigterm_atexit.c — issue 21, item 3 (new API): the program that
 * closes its pool in an atexit handler, a common pattern.  SIGTERM to the
 * master must make the map return MPIPOOL_EINTR, main return
 * mpipool_exit_status() = 75, and the atexit close finish: no deadlock (the
 * old signal path called exit(75) holding the engine lock, and the close in
 * the handler then blocked on it forever).
 *
 * Usage: test_sigterm_atexit JOURNAL.  Prints "master pid P" before the
 * map, "item 0 running" from the task of item 0 (so the map is under way),
 * and "closed: CODE" from the atexit handler once mpipool_close returned.
 * test_sigterm_atexit.sh reads these lines (no sleeps) and sends the
 * signal.  Each item takes 10 ms, 4000 items: the map runs far longer than
 * the test waits.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "mpipool.h"

enum { N = 4000 };

static mpipool *pool;

static void close_at_exit(void) {
    int rc = mpipool_close(pool);
    printf("closed: %s\n", mpipool_err_name(rc));
    fflush(stdout);
}

static int slow(mpipool_task *t) {
    if (t->index == 0) {
        printf("item 0 running\n");
        fflush(stdout);
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL); /* the work: 10 ms per item */
    *(int *)t->out = *(const int *)t->in;
    return 0;
}
MPIPOOL_TASK(slow);

int main(int argc, char **argv) {
    if (mpipool_catch_signals(0) != MPIPOOL_OK) return 2;
    if (mpipool_start(&pool, &argc, &argv) != MPIPOOL_OK) return 1;
    atexit(close_at_exit);
    printf("master pid %ld\n", (long)getpid());
    fflush(stdout);
    static int in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = argc > 1 ? argv[1] : "";
    o.chunk_size = 1;
    int rc = mpipool_map(pool, slow, in, sizeof *in, out, sizeof *out, N, &o);
    printf("map returned %s\n", mpipool_err_name(rc));
    fflush(stdout);
    return mpipool_exit_status(rc);
}
