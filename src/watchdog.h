/*
 * watchdog.h — a worker's second thread (watchdog.c): heartbeats for the
 * master's death detection, crash reports, and the per-task time limit.
 * Private.
 */
#ifndef MPIPOOL_WATCHDOG_H
#define MPIPOOL_WATCHDOG_H

#include <stdint.h>
#include "exec.h"
#include "internal.h"
#include "wire.h"

/* Before running a chunk with header h: start the thread if the chunk asks
 * for a watch (h->watch, h->task_timeout) or `beat` > 0 (seconds between
 * heartbeats: the pool recovers from deaths).  0, or -1 if the thread
 * could not start (the chunk then runs unwatched). */
int mpipool__watch_need(mpipool *pool, const mpipool__work_hdr *h, double beat);
/* Run a batch of items of job `job` under the watch: MPI is left to the
 * watchdog meanwhile, and a task that overruns `timeout` seconds (0: no
 * limit) is reported and its process ended. */
int64_t mpipool__watch_batch(const mpipool__batch *b, mpipool__fails *f, uint64_t job, double timeout);
/* The same, paced (exec.h; NULL: not paced): the pacing function may call
 * MPI, with the MPI lock held around it. */
int64_t mpipool__watch_batch_paced(const mpipool__batch *b, mpipool__fails *f, uint64_t job, double timeout,
                                   mpipool__pace *pace);
/* Around a wait of the worker's main thread (bo: its back-off, before the
 * call): once it sleeps rather than spins, MPI is free for the watchdog. */
void mpipool__watch_sleep(const mpipool__backoff *bo);
void mpipool__watch_wake(void);
/* Stop and join the thread (at the end of mpipool_serve); no-op if none. */
void mpipool__watch_stop(void);

#endif
