/*
 * usercall.c — where the library calls an imap's source and sink: never
 * under the engine's lock, so that they may take locks of their own that
 * another thread holds while it calls mpipool, and may ask the pool how
 * things stand (mpipool_ready, mpipool_stats...).
 *
 * How: the thread that runs an engine pass holds the pass (engine.c,
 * e->pass) for the whole of it, and releases only the lock around the
 * user's function.  While it is out, other threads may take the lock to
 * look, queue a job or cancel one, but no other pass starts: the engine's
 * state keeps one writer, and an ordered stream's results reach its sink
 * one at a time, in order.  A source or sink that calls what would wait
 * for the engine (a map, mpipool_wait with a timeout, ...) would wait for
 * itself: those calls refuse it (mpipool__in_stream_cb).
 *
 * Invariant: the lock is held again, by the same thread, when these
 * return.  No MPI calls.
 */
#include <pthread.h>
#include "dispatch.h"
#include "usercall.h"

static _Thread_local int in_stream_cb;

int mpipool__in_stream_cb(void) { return in_stream_cb; }

/* Leave the engine for the user's function: release its lock if this
 * thread holds it for a pass (not in a one-rank pool, nor outside a pass),
 * and mark the thread.  `back` undoes it. */
typedef struct {
    mpipool__engine *e;
    int outer;
} away;

static away step_out(const mpipool_job *j) {
    away a = {j->pool ? j->pool->eng : NULL, in_stream_cb};
    if (a.e && (!a.e->pass || !pthread_equal(a.e->pass_owner, pthread_self()))) a.e = NULL;
    if (a.e) pthread_mutex_unlock(&a.e->lock);
    in_stream_cb = 1;
    return a;
}

static void back(away a) {
    in_stream_cb = a.outer;
    if (a.e) {
        pthread_mutex_lock(&a.e->lock);
        a.e->now = 0; /* the pass's clock is read again (dispatch.h): the user's function may have taken long */
    }
}

int mpipool__user_next(mpipool_job *j, size_t index, mpipool_buf *item) {
    away a = step_out(j);
    int r = j->source->next(j->source->ctx, index, item);
    back(a);
    return r;
}

int mpipool__user_put(mpipool_job *j, size_t index, const void *result, size_t size, int status,
                      const char *message) {
    away a = step_out(j);
    int r = j->sink->put(j->sink->ctx, index, result, size, status, message);
    back(a);
    return r;
}
