/*
 * leak_canary.c — proves the sanitizer set-up still sees leaks in our code.
 * Every task leaks a little on the rank that runs it, from inside
 * mpipool_serve (or the master's one-rank loop): if a suppression in
 * lsan.supp ever matched mpipool or test code, LeakSanitizer would stay
 * silent and this test (which expects its report naming leaky_task) fails.
 */
#include <stdlib.h>
#include <string.h>
#include "mpipool.h"

static int leaky_task(mpipool_task *t) {
    char *p = malloc(64); /* never freed, on purpose */
    if (p) memset(p, 1, 64);
    /* Use the pointer so the allocation is not optimised away. */
    *(int *)t->out = *(const int *)t->in + (p != NULL);
    return 0;
}
MPIPOOL_TASK(leaky_task);

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) return 1;
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    /* Many leaks: LeakSanitizer scans stacks conservatively, so the last
     * block or two may still look reachable from a stale stack slot. */
    enum { N = 200 };
    int in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    int rc = mpipool_map(pool, leaky_task, in, sizeof *in, out, sizeof *out, N, NULL);
    mpipool_close(pool);
    return rc == MPIPOOL_OK ? 0 : 1;
}
