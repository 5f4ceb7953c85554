/*
 * test_start.c — mpipool_start (new API), used exactly as the API shows:
 * workers never return from it, so the code after it runs on the master
 * only.  Every process that gets past mpipool_start prints one line
 * "after mpipool_start: rank R"; test_start.sh checks that only rank 0
 * printed it, that the master's result line is right and that the exit
 * status is 0.
 */
#include <stdio.h>
#include "mpipool.h"

enum { N = 100 };

static int square(mpipool_task *t) {
    long long x = *(const long long *)t->in;
    *(long long *)t->out = x * x;
    return 0;
}
MPIPOOL_TASK_TYPED(square, long long, long long);

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_start(&pool, &argc, &argv) != MPIPOOL_OK) return 1;
    printf("after mpipool_start: rank %d\n", mpipool_rank(pool));
    fflush(stdout);
    long long in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    int rc = MPIPOOL_MAP(pool, square, in, out, N, NULL);
    long long sum = 0;
    for (int i = 0; i < N; i++) sum += out[i];
    printf("sum of squares 0..%d: %lld (%s)\n", N - 1, sum, mpipool_err_name(rc));
    int rc2 = mpipool_close(pool);
    return mpipool_exit_status(rc ? rc : rc2);
}
