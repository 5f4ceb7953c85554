/*
 * callback.c — Pool.apply_async's callback / error_callback: each pool has
 * at most one callback thread, started at its first job with callbacks,
 * that runs them in the order the jobs finished.
 *
 * Invariants:
 *  - a job's callback runs exactly once: the job is queued once, when it
 *    is settled (jobs.c), and a job is settled once;
 *  - it runs on the callback thread, which holds no lock of ours while it
 *    runs (the engine's lock is the engine's alone; the queue's lock is
 *    released around the call) and makes no MPI calls;
 *  - `done` is set (under the queue's lock, then broadcast) only after the
 *    callback returned, so a waiter that sees it sees what the callback
 *    wrote, and the job is not freed before (mpipool__callback_free);
 *  - the thread ends only when told to stop and its queue is empty, and it
 *    is told only at close, after every job of the pool has settled.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "callback.h"

struct mpipool__cbq {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* to the thread: a job was queued, or stop   */
    pthread_cond_t ran;  /* to waiters: a callback returned            */
    pthread_t thread;
    int stop;
    mpipool_job *head, *tail;
};

struct mpipool__cb {
    mpipool_callbacks c;
    struct mpipool__cbq *q;
    _Atomic int done;
};

static _Thread_local int in_callback;

int mpipool__in_callback(void) { return in_callback; }

int mpipool__callback_refuse(const char *func) {
    return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: called from inside a job's callback; a callback must not "
                          "call mpipool on its pool or its jobs", func);
}

static void *callback_thread(void *arg) {
    struct mpipool__cbq *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->head == NULL && !q->stop) pthread_cond_wait(&q->wake, &q->mu);
        mpipool_job *j = q->head;
        if (j == NULL) break; /* told to stop, nothing left */
        q->head = j->cb_next;
        if (q->head == NULL) q->tail = NULL;
        j->cb_next = NULL;
        pthread_mutex_unlock(&q->mu);
        struct mpipool__cb *cb = j->cb;
        /* rc and err were final before the job was queued (jobs.c). */
        mpipool_job_cb f = j->rc == MPIPOOL_OK ? cb->c.callback : cb->c.error_callback;
        in_callback = 1;
        if (f) f(j, j->rc, j->err, cb->c.arg);
        in_callback = 0;
        pthread_mutex_lock(&q->mu);
        atomic_store_explicit(&cb->done, 1, memory_order_release);
        pthread_cond_broadcast(&q->ran);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

static int queue_start(mpipool *pool, const char *func) {
    struct mpipool__cbq *q = calloc(1, sizeof *q);
    if (q == NULL) return mpipool__error(pool, MPIPOOL_ENOMEM, "%s: out of memory", func);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->wake, NULL);
    pthread_cond_init(&q->ran, NULL);
    if (pthread_create(&q->thread, NULL, callback_thread, q) != 0) {
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->wake);
        pthread_cond_destroy(&q->ran);
        free(q);
        return mpipool__error(pool, MPIPOOL_ENOMEM, "%s: could not start the pool's callback thread", func);
    }
    pool->cbq = q;
    return MPIPOOL_OK;
}

int mpipool__callback_new(mpipool *pool, const char *func, const mpipool_callbacks *cbs, struct mpipool__cb **out) {
    *out = NULL;
    if (cbs->flags != 0)
        return mpipool__error(pool, MPIPOOL_EINVAL, "%s: callbacks->flags is 0x%x; it must be 0", func, cbs->flags);
    for (size_t i = 0; i < sizeof cbs->reserved / sizeof cbs->reserved[0]; i++)
        if (cbs->reserved[i] != NULL)
            return mpipool__error(pool, MPIPOOL_EINVAL, "%s: callbacks->reserved[%zu] is not NULL", func, i);
    struct mpipool__cb *cb = calloc(1, sizeof *cb);
    if (cb == NULL) return mpipool__error(pool, MPIPOOL_ENOMEM, "%s: out of memory", func);
    int rc = pool->cbq ? MPIPOOL_OK : queue_start(pool, func);
    if (rc != MPIPOOL_OK) {
        free(cb);
        return rc;
    }
    cb->c = *cbs;
    cb->q = pool->cbq;
    *out = cb;
    return MPIPOOL_OK;
}

void mpipool__callback_discard(struct mpipool__cb *cb) { free(cb); }

void mpipool__callback_post(mpipool_job *j) {
    if (j->cb == NULL) return;
    struct mpipool__cbq *q = j->cb->q;
    pthread_mutex_lock(&q->mu);
    j->cb_next = NULL;
    if (q->tail) q->tail->cb_next = j;
    else q->head = j;
    q->tail = j;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->mu);
}

int mpipool__callback_done(const mpipool_job *j) {
    return j->cb == NULL || atomic_load_explicit(&j->cb->done, memory_order_acquire);
}

void mpipool__callback_wait(const mpipool_job *j) {
    if (mpipool__callback_done(j)) return;
    /* Not done, so not run yet: its queue (and thread) are still there. */
    struct mpipool__cbq *q = j->cb->q;
    pthread_mutex_lock(&q->mu);
    while (!atomic_load_explicit(&j->cb->done, memory_order_acquire)) pthread_cond_wait(&q->ran, &q->mu);
    pthread_mutex_unlock(&q->mu);
}

void mpipool__callback_free(mpipool_job *j) {
    if (j->cb == NULL) return;
    mpipool__callback_wait(j);
    free(j->cb);
    j->cb = NULL;
}

void mpipool__callback_stop(mpipool *pool) {
    struct mpipool__cbq *q = pool->cbq;
    if (q == NULL) return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->wake);
    pthread_cond_destroy(&q->ran);
    free(q);
    pool->cbq = NULL;
}
