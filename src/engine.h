/*
 * engine.h — a job as the master's engine sees it, and the calls between
 * the public map API (map.c) and the engine (engine.c).  Private.
 */
#ifndef MPIPOOL_ENGINE_H
#define MPIPOOL_ENGINE_H

#include <stdatomic.h>
#include "internal.h"
#include "resume.h"

struct mpipool_job {
    mpipool *pool;
    const char *func;         /* "mpipool_map", ... for messages          */
    size_t fn_index;          /* in the sorted registry                   */
    const char *in;
    char *out;
    size_t in_size, out_size, n;
    mpipool_schedule schedule;
    size_t user_chunk, max_chunk;
    mpipool_on_error on_error;
    size_t max_failures;
    int *status;              /* caller's, or NULL                        */
    unsigned flags;           /* options->flags (MPIPOOL_MAP_PROGRESS)    */
    char **messages;          /* caller's, or NULL                        */
    double per_item;          /* seconds per item, mean so far; < 0 unknown */
    int heavy;                /* a chunk's items took far longer than that
                                 (plan.c, mpipool__plan_heavy): heavy tails */
    double busy_sum, busy_items; /* worker seconds and items behind per_item */
    size_t even_leaders;      /* group leaders that said its items are even
                                 and long (collect.c); all: fair parts     */
    int uneven;               /* one said they are not, or a part was lost
                                 (a death, items given back): no fair parts */
    double grp_least, grp_most; /* the least and most seconds an item took in
                                 one group chunk's answer (collect.c)      */
    size_t next;              /* first item not yet sent                  */
    size_t done;              /* items whose results are back             */
    int chunks_out;           /* chunks on workers                        */
    int cancelled;            /* send no more chunks                      */
    int intr;                 /* a signal stopped it: SIGTERM/SIGINT, or 0 */
    int async;                /* submitted by map_async/apply_async        */
    _Atomic int finished;     /* everything settled; rc and err are final
                                 (jobs.c: written last, with release)      */
    int rc;
    uint64_t id;
    uint64_t nfail, first_fail;
    int first_fail_rank, nfail_seen;
    char fail_msg[MPIPOOL__MSG_MAX];
    char err[MPIPOOL__ERR_MAX];
    mpipool_job *next_job;    /* the engine's queue                       */
    /* variable sizes and streams */
    int in_var, out_var;      /* in: const mpipool_buf[n]; out: mpipool_buf[n] */
    const mpipool_source *source; /* imap: n is SIZE_MAX until it ends     */
    const mpipool_sink *sink;
    int unordered;
    size_t window;
    size_t emitted;           /* ordered imap: items given to the sink    */
    int stream_rc;            /* source error or sink stop: ECANCELED     */
    int sink_stopped;         /* the sink asked to stop: deliver no more  */
    struct mpipool__pending *pending; /* ordered imap: chunks waiting their turn */
    struct mpipool__resume *resume; /* its journal, or NULL (resume.c)      */
    size_t group;             /* > 0: chunks go to group leaders, this many
                                 ranks per group (group.c); 0: to every worker */
    double task_timeout;      /* options->task_timeout: seconds; 0 = none  */
    struct mpipool__redo *redo, *redo_tail; /* items a dead worker had, to send
                                 again before any unsent item (redo.c)      */
    size_t redo_items;
    int capture;              /* MPIPOOL_MAP_ORDERED_OUTPUT (ordered.c)     */
    size_t printed;           /* ... items whose output is printed          */
    struct mpipool__outq *outq; /* ... chunks' output waiting its turn      */
    /* pull imap (imap_pull.c) and callbacks (callback.c) */
    int pull;                 /* 0; 1: a pull imap in order; 2: as completed.
                                 The engine sees both as ordered streams
                                 (unordered == 0), so the window bounds them,
                                 and `emitted` counts results the caller
                                 released, not results given to the sink */
    size_t delivered;         /* ordered streams: items given to the sink
                                 (stream.c's reorder base; == emitted unless pull) */
    _Atomic size_t pull_ready; /* results queued for mpipool_imap_next       */
    struct mpipool__pullq *pullq;
    mpipool_job *pull_next;   /* one-rank pool: the pool's open pull imaps   */
    struct mpipool__cb *cb;   /* its callbacks, or NULL                      */
    mpipool_job *cb_next;     /* the pool's callback queue                   */
};

/* Deliver the variable-size results of items [first, first+count) of a job
 * (sizes/data/fail records as in a VRESULT).  Takes ownership of `owner`
 * (the buffer holding them), which it frees or keeps for later. */
void mpipool__deliver_var(mpipool_job *j, uint64_t first, uint64_t count, const uint64_t *sizes,
                          const char *data, const char *fails, size_t fail_bytes, int rank,
                          char *owner);
/* Drop chunks still waiting in an ordered imap's reorder list. */
void mpipool__pending_free(mpipool_job *j);

/* Queue a checked job (or run it at once in a one-rank pool or for n == 0).
 * The job is finished or queued on return.  MPIPOOL_OK.  Only an async job
 * (j->async) may start the progress thread. */
int mpipool__engine_submit(mpipool *pool, mpipool_job *job);
/* Wait as mpipool_wait() does: the job's rc, or MPIPOOL_ETIMEDOUT. */
int mpipool__engine_wait(mpipool_job *job, double timeout);
/* Send no more chunks of the job. */
void mpipool__engine_cancel(mpipool_job *job);
/* 1 if finished (moving things along when there is no progress thread). */
int mpipool__engine_finished(mpipool_job *job);
/* Run a job's items on the master itself (one-rank pools; inline.c).  A
 * pull imap (j->pull) returns unsettled when its window is full. */
void mpipool__job_run_inline(mpipool_job *job);

/* Pull imap (imap_pull.c): the caller released `consumed` results (the
 * window moves on by as many), then wait as mpipool__engine_wait does, but
 * return also as soon as a result is queued (j->pull_ready > 0).
 * The job's rc once finished, else MPIPOOL_ETIMEDOUT. */
int mpipool__engine_pull(mpipool_job *job, size_t consumed, double timeout);

#endif
