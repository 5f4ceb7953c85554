/*
 * exec.c — running tasks: a batch of items through the task function, the
 * calls a task makes on its own context (mpipool_task_fail, _output,
 * _shared), and the buffers for failure records and variable results.
 * Used by the worker loop, the group leaders and the one-rank master.
 * No MPI.
 *
 * Invariants:
 *  - a task's context is found from task->internal_, which points back to
 *    the task itself inside the library's exec_ctx (or, in the copy an
 *    inlined task loop passes, to the task of this thread's running
 *    batch); a task the library did not make is refused, never written
 *    through;
 *  - `current` names the batch running on this thread, so a map called from
 *    inside a task is refused and a task calling exit() is reported.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "capture.h"
#include "crash.h"
#include "exec.h"

#define EXEC_MAGIC 0x6d70746bu /* "mptk" */

/* The task a function sees, plus what mpipool_task_fail() writes into. */
typedef struct {
    mpipool_task task;     /* first: task->internal_ == &ctx->task       */
    unsigned magic;
    int has_msg;
    int refused;           /* the task made a call the library refused     */
    mpipool__vout *vout;   /* variable results: this item starts at base */
    const mpipool__batch *batch;
    size_t base;
    const char *in_at;     /* run_items: the next item, across paced runs */
    char *out_at;
    char msg[MPIPOOL__MSG_MAX];
} exec_ctx;

static _Thread_local exec_ctx *current;

static exec_ctx *ctx_of(const mpipool_task *task) {
    if (task == NULL) return NULL;
    /* The copy an inlined task loop (mpipool.h, MPIPOOL__LOOP) passes:
     * it names the task of the batch this thread runs. */
    if (current != NULL && task->internal_ == (const void *)&current->task) return current;
    /* Compare before reading anything past the user's struct. */
    if (task->internal_ != (const void *)task) return NULL;
    exec_ctx *ctx = (exec_ctx *)(uintptr_t)task;
    return ctx->magic == EXEC_MAGIC ? ctx : NULL;
}

int mpipool__in_task(void) { return current != NULL; }

const void *mpipool_task_shared(const mpipool_task *task, const char *name, size_t *size) {
    exec_ctx *ctx = ctx_of(task);
    if (ctx == NULL || ctx->batch->pool == NULL) {
        if (size) *size = 0;
        return NULL;
    }
    return mpipool__shared_get(ctx->batch->pool, name, size);
}

void *mpipool_task_output(mpipool_task *task, size_t size) {
    exec_ctx *ctx = ctx_of(task);
    if (ctx == NULL) return NULL;
    if (ctx->vout == NULL) return size <= task->out_size ? task->out : NULL;
    mpipool__vout *v = ctx->vout;
    if (size > SIZE_MAX / 2 - ctx->base) return NULL;
    /* +1: never hand out NULL, even for 0 bytes */
    if (mpipool__grow(&v->p, &v->cap, ctx->base + size + 1, 4096) != 0) return NULL;
    task->out = v->p + ctx->base;
    task->out_size = size;
    return task->out;
}

int mpipool_task_fail(mpipool_task *task, const char *fmt, ...) {
    exec_ctx *ctx = ctx_of(task);
    if (ctx == NULL) return MPIPOOL_EINVAL;
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
        va_end(ap);
        ctx->has_msg = 1;
    }
    return MPIPOOL_ETASK;
}

void mpipool__vout_free(mpipool__vout *v) {
    free(v->p);
    free(v->sizes);
    memset(v, 0, sizeof *v);
}

/* A task's non-zero return (or a refused call): record the item with its
 * message. */
static void failed(exec_ctx *ctx, mpipool__fails *f, uint64_t index, int trc) {
    if (!ctx->has_msg) snprintf(ctx->msg, sizeof ctx->msg, "returned %d", trc);
    mpipool__fails_add(f, index, ctx->msg);
    ctx->has_msg = 0;
    ctx->refused = 0;
}

int mpipool__task_refuse(const char *what) {
    exec_ctx *ctx = current;
    if (ctx == NULL) return 0;
    snprintf(ctx->msg, sizeof ctx->msg, "the task %s, which a task may not do (refused)", what);
    ctx->has_msg = 1;
    ctx->refused = 1;
    return 1;
}

/* The worker's state could not be renewed: its items fail with this. */
static int renewal_failed(exec_ctx *ctx, const mpipool__batch *b) {
    snprintf(ctx->msg, sizeof ctx->msg, "the init hook failed on rank %d when renewing the worker's "
             "state (returned %d)", b->rank, mpipool__setup_init_rc(b->pool));
    ctx->has_msg = 1;
    return MPIPOOL_EINIT;
}

/* Run the task once, renewing the worker's state after it when due. */
static int call(exec_ctx *ctx, const mpipool__batch *b, int renew, size_t k) {
    if (renew && mpipool__setup_init_rc(b->pool) != 0) return renewal_failed(ctx, b);
    if (b->captured) (void)mpipool__capture_begin(); /* on failure the output goes where it always did */
    int trc = b->fn(&ctx->task);
    if (b->captured) mpipool__capture_end(b->captured, ctx->task.index);
    if (renew) {
        mpipool__after_tasks(b->pool, k);
        ctx->task.state = mpipool__setup_state(b->pool);
    }
    return trc;
}

