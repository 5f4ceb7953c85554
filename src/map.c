/*
 * map.c — the public map calls: argument checks, then a job for the engine.
 * mpipool_map is mpipool_map_async + mpipool_wait; everything is checked
 * here, before the engine sends anything, so a refused call leaves the pool
 * as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "callback.h"
#include "imap_pull.h"
#include "jobs.h"
#include "master_call.h"
#include "usercall.h"

/* The door of every call here (master_call.c). */
static int enter(const char *func, mpipool *pool) { return mpipool__master_enter(func, pool); }

static int leave(mpipool *pool, int rc) { return mpipool__master_leave(pool, rc); }

/* A task registered with its types (MPIPOOL_TASK_TYPED) takes only maps
 * with those sizes. */
static int check_types(const char *func, mpipool *pool, size_t index, size_t in_size, size_t out_size) {
    size_t tin, tout;
    if (!mpipool__registry_types(index, &tin, &tout) || (tin == in_size && tout == out_size)) return MPIPOOL_OK;
    return mpipool__error(pool, MPIPOOL_EINVAL, "%s: task '%s' was registered with items of %zu bytes and results "
                          "of %zu bytes (MPIPOOL_TASK_TYPED); this call passes %zu and %zu", func,
                          mpipool__registry_name(index), tin, tout, in_size, out_size);
}

/* Check a map's arguments and submit it (the caller entered the pool). */
static int make_job(const char *func, mpipool *pool, mpipool_fn fn, const void *in, size_t in_size,
                    void *out, size_t out_size, size_t n, const mpipool_map_options *options,
                    mpipool_job **out_job, int async, struct mpipool__cb *cb) {
    char msg[MPIPOOL__MSG_MAX];
    int rc;
    if (fn == NULL) return mpipool__error(pool, MPIPOOL_EINVAL, "%s: fn is NULL", func);
    rc = mpipool__check_map_args(in, in_size, out, out_size, n, options, msg, sizeof msg);
    if (rc != MPIPOOL_OK) return mpipool__error(pool, rc, "%s: %s", func, msg);
    size_t index;
    if (mpipool__registry_find_fn(fn, &index) != MPIPOOL_OK)
        return mpipool__error(pool, MPIPOOL_ENOTREG, "%s: the task function at %p is not registered "
                              "(add MPIPOOL_TASK(fn) at file scope, or mpipool_register(\"fn\", fn) "
                              "on every rank before mpipool_open)", func, (void *)(size_t)fn);
    if ((rc = check_types(func, pool, index, in_size, out_size)) != MPIPOOL_OK) return rc;
    if (mpipool__registry_is_batch(index) && (in_size == MPIPOOL_VARIABLE || out_size == MPIPOOL_VARIABLE))
        return mpipool__error(pool, MPIPOOL_EINVAL, "%s: task '%s' is a batch task, which needs fixed-size items "
                              "and results (not MPIPOOL_VARIABLE)", func, mpipool__registry_name(index));
    if (in_size == MPIPOOL_VARIABLE) {
        const mpipool_buf *items = in;
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
            if (items[i].data == NULL && items[i].size > 0)
                return mpipool__error(pool, MPIPOOL_EINVAL, "%s: in[%zu].data is NULL with size %zu", func, i,
                                      items[i].size);
            /* Chunk buffers hold sizes and items together: keep far from wrapping. */
            if (items[i].size > MPIPOOL__VAR_TOTAL_MAX - total)
                return mpipool__error(pool, MPIPOOL_EOVERFLOW, "%s: in[%zu].size is %zu; the items' sizes add up "
                                      "past %zu bytes", func, i, items[i].size, MPIPOOL__VAR_TOTAL_MAX);
            total += items[i].size;
        }
    }
    mpipool_job *j = calloc(1, sizeof *j);
    if (j == NULL) return mpipool__error(pool, MPIPOOL_ENOMEM, "%s: out of memory", func);
    mpipool_map_options defaults = MPIPOOL_MAP_OPTIONS_INIT;
    if (options == NULL) options = &defaults;
    j->pool = pool;
    j->func = func;
    j->fn_index = index;
    j->in = in;
    j->out = out;
    j->in_var = in_size == MPIPOOL_VARIABLE;
    j->out_var = out_size == MPIPOOL_VARIABLE;
    j->in_size = j->in_var ? sizeof(mpipool_buf) : in_size;
    j->out_size = j->out_var ? sizeof(mpipool_buf) : out_size;
    j->n = n;
    j->schedule = options->schedule;
    j->user_chunk = options->chunk_size;
    j->on_error = options->on_error;
    j->max_failures = options->max_failures;
    j->status = options->status;
    j->messages = options->messages;
    j->flags = options->flags;
    j->task_timeout = options->task_timeout;
    rc = mpipool__resume_setup(j, options->journal);
    if (rc != MPIPOOL_OK) {
        free(j);
        return rc;
    }
    j->async = out_job != NULL && async;
    j->cb = cb; /* from here on the job is submitted: its callback will run */
    mpipool__engine_submit(pool, j);
    *out_job = j;
    return MPIPOOL_OK;
}

