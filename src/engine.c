/*
 * engine.c — the master's engine: the queue of jobs, the lock, the
 * progress thread, waiting, and the end of every job.
 *
 * Invariants:
 *  - only one thread at a time makes MPI calls on the pool's communicator:
 *    whoever holds e->lock (the progress thread, or a caller driving
 *    progress inside mpipool_wait/ready); so MPI_THREAD_SERIALIZED suffices;
 *  - one pass at a time (e->pass): its thread alone writes the engine's
 *    state and calls an imap's source and sink, which it does with e->lock
 *    released (usercall.c); meanwhile other threads may take the lock to
 *    queue, cancel or look, but start no pass of their own;
 *  - the progress thread exists only once an async job was submitted
 *    (map_async/apply_async): a blocking map is driven by its caller and
 *    never pays for a second thread;
 *  - a job leaves the queue only here, once no chunk of it is out (or the
 *    engine broke), and is marked finished last (jobs.c);
 *  - a signal (signals.c) is acted on between passes: no job gets another
 *    chunk, the chunks out come back (and are journalled), and every job
 *    then ends with MPIPOOL_EINTR.
 */
#include <pthread.h>
#include <stdlib.h>
#include "dispatch.h"
#include "jobs.h"
#include "recover.h"
#include "reclaim.h"
#include "signals.h"

/* Unlink a job, settle it and wake its waiters.  With e->lock.  Settled
 * last: once it is, its owner may free it (after its callback). */
static void finish(mpipool__engine *e, mpipool_job *j) {
    mpipool_job **pp = &e->head, *prev = NULL;
    while (*pp && *pp != j) {
        prev = *pp;
        pp = &(*pp)->next_job;
    }
    if (*pp) {
        *pp = j->next_job;
        if (e->tail == j) e->tail = prev;
    }
    j->next_job = NULL;
    mpipool__job_settle(j, e->broken ? e->broken_msg : NULL, e->broken_code);
    pthread_cond_broadcast(&e->done);
}

/* A signal arrived: send nothing more; the jobs end with MPIPOOL_EINTR once
 * their chunks are back. */
static void interrupt(mpipool__engine *e, int sig) {
    e->interrupted = sig;
    for (mpipool_job *j = e->head; j; j = j->next_job) {
        j->cancelled = 1;
        if (!j->intr) j->intr = sig;
    }
}

/* One pass: collect finished chunks, hand out new ones, settle finished
 * jobs.  Returns 1 if anything happened.  Called with e->lock held. */
static int progress_once(mpipool__engine *e) {
    int sig = mpipool__signal_pending();
    if (sig && !e->interrupted) interrupt(e, sig);
    mpipool__resume_poll(); /* the journal's timed sync */
    e->now = MPI_Wtime();
    int any = mpipool__dispatch_collect(e);
    /* With every slot taken no chunk can go out (a worker has at most two,
     * and a static job waits for none): most passes while answers are due. */
    if (!e->broken && e->busy < e->nslots && mpipool__dispatch_fill(e) != 0) any = 1;
    /* The watch is posted while chunks are out; a fill that breaks the
     * engine needs none. */
    if (!e->broken && e->busy > 0) mpipool__dispatch_watch(e);
    if (!e->broken && (e->busy > 0 || e->ngave > 0)) (void)mpipool__reclaim_look(e); /* an error breaks the engine */
    for (mpipool_job *j = e->head, *next; j; j = next) {
        next = j->next_job;
        /* A broken engine cannot drain: chunks still out are never collected. */
        if (e->broken || (j->chunks_out == 0 && (j->cancelled || (j->next >= j->n && j->redo == NULL)))) {
            finish(e, j);
            any = 1;
        }
    }
    return any;
}

/* progress_once, by one thread at a time: the pass stays this thread's
 * while it is out in an imap's source or sink without the lock
 * (usercall.c).  Meanwhile another thread (or that source or sink itself,
 * through mpipool_ready) gets 0 here: nothing moved.  With e->lock.
 * *now: the clock at the end of the pass (read here if no pass ran). */
static int pass_at(mpipool__engine *e, double *now) {
    if (e->pass) {
        *now = MPI_Wtime();
        return 0;
    }
    e->pass = 1;
    e->pass_owner = pthread_self();
    int any = progress_once(e);
    e->pass = 0;
    *now = mpipool__engine_now(e);
    return any;
}

