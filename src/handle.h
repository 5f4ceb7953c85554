/*
 * handle.h — the table of pool handles (handle.c): open, closed for ever,
 * and the calls in progress on each.  Private.
 */
#ifndef MPIPOOL_HANDLE_H
#define MPIPOOL_HANDLE_H

#include "mpipool.h"

/* A pool just opened: live from now on.  MPIPOOL_OK or MPIPOOL_ENOMEM. */
int mpipool__handle_add(const mpipool *pool);
/* A pool whose open failed before anyone saw it: forget it (its memory may
 * then be freed). */
void mpipool__handle_forget(const mpipool *pool);
/* 1 if `pool` is open.  Never dereferences `pool`. */
int mpipool__handle_live(const mpipool *pool);
/* 1 if `pool` is open or still closing (its fini hooks may run and ask
 * for its rank): for the queries, not for new work. */
int mpipool__handle_known(const mpipool *pool);
/* The pool's resources are freed: closed for ever. */
void mpipool__handle_bury(const mpipool *pool);
/* A call named `func` begins on `pool`: 1 if the pool is open (then
 * mpipool__handle_leave must follow), 0 if not. */
int mpipool__handle_enter(const mpipool *pool, const char *func);
void mpipool__handle_leave(const mpipool *pool);
/* Begin closing `pool`: MPIPOOL_OK (it is closed for every caller from now
 * on; free its resources but never its struct), MPIPOOL_ECLOSED (not open),
 * or MPIPOOL_EBUSY with *busy_func the call another thread is inside. */
int mpipool__handle_close(const mpipool *pool, const char **busy_func);

/* A pool still open in this process, or NULL. */
const mpipool *mpipool__handle_any_open(void);

#endif
