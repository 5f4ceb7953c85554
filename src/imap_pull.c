/*
 * imap_pull.c — imap jobs: their argument checks (for mpipool_imap too),
 * and the pull iterator mpipool_imap_start / mpipool_imap_next, which
 * hands the stream's results to the caller one at a time.
 *
 * How: a pull imap is an ordinary imap job whose sink (pull_put) queues
 * a copy of each result for mpipool_imap_next.  The engine treats it as an
 * ordered stream, so it takes a new item from the source only while fewer
 * than `window` items are between the source and the caller; for a pull
 * imap, `emitted` (the window's base) counts the results the caller has
 * released, not those queued (stream.c), which bounds the queue too.
 *
 * Invariants:
 *  - results are queued in the order the engine delivers them (input order,
 *    or as completed for pull == 2), and each is returned once;
 *  - the result last returned (`cur`) belongs to the job until the next
 *    mpipool_imap_next or mpipool_job_free, and counts in the window until
 *    then;
 *  - queued results are the reader's: pull_put (the engine's thread, under
 *    the engine's lock) and the reader meet only under `mu`;
 *  - in a one-rank pool the job is not the engine's: it runs inside
 *    mpipool_imap_start and mpipool_imap_next (inline.c), pausing when its
 *    window is full, and sits on pool->pulls until it settles, so that
 *    mpipool_close can end it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "callback.h"
#include "imap_pull.h"
#include "jobs.h"
#include "master_call.h"
#include "usercall.h"

struct node {
    struct node *next;
    size_t index, size;
    int status;
    char *message; /* in the same block, after the data; NULL if none */
    char data[];
};

struct mpipool__pullq {
    pthread_mutex_t mu;
    struct node *head, *tail;
    struct node *cur;  /* returned last; freed by the next call         */
    int oom;           /* a result could not be held: the stream stopped */
    size_t oom_index;
    mpipool_sink sink;
};

/* The sink: queue a copy of the result for the reader.  Out of memory
 * stops the stream (the reader gets MPIPOOL_ENOMEM after what it had). */