/* Batch task: one call per run of items [from, to), cut only where the
 * worker's state is due for renewal. */
static void run_calls(exec_ctx *ctx, const mpipool__batch *b, mpipool__fails *f, int renew, uint64_t from,
                      uint64_t to) {
    size_t isz = b->in_size, osz = b->out_size;
    for (uint64_t i = from; i < to;) {
        uint64_t k = to - i;
        ctx->task.in = b->in + i * isz;
        ctx->task.in_size = isz;
        ctx->task.out = b->out + i * osz;
        ctx->task.out_size = osz;
        ctx->task.index = (size_t)(b->first + i);
        ctx->has_msg = 0;
        if (renew) {
            size_t left = mpipool__tasks_before_renewal(b->pool);
            if (k > left) k = left;
        }
        ctx->task.count = (size_t)k;
        int trc = call(ctx, b, renew, (size_t)k);
        if (trc != 0) {
            if (!ctx->has_msg) snprintf(ctx->msg, sizeof ctx->msg, "returned %d", trc);
            /* Nothing of a failed call is trusted: its slots are zeros. */
            memset(b->out + i * osz, 0, (size_t)k * osz);
            for (uint64_t j = 0; j < k; j++) mpipool__fails_add(f, b->first + i + j, ctx->msg);
        }
        i += k;
    }
}

/* The common case, fixed sizes and nothing to renew, kept lean: this loop
 * is the whole per-item cost of a map.  With the task's own loop (the
 * MPIPOOL_TASK macros' inlined one), only failures come back here. */
static void run_lean(exec_ctx *ctx, const mpipool__batch *b, mpipool__fails *f, mpipool__loop_fn loop,
                     uint64_t from, uint64_t to) {
    mpipool_fn fn = b->fn;
    size_t isz = b->in_size, osz = b->out_size;
    ctx->task.in_size = isz;
    ctx->task.out_size = osz;
    for (uint64_t i = from; i < to; i++) {
        int trc = 0;
        if (loop) {
            i += loop(&ctx->task, b->in + i * isz, b->out + i * osz, (size_t)(b->first + i), (size_t)(to - i),
                      &ctx->refused, &trc);
            if (i == to) break;
        } else {
            ctx->task.in = b->in + i * isz;
            ctx->task.out = b->out + i * osz;
            ctx->task.out_size = osz;
            ctx->task.index = (size_t)(b->first + i);
            trc = fn(&ctx->task);
        }
        if (trc != 0 || ctx->refused) failed(ctx, f, b->first + i, trc);
    }
}

/* Variable sizes (in or out), or a state to renew: one item at a time,
 * from where the last run of this batch stopped. */
static void run_items(exec_ctx *ctx, const mpipool__batch *b, mpipool__fails *f, int renew, uint64_t from,
                      uint64_t to) {
    const char *in = ctx->in_at;
    char *out = ctx->out_at;
    mpipool__vout *v = b->vout;
    for (uint64_t i = from; i < to; i++) {
        size_t isz = b->in_sizes ? (size_t)b->in_sizes[i] : b->in_size;
        ctx->task.in = in;
        ctx->task.in_size = isz;
        in += isz;
        if (v) {
            ctx->base = v->len;
            ctx->task.out = NULL;
            ctx->task.out_size = 0;
        } else {
            ctx->task.out = out;
            ctx->task.out_size = b->out_size;
            out += b->out_size;
        }
        ctx->task.index = (size_t)(b->first + i);
        ctx->has_msg = 0;
        int trc = call(ctx, b, renew, 1);
        if (trc != 0 || ctx->refused) failed(ctx, f, b->first + i, trc);
        if (v) {
            /* A failed item's partial result is dropped. */
            size_t osz = trc == 0 ? ctx->task.out_size : 0;
            v->sizes[i] = osz;
            v->len = ctx->base + osz;
        }
    }
    ctx->in_at = in;
    ctx->out_at = out;
}

/* The task's own loop, if it has one and this batch can use it (fixed
 * sizes, the ones a typed loop was compiled for, nothing to renew or
 * capture); *zeroes as mpipool__registry_loop's. */
static mpipool__loop_fn lean_loop(const mpipool__batch *b, int found, size_t ri, int renew, int *zeroes) {
    *zeroes = 0;
    if (!found || b->vout || b->in_sizes || renew || b->captured) return NULL;
    mpipool__loop_fn loop = mpipool__registry_loop(ri, zeroes);
    size_t isz, osz;
    if (loop && *zeroes && (!mpipool__registry_types(ri, &isz, &osz) || isz != b->in_size || osz != b->out_size)) {
        *zeroes = 0;
        return NULL; /* refused at map time; never run a loop with the wrong sizes */
    }
    return loop;
}

/* How a batch runs: a batch task's calls, a refusal, the lean loop, or
 * one item at a time. */
