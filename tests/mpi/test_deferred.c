/*
 * test_deferred.c (with deferred_dupe.c) — two files of one program each
 * define a static `dupe` and register it with MPIPOOL_TASK(dupe): the second
 * registration fails in a constructor, where nobody can hear it.  The error
 * must come out of mpipool_open_comm as MPIPOOL_EEXIST on every rank, with
 * *pool NULL and a message naming the task.
 */
#include "harness.h"

static int dupe(mpipool_task *t) {
    *(int32_t *)t->out = 1;
    return 0;
}
MPIPOOL_TASK(dupe);

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    static int sentinel;
    mpipool *pool = (mpipool *)(void *)&sentinel;
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_EEXIST);
    CHECK(pool == NULL);
    const char *e = mpipool_last_error(NULL);
    CHECK(e != NULL && strstr(e, "dupe") != NULL);
    if (rc == MPIPOOL_OK && pool != NULL) {
        /* Wrongly opened: close in step so the verdict is still reached. */
        if (mpipool_is_master(pool)) mpipool_close(pool);
        else mpipool_serve(pool);
    }
    return harness_finish("test_deferred");
}
