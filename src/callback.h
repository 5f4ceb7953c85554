/*
 * callback.h — callbacks on asynchronous jobs (callback.c).  Private.
 */
#ifndef MPIPOOL_CALLBACK_H
#define MPIPOOL_CALLBACK_H

#include "engine.h"

struct mpipool__cb;

/* Check `cbs` and make a record for one job of `pool`, starting the pool's
 * callback thread if it has none yet.  MPIPOOL_OK, or MPIPOOL_EINVAL /
 * MPIPOOL_ENOMEM with the pool's error set (nothing is started then). */
int mpipool__callback_new(mpipool *pool, const char *func, const mpipool_callbacks *cbs, struct mpipool__cb **out);
/* Free a record no job took (the submission was refused).  NULL: no-op. */
void mpipool__callback_discard(struct mpipool__cb *cb);
/* The job is settled (jobs.c): queue its callback.  No-op without one. */
void mpipool__callback_post(mpipool_job *job);
/* 1 if the job has no callback or its callback has returned. */
int mpipool__callback_done(const mpipool_job *job);
/* Wait until the job's callback (if any) has returned. */
void mpipool__callback_wait(const mpipool_job *job);
/* Wait as mpipool__callback_wait, then free the job's record. */
void mpipool__callback_free(mpipool_job *job);
/* 1 on a callback thread while it runs a callback: the calls a callback
 * must not make refuse it (a wait for itself, a free of its own job, a
 * close that would join its own thread). */
int mpipool__in_callback(void);
/* The refusal: MPIPOOL_EINVAL naming `func`. */
int mpipool__callback_refuse(const char *func);
/* Pool closing, every job settled: run the callbacks still queued, stop
 * and join the pool's callback thread. */
void mpipool__callback_stop(mpipool *pool);

#endif