enum { RUN_CALLS, RUN_REFUSED, RUN_LEAN, RUN_ITEMS };

static void run_range(exec_ctx *ctx, const mpipool__batch *b, mpipool__fails *f, int how, mpipool__loop_fn loop,
                      int renew, uint64_t from, uint64_t to) {
    if (how == RUN_CALLS) {
        run_calls(ctx, b, f, renew, from, to);
    } else if (how == RUN_REFUSED) {
        /* Refused by the map calls; a protocol slip must not run it per item. */
        for (uint64_t i = from; i < to; i++) {
            mpipool__fails_add(f, b->first + i, "a batch task needs fixed-size items and results");
            if (b->vout) b->vout->sizes[i] = 0;
        }
    } else if (how == RUN_LEAN) {
        run_lean(ctx, b, f, loop, from, to);
    } else {
        run_items(ctx, b, f, renew, from, to);
    }
}

/* Runs [0, count) in runs whose lengths `pace` chooses (or one run);
 * returns the items run.  `pace` is called outside the task context. */
static uint64_t run_paced(exec_ctx *ctx, const mpipool__batch *b, mpipool__fails *f, int how, mpipool__loop_fn loop,
                          int renew, mpipool__pace *pace) {
    exec_ctx *outer = current;
    uint64_t done = 0;
    while (done < b->count) {
        uint64_t k = b->count - done;
        if (pace) {
            current = outer;
            k = pace->fn(pace->arg, done);
            current = ctx;
            if (k == 0) break;
            if (k > b->count - done) k = b->count - done;
        }
        run_range(ctx, b, f, how, loop, renew, done, done + k);
        done += k;
    }
    return done;
}

int64_t mpipool__run_batch(const mpipool__batch *b, mpipool__fails *f) {
    return mpipool__run_batch_paced(b, f, NULL);
}

int64_t mpipool__run_batch_paced(const mpipool__batch *b, mpipool__fails *f, mpipool__pace *pace) {
    exec_ctx ctx;
    mpipool__vout *v = b->vout;
    int batch = mpipool__registry_fn_is_batch(b->fn);
    size_t ri;
    int found = mpipool__registry_find_fn(b->fn, &ri) == MPIPOOL_OK;
    int renew = mpipool__setup_renews(b->pool), zeroes = 0;
    mpipool__loop_fn loop = batch ? NULL : lean_loop(b, found, ri, renew, &zeroes);
    int how = batch ? (!v && !b->in_sizes ? RUN_CALLS : RUN_REFUSED)
                    : (!v && !b->in_sizes && !renew && !b->captured ? RUN_LEAN : RUN_ITEMS);
    mpipool__fails_reset(f);
    if (b->captured) b->captured->len = 0;
    if (v) {
        v->len = 0;
        if (v->nsizes < b->count) {
            uint64_t *sz = realloc(v->sizes, (size_t)(b->count ? b->count : 1) * sizeof *sz);
            if (sz == NULL) return -1;
            v->sizes = sz;
            v->nsizes = (size_t)b->count;
        }
    } else if (b->count && !batch && b->out_size && !(loop && zeroes)) {
        memset(b->out, 0, (size_t)b->count * b->out_size);
    }
    memset(&ctx.task, 0, sizeof ctx.task);
    ctx.task.internal_ = &ctx.task;
    ctx.magic = EXEC_MAGIC;
    ctx.task.rank = b->rank;
    ctx.task.state = mpipool__setup_state(b->pool);
    ctx.task.count = 1;
    ctx.batch = b;
    ctx.vout = v;
    ctx.has_msg = 0;
    ctx.refused = 0;
    ctx.in_at = b->in;
    ctx.out_at = b->out;
    exec_ctx *outer = current;
    current = &ctx;
    mpipool__crash_task(found ? mpipool__registry_name(ri) : "?", b->rank, &ctx.task.index);
    uint64_t ran = run_paced(&ctx, b, f, how, loop, renew, how == RUN_REFUSED ? NULL : pace);
    if (how == RUN_REFUSED && v) v->len = 0;
    if (pace) pace->ran = ran;
    mpipool__crash_done();
    current = outer;
    ctx.magic = 0;
    return (int64_t)f->nfail;
}

/* exit() called by a task: the process must not leave as if all were well
 * (MPICH may even report the job a success).  Runs on the thread that
 * called exit(), so `current` is that thread's batch. */
static void exit_guard(void) {
    exec_ctx *ctx = current;
    if (ctx == NULL) return;
    size_t i;
    const char *name = mpipool__registry_find_fn(ctx->batch->fn, &i) == MPIPOOL_OK ? mpipool__registry_name(i) : "?";
    fprintf(stderr, "mpipool [rank %d]: task '%s' called exit() while running item %zu; ending the process "
            "with status 1\n", ctx->task.rank, name, ctx->task.index);
    fflush(stderr);
    _exit(1);
}

void mpipool__exec_guard_exit(void) {
    static int installed;
    if (!installed && atexit(exit_guard) == 0) installed = 1;
    mpipool__crash_install();
}
