/*
 * master_call.c — the door of every master call that starts or drives
 * work (map.c, imap_pull.c): the pool must be open, this rank the master,
 * and the caller not a task; while inside, the pool cannot be closed
 * (handle.c answers MPIPOOL_EBUSY).
 */
#include "callback.h"
#include "master_call.h"
#include "usercall.h"

int mpipool__master_enter(const char *func, mpipool *pool) {
    if (pool == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: pool is NULL", func);
    if (mpipool__in_callback()) return mpipool__callback_refuse(func);
    if (mpipool__in_stream_cb()) return mpipool__stream_cb_refuse(func);
    if (!mpipool__handle_enter(pool, func))
        return mpipool__error(NULL, MPIPOOL_ECLOSED, "%s: the pool is closed (or was never opened)", func);
    int rc = MPIPOOL_OK;
    pool->err[0] = '\0';
    if (pool->rank != 0)
        rc = mpipool__error(pool, MPIPOOL_ENOTMASTER, "%s: called on rank %d; only the master (rank 0) may "
                            "(workers serve: mpipool_serve, or mpipool_start does it)", func, pool->rank);
    else if (mpipool__in_task())
        rc = mpipool__error(pool, MPIPOOL_EINVAL, "%s: called from inside a task; a task cannot start maps "
                            "on the pool that runs it", func);
    if (rc != MPIPOOL_OK) mpipool__handle_leave(pool);
    return rc;
}

int mpipool__stream_cb_refuse(const char *func) {
    return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: called from inside an imap's source or sink, where it "
                          "would wait for the stream that calls it", func);
}

int mpipool__master_leave(mpipool *pool, int rc) {
    mpipool__handle_leave(pool);
    return rc;
}
