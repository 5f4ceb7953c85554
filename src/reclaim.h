/*
 * reclaim.h — the master's end game for long items (reclaim.c): asking a
 * worker stuck on a chunk for the items it has not started, and giving
 * what it gives back to the job.  Private; called with e->lock held.
 */
#ifndef MPIPOOL_RECLAIM_H
#define MPIPOOL_RECLAIM_H

#include "dispatch.h"

int mpipool__reclaim_init(mpipool__engine *e);
void mpipool__reclaim_free(mpipool__engine *e);
/* Before the engine ends: every TAG_RECLAIM sent is received (by a live
 * worker) or let go (a dead or departed one). */
void mpipool__reclaim_settle(mpipool__engine *e);
/* If nothing is left to send and a worker is idle, ask each worker whose
 * oldest chunk is long past its time for its unstarted items.  0, or -1
 * when the engine broke. */
int mpipool__reclaim_look(mpipool__engine *e);

#endif