/* The job's verdict becomes the pool's last error (when the pool is open). */
static int settle(mpipool_job *j, int rc) {
    if (rc != MPIPOOL_ETIMEDOUT && mpipool__handle_live(j->pool) && j->pool->rank == 0)
        snprintf(j->pool->err, sizeof j->pool->err, "%s", j->err);
    return rc;
}

/* The async submissions, with or without callbacks (callback.c): a
 * refused call makes no job, so no callback ever runs for it. */
static int submit_async(const char *func, mpipool *pool, mpipool_fn fn, const void *in, size_t in_size, void *out,
                        size_t out_size, size_t n, const mpipool_map_options *options,
                        const mpipool_callbacks *callbacks, mpipool_job **job) {
    if (job != NULL) *job = NULL; /* a refused call leaves no handle behind */
    int rc = enter(func, pool);
    if (rc != MPIPOOL_OK) return rc;
    if (job == NULL) return leave(pool, mpipool__error(pool, MPIPOOL_EINVAL, "%s: job is NULL", func));
    struct mpipool__cb *cb = NULL;
    if (callbacks != NULL && (rc = mpipool__callback_new(pool, func, callbacks, &cb)) != MPIPOOL_OK)
        return leave(pool, rc);
    rc = make_job(func, pool, fn, in, in_size, out, out_size, n, options, job, 1, cb);
    if (rc != MPIPOOL_OK) mpipool__callback_discard(cb);
    return leave(pool, rc);
}

int mpipool_map_async(mpipool *pool, mpipool_fn fn, const void *in, size_t in_size, void *out,
                      size_t out_size, size_t n, const mpipool_map_options *options,
                      mpipool_job **job) {
    return submit_async("mpipool_map_async", pool, fn, in, in_size, out, out_size, n, options, NULL, job);
}

int mpipool_apply_async(mpipool *pool, mpipool_fn fn, const void *in, size_t in_size, void *out,
                        size_t out_size, mpipool_job **job) {
    return submit_async("mpipool_apply_async", pool, fn, in, in_size, out, out_size, 1, NULL, NULL, job);
}

int mpipool_map_async_cb(mpipool *pool, mpipool_fn fn, const void *in, size_t in_size, void *out,
                         size_t out_size, size_t n, const mpipool_map_options *options,
                         const mpipool_callbacks *callbacks, mpipool_job **job) {
    return submit_async("mpipool_map_async_cb", pool, fn, in, in_size, out, out_size, n, options, callbacks, job);
}

int mpipool_apply_async_cb(mpipool *pool, mpipool_fn fn, const void *in, size_t in_size, void *out,
                           size_t out_size, const mpipool_callbacks *callbacks, mpipool_job **job) {
    return submit_async("mpipool_apply_async_cb", pool, fn, in, in_size, out, out_size, 1, NULL, callbacks, job);
}

int mpipool_wait(mpipool_job *job, double timeout_seconds) {
    if (job == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "mpipool_wait: job is NULL");
    if (mpipool__in_callback()) return mpipool__callback_refuse("mpipool_wait");
    mpipool *pool = job->pool;
    if (timeout_seconds != timeout_seconds)
        return mpipool__error(mpipool__handle_live(pool) ? pool : NULL, MPIPOOL_EINVAL,
                              "mpipool_wait: timeout_seconds is NaN");
    /* An imap's source or sink may look (timeout 0), not wait: the stream
     * that calls it could not move meanwhile. */
    if (timeout_seconds != 0 && mpipool__in_stream_cb()) return mpipool__stream_cb_refuse("mpipool_wait");
    /* A job outlives its pool's close (which finishes it).  Its callback
     * has returned before its result is given (as Python's get()). */
    if (mpipool__job_finished(job)) {
        mpipool__callback_wait(job);
        return settle(job, job->rc);
    }
    if (job->pullq != NULL)
        return mpipool__error(mpipool__handle_live(pool) ? pool : NULL, MPIPOOL_EINVAL, "mpipool_wait: an imap "
                              "started with mpipool_imap_start ends by reading it: call mpipool_imap_next until "
                              "it returns MPIPOOL_EOF (or free the job)");
    if (!mpipool__handle_enter(pool, "mpipool_wait"))
        return mpipool__error(NULL, MPIPOOL_ECLOSED, "mpipool_wait: the job's pool is closing");
    /* Past ~31 years a deadline would overflow time_t arithmetic: forever. */
    if (timeout_seconds > 1e9) timeout_seconds = -1.0;
    int rc = mpipool__engine_wait(job, timeout_seconds);
    if (rc != MPIPOOL_ETIMEDOUT) mpipool__callback_wait(job);
    return leave(pool, settle(job, rc));
}

