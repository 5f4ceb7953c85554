/*
 * crash.h — the crash report of a task (crash.c).  Private.
 */
#ifndef MPIPOOL_CRASH_H
#define MPIPOOL_CRASH_H

#include <stddef.h>
#include <stdint.h>

/* What the crash handler hands to the watchdog (crash_notify's pipe). */
typedef struct {
    uint64_t item;
    int32_t sig, unused_;
} mpipool__crash_rec;

/* Install the handlers (once per process; at pool open). */
void mpipool__crash_install(void);
/* A batch of task `name` starts on `rank`; *item is the index of the item
 * running (the task struct's own field, read only in a crash); done. */
void mpipool__crash_task(const char *name, int rank, const size_t *item);
void mpipool__crash_done(void);
/* A crash also writes a mpipool__crash_rec to `wfd` and waits (up to 5 s)
 * for a byte on `rfd` before the process dies; -1, -1: not any more. */
void mpipool__crash_notify(int wfd, int rfd);
/* 1 and the item running now, if a task runs (any thread may ask). */
int mpipool__crash_where(uint64_t *item);

#endif
