/* A consumer of the installed mpipool: square 10 ints through a pool. */
#include <stdio.h>
#include <mpipool.h>

static int square(mpipool_task *t) {
    int x = *(const int *)t->in;
    *(int *)t->out = x * x;
    return 0;
}
MPIPOOL_TASK(square);

int main(int argc, char **argv) {
    mpipool *pool;
    int rc = mpipool_open(&pool, &argc, &argv);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "downstream: open: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;

    int in[10], out[10], bad = 0;
    for (int i = 0; i < 10; i++) {
        in[i] = i + 1;
        out[i] = -1;
    }
    rc = mpipool_map(pool, square, in, sizeof *in, out, sizeof *out, 10, NULL);
    if (rc != MPIPOOL_OK) fprintf(stderr, "downstream: map: %s\n", mpipool_last_error(pool));
    for (int i = 0; i < 10; i++) {
        if (out[i] != in[i] * in[i]) {
            fprintf(stderr, "downstream: out[%d] = %d, want %d\n", i, out[i], in[i] * in[i]);
            bad = 1;
        }
    }
    if (mpipool_version() != MPIPOOL_VERSION_HEX) {
        fprintf(stderr, "downstream: header %s, library %s\n", MPIPOOL_VERSION_STRING,
                mpipool_version_string());
        bad = 1;
    }
    int crc = mpipool_close(pool);
    if (rc == MPIPOOL_OK && crc == MPIPOOL_OK && !bad) {
        printf("downstream: squared 10 ints with mpipool %s\n", mpipool_version_string());
        return 0;
    }
    return 1;
}