int mpipool_ready(mpipool_job *job) {
    if (job == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "mpipool_ready: job is NULL");
    if (mpipool__in_callback()) return mpipool__callback_refuse("mpipool_ready");
    /* Ready once its callback (if any) has returned too. */
    if (mpipool__job_finished(job)) return mpipool__callback_done(job);
    if (!mpipool__handle_enter(job->pool, "mpipool_ready"))
        return mpipool__job_finished(job) && mpipool__callback_done(job);
    return leave(job->pool, mpipool__engine_finished(job) && mpipool__callback_done(job));
}

int mpipool_job_free(mpipool_job *job) {
    if (job == NULL) return MPIPOOL_OK;
    if (mpipool__in_callback()) return mpipool__callback_refuse("mpipool_job_free");
    if (mpipool__in_stream_cb()) return mpipool__stream_cb_refuse("mpipool_job_free");
    if (job->pullq != NULL) return mpipool__pull_free(job); /* its results too (imap_pull.c) */
    if (!mpipool__job_finished(job)) {
        if (!mpipool__handle_enter(job->pool, "mpipool_job_free"))
            return mpipool__error(NULL, MPIPOOL_ECLOSED, "mpipool_job_free: the job's pool is closing; "
                                  "free the job after mpipool_close returns");
        mpipool__engine_cancel(job);
        mpipool__engine_wait(job, -1.0);
        mpipool__handle_leave(job->pool);
    }
    mpipool__callback_free(job); /* after its callback returned */
    free(job);
    return MPIPOOL_OK;
}

static int map_blocking(const char *func, mpipool *pool, mpipool_fn fn, const void *in, size_t in_size,
                        void *out, size_t out_size, size_t n, const mpipool_map_options *options) {
    mpipool_job *j = NULL;
    int rc = enter(func, pool);
    if (rc != MPIPOOL_OK) return rc;
    rc = make_job(func, pool, fn, in, in_size, out, out_size, n, options, &j, 0, NULL);
    if (rc == MPIPOOL_OK) {
        rc = settle(j, mpipool__engine_wait(j, -1.0));
        free(j);
    }
    return leave(pool, rc);
}

int mpipool_map(mpipool *pool, mpipool_fn fn, const void *in, size_t in_size, void *out,
                size_t out_size, size_t n, const mpipool_map_options *options) {
    return map_blocking("mpipool_map", pool, fn, in, in_size, out, out_size, n, options);
}

int mpipool_apply(mpipool *pool, mpipool_fn fn, const void *in, size_t in_size, void *out,
                  size_t out_size) {
    return map_blocking("mpipool_apply", pool, fn, in, in_size, out, out_size, 1, NULL);
}

static int imap_run(const char *func, mpipool *pool, mpipool_fn fn, const mpipool_source *source,
                    const mpipool_sink *sink, const mpipool_imap_options *options) {
    mpipool_job *j = NULL;
    int rc = mpipool__imap_job(func, pool, fn, source, sink, options, &j);
    if (rc != MPIPOOL_OK) return rc;
    mpipool__engine_submit(pool, j);
    rc = settle(j, mpipool__engine_wait(j, -1.0));
    free(j);
    return rc;
}

int mpipool_imap(mpipool *pool, mpipool_fn fn, const mpipool_source *source, const mpipool_sink *sink,
                 const mpipool_imap_options *options) {
    int rc = enter("mpipool_imap", pool);
    if (rc != MPIPOOL_OK) return rc;
    return leave(pool, imap_run("mpipool_imap", pool, fn, source, sink, options));
}
