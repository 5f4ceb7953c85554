/*
 * watchdog.c — a worker's second thread, started only when a chunk needs
 * it (the pool recovers from deaths, or the map has a task_timeout).  It
 *  - sends the master a heartbeat every few seconds while the pool
 *    recovers from deaths, so that a worker busy in a ten-minute task is
 *    not taken for dead (the master declares a worker dead only after a
 *    silence of several heartbeats);
 *  - tells the master which item crashed the process (crash.c hands it the
 *    item and signal through a pipe and waits) before the process dies;
 *  - ends its own process when a task overruns the map's task_timeout,
 *    after telling the master which item it was.  This SIGKILL is the
 *    library's one way to stop a task that never returns: a thread cannot
 *    be cancelled safely inside user code.  Where the launcher keeps the
 *    job alive (recovery), the map goes on without this worker.
 *
 * Invariant: MPI calls on this worker never overlap (MPI_THREAD_SERIALIZED
 * suffices): `mpi` is held by the main thread except while it runs tasks
 * or sleeps waiting for a message, and the watchdog takes it to send.
 * A worker without the thread pays one flag test per batch and per sleep.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "crash.h"
#include "watchdog.h"

/* Between two looks at the running task; finer for short time limits. */
#define WATCH_TICK 0.05
/* How long a worker that is about to end waits for the master's ack. */
#define ACK_WAIT 3.0

static struct {
    int started;
    pthread_t thread;
    pthread_mutex_t mpi;
    mpipool *pool;
    double beat;
    int pipe_r, pipe_w, ack_r, ack_w; /* crash records (sig 0: wake up); acks */
    atomic_int stop, busy;
    _Atomic uint64_t job, fn, seq, timeout_us;
} W = {.pipe_r = -1, .pipe_w = -1, .ack_r = -1, .ack_w = -1};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void beat(void) {
    uint64_t item = 0;
    mpipool__beat_msg m = {atomic_load(&W.job), 0, 0, 0};
    m.busy = atomic_load(&W.busy) && mpipool__crash_where(&item);
    m.item = item;
    pthread_mutex_lock(&W.mpi);
    MPI_Send(&m, (int)sizeof m, MPI_BYTE, 0, MPIPOOL__TAG_HEARTBEAT, W.pool->comm);
    pthread_mutex_unlock(&W.mpi);
}

/* Tell the master this process ends (kind, item), and wait a little for
 * its ack: it journals the item before answering. */
