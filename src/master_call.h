/*
 * master_call.h — entering and leaving a master call on a pool
 * (master_call.c), shared by the map calls (map.c) and the pull imap
 * (imap_pull.c).  Private.
 */
#ifndef MPIPOOL_MASTER_CALL_H
#define MPIPOOL_MASTER_CALL_H

#include "internal.h"

/* Enter a master call named `func` on `pool`: MPIPOOL_OK (then
 * mpipool__master_leave must follow), or the refusal (NULL or closed
 * pool, a worker, a call from inside a task) with the error recorded. */
int mpipool__master_enter(const char *func, mpipool *pool);
/* Leave the call; returns `rc`. */
int mpipool__master_leave(mpipool *pool, int rc);
/* The refusal of a call made inside an imap's source or sink
 * (mpipool__in_stream_cb, usercall.c) that would wait for the stream
 * calling it: MPIPOOL_EINVAL naming `func`. */
int mpipool__stream_cb_refuse(const char *func);

#endif
