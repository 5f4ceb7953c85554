/*
 * crash.h — the crash report of a task (crash.c).  Private.
 */
#ifndef MPIPOOL_CRASH_H
#define MPIPOOL_CRASH_H

#include <stddef.h>

/* Install the handlers (once per process; at pool open). */
void mpipool__crash_install(void);
/* A batch of task `name` starts on `rank`; *item is the index of the item
 * running (the task struct's own field, read only in a crash); done. */
void mpipool__crash_task(const char *name, int rank, const size_t *item);
void mpipool__crash_done(void);

#endif
