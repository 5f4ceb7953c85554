/*
 * mistakes.c — the newcomer's mistakes (issue 16), each of which used to
 * work at 1 rank and fail at 4 with the launcher's "exited improperly",
 * naming no call.  mistakes.sh runs each and checks the line that names
 * the missing call.
 *   noserve    every rank maps, as if all were masters: the workers get
 *              MPIPOOL_ENOTMASTER naming mpipool_serve, and end with a line
 *              saying they never served
 *   noclose    the master returns from main without mpipool_close
 */
#include <stdio.h>
#include <string.h>
#include <mpipool.h>

static int twice(mpipool_task *t) {
    *(int *)t->out = 2 * *(const int *)t->in;
    return 0;
}
MPIPOOL_TASK(twice);

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) return 2;
    int in[4] = {1, 2, 3, 4}, out[4] = {0};
    if (strcmp(mode, "noserve") == 0) {
        int rc = mpipool_map(pool, twice, in, sizeof *in, out, sizeof *out, 4, NULL);
        if (rc != MPIPOOL_OK) printf("rank %d: %s: %s\n", mpipool_rank(pool), mpipool_err_name(rc), mpipool_last_error(pool));
        fflush(stdout);
        if (mpipool_is_master(pool)) return 0; /* and forgets to close too: the workers never served */
        return 0;
    }
    if (strcmp(mode, "noclose") == 0) {
        if (!mpipool_is_master(pool)) return mpipool_exit_status(mpipool_serve(pool));
        int rc = mpipool_map(pool, twice, in, sizeof *in, out, sizeof *out, 4, NULL);
        printf("master: %s, out[3] = %d\n", mpipool_err_name(rc), out[3]);
        fflush(stdout);
        return 0; /* forgets mpipool_close */
    }
    fprintf(stderr, "usage: mistakes noserve|noclose\n");
    mpipool_close(pool);
    return 2;
}