static int pass(mpipool__engine *e) {
    double now;
    return pass_at(e, &now);
}

/* Nothing moved: how to wait for the next pass.  `bo->due` is set from the
 * chunks out, unless another thread is in a pass (their state is its).
 * `now`: the clock, read once per wait step (a read costs ~30 ns here, and
 * a master polls for an answer in steps of well under a microsecond). */
static int idle_moving(mpipool__engine *e, mpipool__backoff *bo, double now) {
    if (e->pass) {
        bo->due = 0;
        return 0;
    }
    int moving = mpipool__dispatch_moving(e);
    if (!moving) bo->due = mpipool__dispatch_next_due(e, now, &bo->pace.most_us);
    return moving;
}

/* Nothing moved: wait one step, with e->lock released.  Except a poll
 * step (an answer is due, or the wait has just begun) of a pool with no
 * progress thread, whose next pass follows at once: it keeps the lock (a
 * lock round trip per poll of a one-item round trip), which only another
 * thread of the caller's could want (mpipool_ready...): it gets it at the
 * next yield or sleep.  With another thread's pass under way, or a
 * progress thread (async jobs: the caller's mpipool_wait/ready take the
 * lock), every step releases it as before.  Returns 1 for a poll step that
 * kept the lock.  With e->lock. */
static int idle_step(mpipool__engine *e, mpipool__backoff *bo, double now) {
    unsigned us = 0;
    int moving = idle_moving(e, bo, now);
    int step = moving ? MPIPOOL__WAIT_YIELD_STEP : mpipool__backoff_plan(bo, now, &us);
    if (step == MPIPOOL__WAIT_POLL && !e->thread_started && !e->pass) return 1;
    pthread_mutex_unlock(&e->lock);
    /* moving: keep it moving, but let workers on this core run */
    mpipool__backoff_act(step, us);
    pthread_mutex_lock(&e->lock);
    return 0;
}

/* `j` is finished, or (`pull`) has a result queued for mpipool_imap_next. */
static int arrived(const mpipool_job *j, int pull) {
    return mpipool__job_finished(j) || (pull && atomic_load(&j->pull_ready) > 0);
}

/* Drive progress until `j` has arrived (above) or `timeout` (< 0: none)
 * passes, sleeping politely between passes.  With e->lock (released to
 * sleep). */
static void drive(mpipool__engine *e, mpipool_job *j, double timeout, int pull) {
    double t0 = MPI_Wtime();
    mpipool__backoff bo;
    mpipool__backoff_reset(&bo);
    while (!arrived(j, pull)) {
        double now;
        int moved = pass_at(e, &now);
        if (moved) mpipool__backoff_reset(&bo);
        if (arrived(j, pull) || (timeout >= 0 && MPI_Wtime() - t0 >= timeout)) break;
        if (!moved) (void)idle_step(e, &bo, now);
    }
}

