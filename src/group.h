/*
 * group.h — a group leader's side of hierarchical dispatch (group.c), as
 * the worker loop (worker.c) drives it.  Private.
 */
#ifndef MPIPOOL_GROUP_H
#define MPIPOOL_GROUP_H

#include "internal.h"
#include "wire.h"

typedef struct mpipool__group mpipool__group;

/* Queue a GROUP chunk from the master (header h, the whole message `msg` of
 * `got` bytes; the `number`th chunk it sent this rank), creating *g on
 * first use.  MPIPOOL_OK or a code, with the
 * pool's last error set. */
int mpipool__group_take(mpipool *pool, mpipool__group **g, const mpipool__work_hdr *h, const char *msg,
                        size_t got, uint64_t number);
/* The master's TAG_TAKE_BACK (wire.h), once the first `upto` chunks it
 * sent this rank are here: give back the GROUP chunks not started, the
 * newest of g's queue (g may be NULL: none), and tell it so (TAG_GAVE).
 * MPIPOOL_OK or a code. */
int mpipool__group_give_up(mpipool *pool, mpipool__group *g, uint64_t upto);
/* One pass: collect members' results, answer finished chunks, hand members
 * new shares.  *moved = 1 if anything happened.  MPIPOOL_OK or a code. */
int mpipool__group_progress(mpipool__group *g, int *moved);
/* 1 while chunks are queued, on members or being answered. */
int mpipool__group_busy(const mpipool__group *g);
/* MPI_Wtime when a member's result is next due (from the task time per
 * item so far), or 0 if unknown: a leader with nothing to do sleeps until
 * then at most, as the master does (engine.c, next_due); and, as the
 * master's, its sleeps last at most *most_us (mpipool__wait_most_us). */
double mpipool__group_due(const mpipool__group *g, unsigned *most_us);
void mpipool__group_free(mpipool__group *g);

#endif
