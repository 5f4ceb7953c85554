/*
 * capture.h — a task's stdout and stderr, captured per item (capture.c),
 * and printed on the master in item order (ordered.c).  Private.
 */
#ifndef MPIPOOL_CAPTURE_H
#define MPIPOOL_CAPTURE_H

#include <stdint.h>
#include "exec.h"

/* Around one task call on a worker: 0, or -1 if fds 1 and 2 could not be
 * redirected (the task's output then goes where it always did). */
int mpipool__capture_begin(void);
/* Put fds 1 and 2 back and append what the task wrote, as records of item
 * `index` (u64 index, u32 length, stream byte 1|2, bytes), to rec. */
void mpipool__capture_end(mpipool__fails *rec, uint64_t index);

#endif
