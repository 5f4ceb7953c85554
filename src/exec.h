/*
 * exec.h — running a batch of items through a task function (exec.c), and
 * the buffers that carry its failures and variable-size results.  Private;
 * no MPI calls behind it.
 */
#ifndef MPIPOOL_EXEC_H
#define MPIPOOL_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include "pure.h"

/* The failures of one chunk: records of (u64 item index, u32 length,
 * message bytes), the payload of a TAG_FAIL message.  Bounded: past
 * MPIPOOL__FAILS_MAX bytes further failures are recorded without text. */
#define MPIPOOL__FAILS_MAX ((size_t)1 << 20)
typedef struct {
    char *p;
    size_t len, cap;
    uint64_t nfail, first_fail;
} mpipool__fails;
void mpipool__fails_reset(mpipool__fails *f);
void mpipool__fails_free(mpipool__fails *f);
void mpipool__fails_add(mpipool__fails *f, uint64_t index, const char *msg);
/* Room for `need` bytes in f->p: 0, or -1 (out of memory; f unchanged). */
int mpipool__fails_reserve(mpipool__fails *f, size_t need);
/* Room for `need` bytes in the buffer *p of *cap bytes, doubling from
 * `first`: 0, or -1 (out of memory or absurd size; *p and *cap unchanged). */
int mpipool__grow(char **p, size_t *cap, size_t need, size_t first);

/* Results of variable size, appended back to back. */
typedef struct {
    char *p;
    size_t len, cap;
    uint64_t *sizes;   /* one per item of the batch */
    size_t nsizes;
} mpipool__vout;
void mpipool__vout_free(mpipool__vout *v);

/* One batch of items to run: a chunk on a worker, or a piece of a map on
 * the master of a one-rank pool. */
typedef struct {
    mpipool_fn fn;
    const char *in;           /* items back to back                        */
    size_t in_size;           /* fixed size, or ...                        */
    const uint64_t *in_sizes; /* ... non-NULL: each item's size            */
    char *out;                /* fixed-size results (zeroed here first), or */
    size_t out_size;
    mpipool__vout *vout;      /* non-NULL: variable-size results           */
    uint64_t first, count;
    int rank;
    mpipool *pool;            /* for task->state, hooks, shared data       */
    mpipool__fails *captured; /* non-NULL: each task's stdout/stderr become
                                 records here (capture.c), reset first     */
} mpipool__batch;

/* Run a batch, recording failures in `f` (reset first).  Returns the
 * number of failed items, or -1 if variable results could not get memory. */
int64_t mpipool__run_batch(const mpipool__batch *b, mpipool__fails *f);
/* Pacing (a worker's reclamation, worker.c): `fn` is called before each
 * run of items with the number run so far, outside any task, and returns
 * how many to run next, 0 to stop there; `ran` is then the items run, the
 * first ones of the batch (the others' results are left zero). */
typedef struct {
    uint64_t (*fn)(void *arg, uint64_t done);
    void *arg;
    uint64_t ran;
} mpipool__pace;
/* mpipool__run_batch, paced by `pace` (NULL: one run of all). */
int64_t mpipool__run_batch_paced(const mpipool__batch *b, mpipool__fails *f, mpipool__pace *pace);
/* 1 while this thread is inside a task function. */
int mpipool__in_task(void);
/* A task made a call it may not (`what`, e.g. "called MPI_Finalize"): its
 * item fails with a message saying so.  1 if a task is running, else 0. */
int mpipool__task_refuse(const char *what);
/* Make exit() from inside a task end the process with status 1 and a line
 * naming the task, the item and the rank, and a crash in a task print one
 * (crash.c) (once per process). */
void mpipool__exec_guard_exit(void);

/* What exec needs of the worker's set-up (shared.c); pool may be NULL. */
void *mpipool__setup_state(const mpipool *pool);
int mpipool__setup_init_rc(const mpipool *pool);
int mpipool__setup_renews(const mpipool *pool);
size_t mpipool__tasks_before_renewal(const mpipool *pool);
void mpipool__after_tasks(mpipool *pool, size_t k);
/* mpipool_shared without the handle check (a task's pool is open). */
const void *mpipool__shared_get(const mpipool *pool, const char *name, size_t *size);

#endif
