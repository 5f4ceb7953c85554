/*
 * test_interrupt_serve.c — a signal to the master alone: the master's map
 * returns MPIPOOL_EINTR, and the workers, stopped in order by its close,
 * return MPIPOOL_OK from mpipool_serve (only a worker's own signal makes
 * its serve return MPIPOOL_EINTR).
 *
 * Why it matters: a worker that exits non-zero while the master is still
 * in MPI_Finalize makes Open MPI 4.1's launcher abort the job and hold
 * the master there for about a second before it SIGTERMs it
 * (test_sigterm_atexit_np3 failed that way in CI: the master was gone
 * 1123 ms after the signal, against its 1 s bound).  Deterministic here:
 * the master raises SIGTERM itself, between two maps.
 *
 * The master: a map of N items returns MPIPOOL_OK; raise(SIGTERM); the next
 * map returns MPIPOOL_EINTR at once, its error naming SIGTERM, and runs
 * nothing; close returns MPIPOOL_OK.  Every worker: serve returns
 * MPIPOOL_OK.  Both maps' task runs are counted over all ranks after the
 * pool is closed.
 */
#include <signal.h>
#include "harness.h"

enum { N = 40 };

static long runs;

static int twice(mpipool_task *t) {
    runs++;
    *(int *)t->out = 2 * *(const int *)t->in;
    return 0;
}
MPIPOOL_TASK(twice);

static void master(mpipool *pool) {
    int in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i, out[i] = -1;
    CHECK_RC(mpipool_map(pool, twice, in, sizeof *in, out, sizeof *out, N, NULL), MPIPOOL_OK);
    for (int i = 0; i < N; i++) CHECK(out[i] == 2 * i);
    CHECK(raise(SIGTERM) == 0); /* recorded by the library's handler */
    for (int i = 0; i < N; i++) out[i] = -1;
    CHECK_RC(mpipool_map(pool, twice, in, sizeof *in, out, sizeof *out, N, NULL), MPIPOOL_EINTR);
    const char *msg = mpipool_last_error(pool);
    if (msg == NULL || strstr(msg, "SIGTERM") == NULL) {
        fprintf(stderr, "the interrupted map's error does not name SIGTERM: \"%s\"\n", msg ? msg : "(null)");
        harness_failed = 1;
    }
    for (int i = 0; i < N; i++) CHECK(out[i] == -1);
    CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
}

int main(int argc, char **argv) {
    if (mpipool_catch_signals(0) != MPIPOOL_OK) return 2;
    MPI_Init(&argc, &argv);
    mpipool *pool = NULL;
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc == MPIPOOL_OK) {
        if (mpipool_is_master(pool)) master(pool);
        else CHECK_RC(mpipool_serve(pool), MPIPOOL_OK); /* MPIPOOL_EINTR before the change */
    }
    long sum = 0;
    MPI_Allreduce(&runs, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (harness_world_rank() == 0 && sum != N)
        fprintf(stderr, "the tasks ran %ld times over all ranks, expected %d (the first map only)\n", sum, N);
    CHECK(sum == N);
    return harness_finish("test_interrupt_serve");
}
