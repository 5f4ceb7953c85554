/*
 * map.c — the public map calls: argument checks, then a job for the engine.
 * mpipool_map is mpipool_map_async + mpipool_wait; everything is checked
 * here, before the engine sends anything, so a refused call leaves the pool
 * as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jobs.h"

/* Enter a master call on `pool`: MPIPOOL_OK (then leave() must follow),
 * or the refusal. */
static int enter(const char *func, mpipool *pool) {
    if (pool == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: pool is NULL", func);
    if (!mpipool__handle_enter(pool, func))
        return mpipool__error(NULL, MPIPOOL_ECLOSED, "%s: the pool is closed (or was never opened)", func);
    int rc = MPIPOOL_OK;
    pool->err[0] = '\0';
    if (pool->rank != 0)
        rc = mpipool__error(pool, MPIPOOL_ENOTMASTER, "%s: called on rank %d; only the master (rank 0) may "
                            "(workers serve: mpipool_serve, or mpipool_start does it)", func, pool->rank);
    else if (mpipool__in_task())
        rc = mpipool__error(pool, MPIPOOL_EINVAL, "%s: called from inside a task; a task cannot start maps "
                            "on the pool that runs it", func);
    if (rc != MPIPOOL_OK) mpipool__handle_leave(pool);
    return rc;
}

static int leave(mpipool *pool, int rc) {
    mpipool__handle_leave(pool);
    return rc;
}

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
                    mpipool_job **out_job, int async) {
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

int mpipool_map_async(mpipool *pool, mpipool_fn fn, const void *in, size_t in_size, void *out,
                      size_t out_size, size_t n, const mpipool_map_options *options,
                      mpipool_job **job) {
    const char *func = "mpipool_map_async";
    if (job != NULL) *job = NULL; /* a refused call leaves no handle behind */
    int rc = enter(func, pool);
    if (rc != MPIPOOL_OK) return rc;
    if (job == NULL) return leave(pool, mpipool__error(pool, MPIPOOL_EINVAL, "%s: job is NULL", func));
    *job = NULL;
    return leave(pool, make_job(func, pool, fn, in, in_size, out, out_size, n, options, job, 1));
}

int mpipool_apply_async(mpipool *pool, mpipool_fn fn, const void *in, size_t in_size, void *out,
                        size_t out_size, mpipool_job **job) {
    const char *func = "mpipool_apply_async";
    if (job != NULL) *job = NULL; /* a refused call leaves no handle behind */
    int rc = enter(func, pool);
    if (rc != MPIPOOL_OK) return rc;
    if (job == NULL) return leave(pool, mpipool__error(pool, MPIPOOL_EINVAL, "%s: job is NULL", func));
    *job = NULL;
    return leave(pool, make_job(func, pool, fn, in, in_size, out, out_size, 1, NULL, job, 1));
}

int mpipool_wait(mpipool_job *job, double timeout_seconds) {
    if (job == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "mpipool_wait: job is NULL");
    mpipool *pool = job->pool;
    if (timeout_seconds != timeout_seconds)
        return mpipool__error(mpipool__handle_live(pool) ? pool : NULL, MPIPOOL_EINVAL,
                              "mpipool_wait: timeout_seconds is NaN");
    /* A job outlives its pool's close (which finishes it). */
    if (mpipool__job_finished(job)) return settle(job, job->rc);
    if (!mpipool__handle_enter(pool, "mpipool_wait"))
        return mpipool__error(NULL, MPIPOOL_ECLOSED, "mpipool_wait: the job's pool is closing");
    /* Past ~31 years a deadline would overflow time_t arithmetic: forever. */
    if (timeout_seconds > 1e9) timeout_seconds = -1.0;
    return leave(pool, settle(job, mpipool__engine_wait(job, timeout_seconds)));
}

int mpipool_ready(mpipool_job *job) {
    if (job == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "mpipool_ready: job is NULL");
    if (mpipool__job_finished(job)) return 1;
    if (!mpipool__handle_enter(job->pool, "mpipool_ready")) return mpipool__job_finished(job);
    return leave(job->pool, mpipool__engine_finished(job));
}

int mpipool_job_free(mpipool_job *job) {
    if (job == NULL) return MPIPOOL_OK;
    if (!mpipool__job_finished(job)) {
        if (!mpipool__handle_enter(job->pool, "mpipool_job_free"))
            return mpipool__error(NULL, MPIPOOL_ECLOSED, "mpipool_job_free: the job's pool is closing; "
                                  "free the job after mpipool_close returns");
        mpipool__engine_cancel(job);
        mpipool__engine_wait(job, -1.0);
        mpipool__handle_leave(job->pool);
    }
    free(job);
    return MPIPOOL_OK;
}

static int map_blocking(const char *func, mpipool *pool, mpipool_fn fn, const void *in, size_t in_size,
                        void *out, size_t out_size, size_t n, const mpipool_map_options *options) {
    mpipool_job *j = NULL;
    int rc = enter(func, pool);
    if (rc != MPIPOOL_OK) return rc;
    rc = make_job(func, pool, fn, in, in_size, out, out_size, n, options, &j, 0);
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
    int rc;
    if (fn == NULL) return mpipool__error(pool, MPIPOOL_EINVAL, "%s: fn is NULL", func);
    if (source == NULL || source->next == NULL)
        return mpipool__error(pool, MPIPOOL_EINVAL, "%s: source (or source->next) is NULL", func);
    if (sink == NULL || sink->put == NULL)
        return mpipool__error(pool, MPIPOOL_EINVAL, "%s: sink (or sink->put) is NULL", func);
    mpipool_imap_options o = MPIPOOL_IMAP_OPTIONS_INIT;
    if (options) o = *options;
    if (o.flags & ~MPIPOOL_MAP_PROGRESS)
        return mpipool__error(pool, MPIPOOL_EINVAL, "%s: options->flags is 0x%x; only MPIPOOL_MAP_PROGRESS is defined", func, o.flags);
    for (size_t i = 0; i < sizeof o.reserved / sizeof o.reserved[0]; i++)
        if (o.reserved[i] != NULL)
            return mpipool__error(pool, MPIPOOL_EINVAL, "%s: options->reserved[%zu] is not NULL", func, i);
    if (o.journal != NULL && strlen(o.journal) >= 4096)
        return mpipool__error(pool, MPIPOOL_EINVAL, "%s: options->journal is a path of %zu bytes; at most 4095",
                              func, strlen(o.journal));
    if (!(o.task_timeout >= 0 && o.task_timeout <= 1e9))
        return mpipool__error(pool, MPIPOOL_EINVAL, "%s: options->task_timeout is %g; it must be a number of "
                              "seconds, 0 for no limit", func, o.task_timeout);
    if (o.on_error != MPIPOOL_ON_ERROR_CONTINUE && o.on_error != MPIPOOL_ON_ERROR_STOP)
        return mpipool__error(pool, MPIPOOL_EINVAL, "%s: options->on_error is %d, not a mpipool_on_error value",
                              func, (int)o.on_error);
    if (o.unordered != 0 && o.unordered != 1)
        return mpipool__error(pool, MPIPOOL_EINVAL, "%s: options->unordered is %d; it must be 0 or 1", func,
                              o.unordered);
    size_t index;
    if (mpipool__registry_find_fn(fn, &index) != MPIPOOL_OK)
        return mpipool__error(pool, MPIPOOL_ENOTREG, "%s: the task function at %p is not registered", func,
                              (void *)(size_t)fn);
    if (mpipool__registry_is_batch(index))
        return mpipool__error(pool, MPIPOOL_EINVAL, "%s: task '%s' is a batch task; imap streams items of any "
                              "size, which batch tasks do not take", func, mpipool__registry_name(index));
    mpipool_job *j = calloc(1, sizeof *j);
    if (j == NULL) return mpipool__error(pool, MPIPOOL_ENOMEM, "%s: out of memory", func);
    j->pool = pool;
    j->func = func;
    j->fn_index = index;
    j->n = SIZE_MAX;
    j->source = source;
    j->sink = sink;
    j->unordered = o.unordered;
    j->window = o.window;
    j->user_chunk = o.chunk_size;
    j->on_error = o.on_error;
    j->schedule = MPIPOOL_SCHEDULE_DYNAMIC;
    j->flags = o.flags;
    j->task_timeout = o.task_timeout;
    rc = mpipool__resume_setup(j, o.journal);
    if (rc != MPIPOOL_OK) {
        free(j);
        return rc;
    }
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