static int pull_put(void *ctx, size_t index, const void *result, size_t size, int status, const char *message) {
    mpipool_job *j = ctx;
    struct mpipool__pullq *q = j->pullq;
    size_t mlen = message ? strlen(message) + 1 : 0;
    struct node *n = size <= SIZE_MAX - sizeof *n - mlen ? malloc(sizeof *n + size + mlen) : NULL;
    pthread_mutex_lock(&q->mu);
    if (n == NULL) {
        if (!q->oom) q->oom_index = index;
        q->oom = 1;
        pthread_mutex_unlock(&q->mu);
        return 1;
    }
    *n = (struct node){NULL, index, size, status, NULL};
    if (size) memcpy(n->data, result, size);
    if (message) n->message = memcpy(n->data + size, message, mlen);
    if (q->tail) q->tail->next = n;
    else q->head = n;
    q->tail = n;
    atomic_fetch_add(&j->pull_ready, 1);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

static struct node *pop(mpipool_job *j) {
    struct mpipool__pullq *q = j->pullq;
    pthread_mutex_lock(&q->mu);
    struct node *n = q->head;
    if (n) {
        q->head = n->next;
        if (q->head == NULL) q->tail = NULL;
        atomic_fetch_sub(&j->pull_ready, 1);
    }
    pthread_mutex_unlock(&q->mu);
    return n;
}

int mpipool__imap_job(const char *func, mpipool *pool, mpipool_fn fn, const mpipool_source *source,
                      const mpipool_sink *sink, const mpipool_imap_options *options, mpipool_job **out) {
    int pull = sink != NULL && sink->put == pull_put;
    *out = NULL;
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
    if (pull && o.journal != NULL && o.journal[0] != '\0')
        return mpipool__error(pool, MPIPOOL_EINVAL, "%s: options->journal is \"%.200s\"; a pull imap is not "
                              "journalled (use mpipool_imap with a sink to journal a stream)", func, o.journal);
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
    /* MPIPOOL_JOURNAL does not apply to a pull imap (see above). */
    int rc = mpipool__resume_setup(j, pull ? "" : o.journal);
    if (rc != MPIPOOL_OK) {
        free(j);
        return rc;
    }
    *out = j;
    return MPIPOOL_OK;
}

/* A one-rank pool's pull imap leaves pool->pulls once settled. */
static void unlist(mpipool_job *j) {
    for (mpipool_job **pp = &j->pool->pulls; *pp; pp = &(*pp)->pull_next)
        if (*pp == j) {
            *pp = j->pull_next;
            break;
        }
    j->pull_next = NULL;
}

/* Run a one-rank pool's pull imap on until its window is full again. */
static void run_here(mpipool_job *j) {
    mpipool__job_run_inline(j);
    if (mpipool__job_finished(j)) unlist(j);
}

static void queue_free(struct mpipool__pullq *q) {
    free(q->cur);
    for (struct node *n = q->head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    pthread_mutex_destroy(&q->mu);
    free(q);
}

int mpipool_imap_start(mpipool *pool, mpipool_fn fn, const mpipool_source *source,
                       const mpipool_imap_options *options, mpipool_job **job) {
    const char *func = "mpipool_imap_start";
    if (job != NULL) *job = NULL;
    int rc = mpipool__master_enter(func, pool);
    if (rc != MPIPOOL_OK) return rc;
    if (job == NULL) return mpipool__master_leave(pool, mpipool__error(pool, MPIPOOL_EINVAL, "%s: job is NULL", func));
    struct mpipool__pullq *q = calloc(1, sizeof *q);
    if (q == NULL) return mpipool__master_leave(pool, mpipool__error(pool, MPIPOOL_ENOMEM, "%s: out of memory", func));
    pthread_mutex_init(&q->mu, NULL);
    q->sink.put = pull_put;
    mpipool_job *j = NULL;
    if ((rc = mpipool__imap_job(func, pool, fn, source, &q->sink, options, &j)) != MPIPOOL_OK) {
        queue_free(q);
        return mpipool__master_leave(pool, rc);
    }
    q->sink.ctx = j;
    j->pullq = q;
    j->pull = j->unordered ? 2 : 1;
    j->unordered = 0; /* to the engine, an ordered stream: its window holds */
    j->async = 1;     /* the progress thread may move it while the caller works */
    if (pool->size == 1) {
        j->pull_next = pool->pulls;
        pool->pulls = j;
    }
    mpipool__engine_submit(pool, j); /* one rank: runs it here until the window is full */
    if (pool->size == 1 && mpipool__job_finished(j)) unlist(j);
    *job = j;
    return mpipool__master_leave(pool, MPIPOOL_OK);
}

/* The caller released `consumed` results: move the stream on, and with
 * `wait`, wait up to `timeout` for a result (one rank: run items here).
 * MPIPOOL_OK, or MPIPOOL_ECLOSED when the pool is closing. */
static int advance(mpipool_job *j, size_t consumed, int wait, double timeout) {
    if (mpipool__job_finished(j)) return MPIPOOL_OK;
    if (!mpipool__handle_enter(j->pool, "mpipool_imap_next"))
        return mpipool__error(NULL, MPIPOOL_ECLOSED, "mpipool_imap_next: the job's pool is closing");
    if (j->pool->size == 1) {
        j->emitted += consumed;
        if (wait) run_here(j);
    } else {
        mpipool__engine_pull(j, consumed, wait ? timeout : 0);
    }
    mpipool__handle_leave(j->pool);
    return MPIPOOL_OK;
}

/* The stream is over and every queued result was returned: what the
 * reader gets from now on. */
static int end_code(mpipool_job *j) {
    mpipool *pool = mpipool__handle_live(j->pool) ? j->pool : NULL;
    const char *func = "mpipool_imap_next";
    if (j->pullq->oom)
        return mpipool__error(pool, MPIPOOL_ENOMEM, "%s: out of memory holding the result of item %zu; the "
                              "stream stopped there", func, j->pullq->oom_index);
    if (j->rc == MPIPOOL_ETASK && j->cancelled)
        return mpipool__error(pool, MPIPOOL_ECANCELED, "%s: the stream stopped after a failure (on_error or "
                              "max failures): %s", func, j->err);
    if (j->rc == MPIPOOL_OK && j->cancelled)
        return mpipool__error(pool, MPIPOOL_ECANCELED, "%s: the pool was closed before the stream ended; no "
                              "more items were taken from the source", func);
    if (j->rc != MPIPOOL_OK && j->rc != MPIPOOL_ETASK) return mpipool__error(pool, j->rc, "%s", j->err);
    if (pool) snprintf(pool->err, sizeof pool->err, "%s", j->err); /* "" or the items that failed */
    return MPIPOOL_EOF;
}

int mpipool_imap_next(mpipool_job *job, mpipool_imap_result *result, double timeout) {
    const char *func = "mpipool_imap_next";
    if (job == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: job is NULL", func);
    if (mpipool__in_callback()) return mpipool__callback_refuse(func);
    if (mpipool__in_stream_cb()) return mpipool__stream_cb_refuse(func);
    mpipool *epool = mpipool__handle_live(job->pool) ? job->pool : NULL;
    if (job->pullq == NULL)
        return mpipool__error(epool, MPIPOOL_EINVAL, "%s: the job was not made by mpipool_imap_start", func);
    if (result == NULL) return mpipool__error(epool, MPIPOOL_EINVAL, "%s: result is NULL", func);
    if (timeout != timeout) return mpipool__error(epool, MPIPOOL_EINVAL, "%s: timeout_seconds is NaN", func);
    if (timeout > 1e9) timeout = -1.0;
    memset(result, 0, sizeof *result);
    struct mpipool__pullq *q = job->pullq;
    size_t consumed = q->cur != NULL;
    free(q->cur);
    q->cur = NULL;
    double t0 = MPI_Wtime();
    struct node *n;
    for (int pass = 0;; pass++) {
        if ((n = pop(job)) != NULL || mpipool__job_finished(job)) break;
        double left = timeout < 0 ? -1.0 : timeout - (MPI_Wtime() - t0);
        if (pass > 0 && timeout >= 0 && left <= 0) break;
        int rc = advance(job, consumed, 1, left < 0 && timeout >= 0 ? 0 : left);
        consumed = 0;
        if (rc != MPIPOOL_OK) return rc;
    }
    if (n == NULL && mpipool__job_finished(job)) n = pop(job); /* queued as it finished */
    if (consumed) advance(job, consumed, 0, 0); /* the window moves on by the one released */
    if (n == NULL) {
        if (mpipool__job_finished(job)) return end_code(job);
        return mpipool__error(epool, MPIPOOL_ETIMEDOUT, "%s: no result within %g s; the stream goes on", func,
                              timeout);
    }
    q->cur = n;
    *result = (mpipool_imap_result){n->index, n->status, n->size ? n->data : NULL, n->size, n->message};
    if (n->status == MPIPOOL_OK) return MPIPOOL_OK;
    return mpipool__error(epool, n->status, "%s: item %zu failed: %s", func, n->index,
                          n->message ? n->message : "(no message)");
}

int mpipool__pull_free(mpipool_job *j) {
    if (!mpipool__job_finished(j)) {
        if (!mpipool__handle_enter(j->pool, "mpipool_job_free"))
            return mpipool__error(NULL, MPIPOOL_ECLOSED, "mpipool_job_free: the job's pool is closing; "
                                  "free the job after mpipool_close returns");
        if (j->pool->size == 1) {
            j->cancelled = 1;
            run_here(j); /* runs nothing more: settles it */
        } else {
            mpipool__engine_cancel(j);
            mpipool__engine_wait(j, -1.0); /* its chunks out come back (to the queue) */
        }
        mpipool__handle_leave(j->pool);
    }
    queue_free(j->pullq);
    free(j);
    return MPIPOOL_OK;
}

void mpipool__pull_close(mpipool *pool) {
    while (pool->pulls) {
        mpipool_job *j = pool->pulls;
        j->cancelled = 1;
        run_here(j); /* settles it and takes it off the list */
        if (pool->pulls == j) unlist(j); /* (it always settles; never loop) */
    }
}
