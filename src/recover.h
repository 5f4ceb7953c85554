/*
 * recover.h — the master's side of a worker's death (recover.c): hearing
 * from workers, taking a silent one for dead, and handing the items it had
 * back to their jobs.  Private; called from dispatch.c with e->lock held.
 */
#ifndef MPIPOOL_RECOVER_H
#define MPIPOOL_RECOVER_H

#include "dispatch.h"

int mpipool__recover_init(mpipool__engine *e);
void mpipool__recover_free(mpipool__engine *e);
/* Post the receives for heartbeats (with recovery) and death reports, if
 * not posted; cancel them. */
int mpipool__recover_post(mpipool__engine *e);
void mpipool__recover_unpost(mpipool__engine *e);
/* Worker w showed it is alive (a chunk sent to it, an answer from it). */
void mpipool__recover_heard(mpipool__engine *e, int w);
/* The heartbeat receive completed: note it (it is posted again later). */
void mpipool__recover_beat(mpipool__engine *e, const MPI_Status *st);
/* The death-report receive completed: the rank (0 if not a worker's),
 * with its report in *why. */
int mpipool__recover_died(mpipool__engine *e, const MPI_Status *st, mpipool__died_msg *why);
/* Answer worker w's death report, once its item is noted (and journalled:
 * the worker's process ends when it has the answer). */
void mpipool__recover_ack(mpipool__engine *e, int w);
/* A worker holding chunks that has been silent past the recovery time, or
 * 0.  Without recovery: always 0. */
int mpipool__recover_silent(mpipool__engine *e);
/* Give the items of slot s (on dead worker w) back to its job; `running`:
 * s is the oldest chunk w had, the one it was running; `why`: its death
 * report, or NULL. */
void mpipool__recover_requeue(mpipool__engine *e, slot *s, int w, int running, const mpipool__died_msg *why);
/* Queue items [first, first + count) of slot s again (redo.c), with the
 * deaths they saw; a failure to get memory fails them instead, "no memory
 * to send it again after its worker <after>" (never lost silently). */
void mpipool__recover_put_back(slot *s, uint64_t first, uint64_t count, int deaths, const char *why,
                               const char *after);
/* w is gone for good: no more work, a line on stderr; with no worker left
 * the engine breaks. */
void mpipool__recover_bury(mpipool__engine *e, int w, const mpipool__died_msg *why);

#endif