static void report(int kind, uint64_t item, int sig, double seconds) {
    mpipool__died_msg m = {atomic_load(&W.job), item, kind, sig, seconds};
    pthread_mutex_lock(&W.mpi);
    if (MPI_Send(&m, (int)sizeof m, MPI_BYTE, 0, MPIPOOL__TAG_DIED, W.pool->comm) == MPI_SUCCESS) {
        double t0 = now_s();
        for (;;) {
            int flag = 0;
            if (MPI_Iprobe(0, MPIPOOL__TAG_DIED_ACK, W.pool->comm, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
            if (flag) {
                MPI_Recv(NULL, 0, MPI_BYTE, 0, MPIPOOL__TAG_DIED_ACK, W.pool->comm, MPI_STATUS_IGNORE);
                break;
            }
            if (now_s() - t0 > ACK_WAIT) break;
            struct timespec ts = {0, 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    pthread_mutex_unlock(&W.mpi);
}

static void overran(uint64_t item, double seconds) {
    double limit = 1e-6 * (double)atomic_load(&W.timeout_us);
    report(MPIPOOL__DIED_TIMEOUT, item, 0, seconds);
    fprintf(stderr, "mpipool [rank %d]: task '%s' ran item %llu for %.1f s, longer than the map's task_timeout "
            "of %g s: ending this worker process\n", W.pool->rank,
            mpipool__registry_name((size_t)atomic_load(&W.fn)), (unsigned long long)item, seconds, limit);
    fflush(stderr);
    kill(getpid(), SIGKILL);
}

static void *watch_main(void *arg) {
    (void)arg;
    uint64_t seen_item = UINT64_MAX, seen_seq = 0;
    double seen_at = 0, next_beat = now_s() + W.beat;
    while (!atomic_load(&W.stop)) {
        double tick = WATCH_TICK, limit = 1e-6 * (double)atomic_load(&W.timeout_us);
        if (limit > 0 && limit / 10 < tick) tick = limit / 10 > 0.005 ? limit / 10 : 0.005;
        struct pollfd p = {W.pipe_r, POLLIN, 0};
        if (poll(&p, 1, (int)(tick * 1000)) > 0) {
            mpipool__crash_rec rec;
            if (read(W.pipe_r, &rec, sizeof rec) == (ssize_t)sizeof rec && rec.sig != 0) {
                report(MPIPOOL__DIED_CRASH, rec.item, rec.sig, 0);
                ssize_t w = write(W.ack_w, "k", 1); /* the crash handler goes on dying */
                (void)w;
            }
            continue;
        }
        double now = now_s();
        uint64_t item, seq = atomic_load(&W.seq);
        if (limit > 0 && atomic_load(&W.busy) && mpipool__crash_where(&item)) {
            if (item != seen_item || seq != seen_seq) {
                seen_item = item;
                seen_seq = seq;
                seen_at = now;
            } else if (now - seen_at >= limit) {
                overran(item, now - seen_at);
            }
        } else {
            seen_item = UINT64_MAX;
        }
        if (W.beat > 0 && now >= next_beat) {
            beat();
            next_beat = now + W.beat;
        }
    }
    return NULL;
}

static void close_fds(void) {
    int *fds[] = {&W.pipe_r, &W.pipe_w, &W.ack_r, &W.ack_w};
    for (size_t i = 0; i < 4; i++) {
        if (*fds[i] >= 0) close(*fds[i]);
        *fds[i] = -1;
    }
}

int mpipool__watch_need(mpipool *pool, const mpipool__work_hdr *h, double beat_s) {
    if (W.started || (!h->watch && h->task_timeout <= 0 && beat_s <= 0)) return 0;
    if (!pool->threaded) return -1;
    int a[2], b[2];
    if (pipe(a) != 0) return -1;
    if (pipe(b) != 0) {
        close(a[0]);
        close(a[1]);
        return -1;
    }
    W.pipe_r = a[0];
    W.pipe_w = a[1];
    W.ack_r = b[0];
    W.ack_w = b[1];
    W.pool = pool;
    W.beat = beat_s;
    atomic_store(&W.stop, 0);
    pthread_mutex_init(&W.mpi, NULL);
    pthread_mutex_lock(&W.mpi); /* the main thread's, from now on */
    /* Signals for the process (SIGTERM, ...) go to the other threads. */
    sigset_t all, old;
    sigfillset(&all);
    const int sync_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof sync_sigs / sizeof sync_sigs[0]; i++) sigdelset(&all, sync_sigs[i]);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int made = pthread_create(&W.thread, NULL, watch_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (made != 0) {
        pthread_mutex_unlock(&W.mpi);
        pthread_mutex_destroy(&W.mpi);
        close_fds();
        return -1;
    }
    mpipool__crash_notify(W.pipe_w, W.ack_r);
    W.started = 1;
    return 0;
}

/* A pacing function called while a watched batch runs: MPI is the
 * watchdog's then, so take it back around the call. */
static uint64_t locked_pace(void *arg, uint64_t done) {
    mpipool__pace *inner = arg;
    pthread_mutex_lock(&W.mpi);
    uint64_t k = inner->fn(inner->arg, done);
    pthread_mutex_unlock(&W.mpi);
    return k;
}

int64_t mpipool__watch_batch(const mpipool__batch *b, mpipool__fails *f, uint64_t job, double timeout) {
    return mpipool__watch_batch_paced(b, f, job, timeout, NULL);
}

int64_t mpipool__watch_batch_paced(const mpipool__batch *b, mpipool__fails *f, uint64_t job, double timeout,
                                   mpipool__pace *pace) {
    if (!W.started) return mpipool__run_batch_paced(b, f, pace);
    size_t fn = 0;
    (void)mpipool__registry_find_fn(b->fn, &fn);
    /* Relaxed: the watchdog only samples these (a stale value delays a
     * heartbeat's detail or a timeout by one tick); the mutex orders the rest. */
    atomic_store_explicit(&W.job, job, memory_order_relaxed);
    atomic_store_explicit(&W.fn, (uint64_t)fn, memory_order_relaxed);
    atomic_store_explicit(&W.timeout_us, timeout > 0 ? (uint64_t)(timeout * 1e6) : 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&W.seq, 1, memory_order_relaxed);
    atomic_store_explicit(&W.busy, 1, memory_order_release);
    mpipool__pace locked = {locked_pace, pace, 0};
    pthread_mutex_unlock(&W.mpi);
    int64_t n = mpipool__run_batch_paced(b, f, pace ? &locked : NULL);
    pthread_mutex_lock(&W.mpi);
    atomic_store_explicit(&W.busy, 0, memory_order_relaxed);
    if (pace) pace->ran = locked.ran;
    return n;
}

static int sleeping;

void mpipool__watch_sleep(const mpipool__backoff *bo) {
    /* Only around real sleeps: the first ~250 us of a wait spin, and a
     * lock round trip per spin would cost every chunk (measured: 4.7 % of
     * the one-item round trip). */
    if (W.started && bo->sleep_us > 0) {
        sleeping = 1;
        pthread_mutex_unlock(&W.mpi);
    }
}

void mpipool__watch_wake(void) {
    if (sleeping) {
        sleeping = 0;
        pthread_mutex_lock(&W.mpi);
    }
}

void mpipool__watch_stop(void) {
    if (!W.started) return;
    atomic_store(&W.stop, 1);
    mpipool__crash_rec wake = {0, 0, 0};
    ssize_t w = write(W.pipe_w, &wake, sizeof wake);
    (void)w;
    pthread_mutex_unlock(&W.mpi);
    pthread_join(W.thread, NULL);
    mpipool__crash_notify(-1, -1);
    pthread_mutex_destroy(&W.mpi);
    close_fds();
    W.started = 0;
}