static void *progress_thread(void *arg) {
    mpipool__engine *e = arg;
    mpipool__backoff bo;
    mpipool__backoff_reset(&bo);
    pthread_mutex_lock(&e->lock);
    while (!e->stop) {
        if (e->head == NULL || e->driver) {
            pthread_cond_wait(&e->wake, &e->lock);
            mpipool__backoff_reset(&bo);
            continue;
        }
        double now;
        if (pass_at(e, &now)) {
            mpipool__backoff_reset(&bo);
            continue;
        }
        (void)idle_step(e, &bo, now);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

static void engine_free(mpipool__engine *e) {
    for (int i = 0; i < e->nslots; i++) {
        free(e->slots[i].sbuf);
        free(e->slots[i].rmsg);
        free(e->slots[i].pieces);
        free(e->slots[i].rbuf);
        if (e->slots[i].rpers != MPI_REQUEST_NULL) MPI_Request_free(&e->slots[i].rpers);
        free(e->slots[i].why);
    }
    free(e->slots);
    free(e->rreqs);
    free(e->idx);
    free(e->statuses);
    free(e->inflight);
    free(e->room);
    free(e->span);
    free(e->answered);
    free(e->last_job);
    free(e->last_count);
    free(e->job_items);
    free(e->even_job);
    mpipool__recover_free(e);
    mpipool__reclaim_free(e);
    free(e);
}

int mpipool__engine_create(mpipool *pool) {
    mpipool__engine *e = calloc(1, sizeof *e);
    if (e == NULL) return MPIPOOL_ENOMEM;
    e->pool = pool;
    e->workers = pool->size - 1;
    e->per = mpipool__plan_slots((size_t)e->workers);
    e->nslots = e->per * e->workers;
    e->slots = calloc((size_t)e->nslots + 1, sizeof *e->slots);
    e->rreqs = calloc((size_t)e->nslots + ENGINE_EXTRA_REQS, sizeof *e->rreqs);
    e->idx = calloc((size_t)e->nslots + ENGINE_EXTRA_REQS, sizeof *e->idx);
    e->statuses = calloc((size_t)e->nslots + ENGINE_EXTRA_REQS, sizeof *e->statuses);
    e->inflight = calloc((size_t)pool->size, sizeof *e->inflight);
    e->span = malloc((size_t)pool->size * sizeof *e->span);
    e->answered = calloc((size_t)pool->size, sizeof *e->answered);
    e->last_job = calloc((size_t)pool->size, sizeof *e->last_job);
    e->last_count = calloc((size_t)pool->size, sizeof *e->last_count);
    e->job_items = calloc((size_t)pool->size, sizeof *e->job_items);
    e->even_job = calloc((size_t)pool->size, sizeof *e->even_job);
    e->room = calloc((size_t)pool->size, sizeof *e->room);
    int rec = mpipool__recover_init(e), rcl = mpipool__reclaim_init(e);
    if (!e->slots || !e->rreqs || !e->idx || !e->statuses || !e->inflight || !e->span || !e->answered ||
        !e->last_job || !e->last_count || !e->job_items || !e->even_job || !e->room || rec != 0 || rcl != 0) {
        engine_free(e);
        return MPIPOOL_ENOMEM;
    }
    for (int i = 0; i < e->nslots; i++) e->slots[i].sreq = e->slots[i].rreq = e->slots[i].rpers = MPI_REQUEST_NULL;
    for (int w = 0; w < pool->size; w++) e->span[w] = 1;
    e->abort_req = e->room_req = MPI_REQUEST_NULL;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->wake, NULL);
    pthread_cond_init(&e->done, NULL);
    pool->eng = e;
    return MPIPOOL_OK;
}

int mpipool__engine_submit(mpipool *pool, mpipool_job *j) {
    mpipool__engine *e = pool->eng;
    j->max_chunk = mpipool__plan_max_items(j->in_var || j->source ? 64 : j->in_size,
                                           j->out_var || j->source ? 64 : j->out_size,
                                           sizeof(mpipool__work_hdr), MPIPOOL__CHUNK_BYTES_CAP);
    if (j->source && j->window == 0) j->window = 65536;
    /* Static needs fixed sizes, and MPI datatypes of at least one byte. */
    if (j->in_var || j->out_var || j->source || j->in_size == 0 || j->out_size == 0)
        j->schedule = MPIPOOL_SCHEDULE_DYNAMIC;
    j->per_item = -1.0;
    j->heavy = j->uneven = 0; /* what the answers tell of its items */
    j->even_leaders = 0;
    j->grp_least = j->grp_most = 0;
    j->id = pool->next_job++;
    if (j->status)
        for (size_t i = 0; i < j->n; i++) j->status[i] = MPIPOOL_ECANCELED;
    if (j->messages)
        for (size_t i = 0; i < j->n; i++) j->messages[i] = NULL;
    if (j->out_var)
        for (size_t i = 0; i < j->n; i++) ((mpipool_buf *)(void *)j->out)[i] = (mpipool_buf){NULL, 0};
    if (j->resume) mpipool__resume_apply(j); /* after the resets above */
    /* A collective cannot go on without a dead rank: with recovery, maps
     * are dynamic and flat (a group's leader would wait for ever for a
     * dead member).  Captured output comes back with dynamic chunks only. */
    j->capture = (j->flags & MPIPOOL_MAP_ORDERED_OUTPUT) && pool->size > 1 && !j->source;
    if (pool->recover > 0 || j->capture) {
        j->schedule = MPIPOOL_SCHEDULE_DYNAMIC;
        j->flags = (j->flags & ~(unsigned)MPIPOOL_MAP_HIERARCHY) | MPIPOOL_MAP_FLAT;
    }
    /* Scatterv counts and displacements are ints (in items), and no rank's
     * share may be one message larger than a piece: else go dynamic. */
    if (j->schedule == MPIPOOL_SCHEDULE_STATIC && pool->size > 1) {
        size_t w = (size_t)pool->size - 1, share = j->n / w + (j->n % w != 0);
        size_t item = j->in_size > j->out_size ? j->in_size : j->out_size;
        if (j->n > (size_t)0x7fffffff || share > pool->piece / item)
            j->schedule = MPIPOOL_SCHEDULE_DYNAMIC;
    }
    /* The hierarchy carries fixed-size dynamic maps whose items fit a
     * member's message; everything else goes to every worker directly. */
    size_t big = j->in_size > j->out_size ? j->in_size : j->out_size;
    j->group = 0;
    /* A chunk_size the caller chose is the task calls' boundaries (batch
     * tasks see them): a leader's shares would move them, so such maps go flat. */
    if (!j->in_var && !j->out_var && !j->source && j->schedule == MPIPOOL_SCHEDULE_DYNAMIC && j->user_chunk == 0 &&
        !(j->flags & MPIPOOL_MAP_FLAT) && big + sizeof(mpipool__result_hdr) + sizeof(mpipool__work_hdr) <= pool->piece &&
        mpipool__plan_hier_use((j->flags & MPIPOOL_MAP_HIERARCHY) ? MPIPOOL__HIER_ON : pool->hier, (size_t)pool->size - 1))
        j->group = pool->group;
    if (pool->size == 1 || j->n == 0) {
        mpipool__job_run_inline(j);
        return MPIPOOL_OK;
    }
    pthread_mutex_lock(&e->lock);
    int sig = mpipool__signal_pending();
    if (e->broken || sig || e->interrupted) {
        /* Nothing is sent: it ends at once with the engine's verdict. */
        j->intr = e->interrupted ? e->interrupted : sig;
        j->cancelled = 1;
        mpipool__job_settle(j, e->broken ? e->broken_msg : NULL, e->broken_code);
        pthread_mutex_unlock(&e->lock);
        return MPIPOOL_OK;
    }
    if (e->tail) e->tail->next_job = j;
    else e->head = j;
    e->tail = j;
    int rc = MPIPOOL_OK;
    if (j->async && pool->threaded && !e->thread_started) {
        if (pthread_create(&e->thread, NULL, progress_thread, e) == 0)
            e->thread_started = 1;
        /* else: progress happens in mpipool_wait/ready, as without threads */
    }
    if (e->thread_started) {
        pthread_cond_signal(&e->wake);
    } else {
        /* Start the job now, so the workers are busy before anyone waits
         * (unless a pass is under way: the job is queued for it). */
        pass(e);
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

int mpipool__engine_wait(mpipool_job *j, double timeout) {
    mpipool__engine *e = j->pool->eng;
    if (mpipool__job_finished(j)) return j->rc;
    if (e == NULL) return MPIPOOL_EINVAL;
    pthread_mutex_lock(&e->lock);
    if (!(e->thread_started && timeout == 0)) {
        /* Whoever waits moves the jobs itself (with timeout 0 and a progress
         * thread: just look), and the progress thread stands aside
         * meanwhile: handing every message over between two threads would
         * cost a wake-up each time. */
        e->driver++;
        drive(e, j, timeout, 0);
        e->driver--;
        if (e->thread_started) pthread_cond_signal(&e->wake);
    }
    int rc = mpipool__job_finished(j) ? j->rc : MPIPOOL_ETIMEDOUT;
    pthread_mutex_unlock(&e->lock);
    return rc;
}

void mpipool__engine_cancel(mpipool_job *j) {
    mpipool__engine *e = j->pool->eng;
    if (e == NULL) {
        j->cancelled = 1;
        return;
    }
    pthread_mutex_lock(&e->lock);
    j->cancelled = 1;
    if (e->thread_started) pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
}

int mpipool__engine_finished(mpipool_job *j) {
    mpipool__engine *e = j->pool->eng;
    if (e == NULL || mpipool__job_finished(j)) return mpipool__job_finished(j);
    pthread_mutex_lock(&e->lock);
    if (!e->thread_started && !mpipool__job_finished(j)) pass(e);
    int f = mpipool__job_finished(j);
    pthread_mutex_unlock(&e->lock);
    return f;
}

/* Terminate's grace ran out with chunks still on workers (a task that
 * never returns): name the oldest, end every job, and leave the engine's
 * requests and buffers alone (MPI may still write into them).  With e->lock. */
static void abandon(mpipool__engine *e, double grace, char *msg, size_t msgsz) {
    /* A pass out in a source or sink (a pull imap's, on the progress
     * thread) is still the engine's writer: let it end first. */
    while (e->pass) {
        pthread_mutex_unlock(&e->lock);
        mpipool__yield();
        pthread_mutex_lock(&e->lock);
    }
    const slot *old = NULL;
    for (int i = 0; i < e->nslots; i++)
        if (e->slots[i].worker && (old == NULL || e->slots[i].seq < old->seq)) old = &e->slots[i];
    if (old)
        snprintf(msg, msgsz, "task '%s' on items %llu..%llu at rank %d did not return within %.0f s", 
                 mpipool__registry_name(old->job->fn_index), (unsigned long long)old->first,
                 (unsigned long long)(old->first + old->count - 1), old->worker, grace);
    snprintf(e->broken_msg, sizeof e->broken_msg, "terminated while %s", msg);
    e->broken = 1;
    while (e->head) finish(e, e->head);
}

int mpipool__engine_destroy(mpipool *pool, int cancel, char *msg, size_t msgsz) {
    mpipool__engine *e = pool->eng;
    if (e == NULL) return MPIPOOL_OK;
    pthread_mutex_lock(&e->lock);
    /* A pull imap not read to its end would wait for ever for its reader:
     * it ends now too (imap_pull.c reports MPIPOOL_ECANCELED). */
    for (mpipool_job *j = e->head; j; j = j->next_job)
        if (cancel || j->pull) j->cancelled = 1;
    pthread_mutex_unlock(&e->lock);
    /* Drain: every job finishes (cancelled ones as soon as their chunks
     * on the workers are back) — within the grace when terminating. */
    double t0 = MPI_Wtime(), grace = MPIPOOL__TERMINATE_GRACE;
    for (;;) {
        pthread_mutex_lock(&e->lock);
        mpipool_job *j = e->head;
        pthread_mutex_unlock(&e->lock);
        if (j == NULL) break;
        if (!cancel) {
            mpipool__engine_wait(j, -1.0); /* close: as long as it takes */
            continue;
        }
        double left = grace - (MPI_Wtime() - t0);
        if (left <= 0 || mpipool__engine_wait(j, left) == MPIPOOL_ETIMEDOUT) {
            pthread_mutex_lock(&e->lock);
            abandon(e, grace, msg, msgsz);
            e->stop = 1;
            pthread_cond_signal(&e->wake);
            pthread_mutex_unlock(&e->lock);
            if (e->thread_started) pthread_join(e->thread, NULL);
            pool->eng = NULL; /* leaked on purpose: requests still posted into it */
            return MPIPOOL_ETIMEDOUT;
        }
    }
    pthread_mutex_lock(&e->lock);
    e->stop = 1;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    if (e->thread_started) pthread_join(e->thread, NULL);
    mpipool__dispatch_unwatch(e);
    mpipool__reclaim_settle(e);
    if (e->ndead > 0) {
        pool->dead = e->dead; /* close must not send STOP to a dead rank */
        e->dead = NULL;
    }
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    pthread_cond_destroy(&e->done);
    engine_free(e);
    pool->eng = NULL;
    return MPIPOOL_OK;
}

/* ---- pull imap (imap_pull.c) --------------------------------------------- */

int mpipool__engine_pull(mpipool_job *j, size_t consumed, double timeout) {
    mpipool__engine *e = j->pool->eng;
    if (e == NULL) return mpipool__job_finished(j) ? j->rc : MPIPOOL_EINVAL;
    pthread_mutex_lock(&e->lock);
    j->emitted += consumed; /* the window moves on: dispatch may take more */
    if (!(e->thread_started && timeout == 0)) {
        e->driver++;
        drive(e, j, timeout, 1);
        e->driver--;
    }
    if (e->thread_started) pthread_cond_signal(&e->wake);
    int rc = mpipool__job_finished(j) ? j->rc : MPIPOOL_ETIMEDOUT;
    pthread_mutex_unlock(&e->lock);
    return rc;
}
