/*
 * internal.h — the pool object and the helpers shared by the MPI parts of the
 * library (pool.c, master.c, worker.c, comm.c).  Never installed.
 *
 * Invariant: every MPI call on the pool's communicator goes through
 * MPIPOOL__MPI(), which turns a failure into MPIPOOL_EMPI with the
 * MPI_Error_string text in the pool's last error; the communicator has
 * MPI_ERRORS_RETURN so failures come back to us instead of aborting the job.
 */
#ifndef MPIPOOL_INTERNAL_H
#define MPIPOOL_INTERNAL_H

#include <stdint.h>
#include <mpi.h>
#include "mpipool.h"
#include "pure.h"
#include "exec.h"
#include "handle.h"

typedef struct mpipool__engine mpipool__engine;

/* Matched probes (MPI-3).  SimGrid's SMPI (bench/scale) has none; there a
 * probe followed by a receive from the probed source and tag takes the same
 * message, because only one thread at a time makes calls on the pool's
 * private communicator (the engine's lock on the master; workers have one
 * thread) and MPI never lets messages from one source with one tag overtake
 * each other. */
#ifdef SMPI_H
#include <string.h>
#define MPIPOOL__SIMULATED 1
typedef struct {
    int source, tag;
    MPI_Comm comm;
    const char *stash;   /* non-NULL: already received there (mpipool__mwait) */
    int len;             /* its bytes */
} mpipool__msg;
static inline int mpipool__improbe(int src, int tag, MPI_Comm comm, int *flag, mpipool__msg *m, MPI_Status *st) {
    int rc = MPI_Iprobe(src, tag, comm, flag, st);
    if (rc == MPI_SUCCESS && *flag) *m = (mpipool__msg){st->MPI_SOURCE, st->MPI_TAG, comm, NULL, 0};
    return rc;
}
static inline int mpipool__mprobe(int src, int tag, MPI_Comm comm, mpipool__msg *m, MPI_Status *st) {
    int rc = MPI_Probe(src, tag, comm, st);
    if (rc == MPI_SUCCESS) *m = (mpipool__msg){st->MPI_SOURCE, st->MPI_TAG, comm, NULL, 0};
    return rc;
}
/* SMPI's MPI_Probe polls: one simulated iprobe after another, each a
 * simulator event, so thousands of waiting ranks cost most of a run's
 * wall time.  An idle worker waits in a receive instead, into `stash`
 * (cap bytes: room for the largest message, a piece); the mpipool__mrecv
 * that follows takes the message from there.  `st` gets its source, tag
 * and size, as from a probe. */
static inline int mpipool__mwait(int src, int tag, MPI_Comm comm, char *stash, int cap, mpipool__msg *m,
                                 MPI_Status *st) {
    int len = 0, rc = MPI_Recv(stash, cap, MPI_BYTE, src, tag, comm, st);
    if (rc == MPI_SUCCESS) rc = MPI_Get_count(st, MPI_BYTE, &len);
    if (rc == MPI_SUCCESS) *m = (mpipool__msg){st->MPI_SOURCE, st->MPI_TAG, comm, stash, len};
    return rc;
}
static inline int mpipool__mrecv(void *buf, int count, MPI_Datatype type, mpipool__msg *m, MPI_Status *st) {
    if (m->stash == NULL) return MPI_Recv(buf, count, type, m->source, m->tag, m->comm, st);
    int size = 0;
    MPI_Type_size(type, &size);
    size_t room = (size_t)count * (size_t)size, len = (size_t)m->len, n = len < room ? len : room;
    if (n > 0 && buf != m->stash) memmove(buf, m->stash, n);
    if (st != MPI_STATUS_IGNORE) {
        st->MPI_SOURCE = m->source;
        st->MPI_TAG = m->tag;
    }
    m->stash = NULL;
    return len > room ? MPI_ERR_TRUNCATE : MPI_SUCCESS;
}
#else
#define MPIPOOL__SIMULATED 0
typedef MPI_Message mpipool__msg;
#define mpipool__improbe MPI_Improbe
#define mpipool__mprobe MPI_Mprobe
#define mpipool__mrecv MPI_Mrecv
#endif

#define MPIPOOL__HOST_MAX 64

struct mpipool {
    MPI_Comm comm;       /* our private duplicate, named "mpipool"      */
    int rank, size;      /* in comm                                      */
    int owns_mpi;        /* mpipool_open called MPI_Init: finalise at close */
    int threaded;        /* MPI_THREAD_SERIALIZED or more: the master may run a
                            progress thread, a worker its watchdog (watchdog.c) */
    double recover;      /* seconds of silence after which the master takes a
                            worker for dead and runs its items elsewhere
                            (recover.c); 0: no in-job recovery.  Agreed at open. */
    char *dead;          /* master, after the engine: 1 per rank that died
                            (engine_destroy hands it over), or NULL       */
    char *hosts;         /* master, with recovery: each rank's host name,
                            MPIPOOL__HOST_MAX bytes per rank, for messages */
    size_t piece;        /* largest message, agreed at open (wire.h)    */
    int hier;            /* master: MPIPOOL_HIERARCHY (MPIPOOL__HIER_*)  */
    int pace;            /* master: MPIPOOL_PACE (MPIPOOL__HIER_* values:
                            auto, on, off; dispatch.c, TRANSIT_MAX)      */
    size_t group;        /* master: ranks per group when a map uses the hierarchy */
    uint64_t next_job;   /* master: id of the next job                   */
    mpipool__engine *eng; /* master: jobs and chunks in flight (engine.c) */
    struct mpipool__obs *obs; /* master: stats, trace, progress (observe.h) */
    /* set-up (shared.c): on ranks that run tasks */
    mpipool_hooks hooks;
    int hooks_set;
    void *state;          /* what init returned                          */
    int init_rc;          /* non-zero: the last init (a renewal) failed    */
    size_t tasks_since_init;
    struct mpipool__shared *shared;
    char err[MPIPOOL__ERR_MAX];
    /* master: callbacks (callback.c) and one-rank pull imaps (imap_pull.c) */
    struct mpipool__cbq *cbq;
    struct mpipool_job *pulls;
};

/* Run fini (if hooks are set) and free the shared data.  (shared.c) */
void mpipool__setup_free(mpipool *pool);

/* The master's engine (engine.c). */
int mpipool__engine_create(mpipool *pool);
/* Finish every job (cancelling them first if `cancel`), stop the progress
 * thread, free the engine. */
/* With `cancel`, chunks still out after MPIPOOL__TERMINATE_GRACE seconds
 * (a task that never returns) make it give up: every job ends, `msg` names
 * the task, items and rank, and it returns MPIPOOL_ETIMEDOUT with the
 * engine abandoned (its workers cannot be stopped); else MPIPOOL_OK. */
int mpipool__engine_destroy(mpipool *pool, int cancel, char *msg, size_t msgsz);
/* How long mpipool_terminate waits for the chunks already on workers. */
#define MPIPOOL__TERMINATE_GRACE 10.0

/* Record an error on the pool (or, for pool == NULL, as the process's
 * last-open error) and return `code`. */
int mpipool__error(mpipool *pool, int code, const char *fmt, ...) MPIPOOL__PRINTF(3, 4);
/* Record a failed MPI call made by `func` and return MPIPOOL_EMPI. */
int mpipool__mpi_error(mpipool *pool, int mpirc, const char *func, const char *call);


/* Wait politely: spin briefly (answers usually come within microseconds),
 * then sleep with exponential backoff up to a millisecond, so an idle master
 * or worker does not burn a core that an oversubscribed worker needs; but
 * poll, without yielding, while an answer is due (waitplan.c). */
typedef struct {
    double start;
    unsigned sleep_us;
    mpipool__wait_state pace; /* waitplan.c's state; its backoff_us mirrors sleep_us (watchdog.c reads that) */
    double due;        /* > 0: MPI_Wtime when an answer is expected; sleeps
                          end by then (set by the master before each wait) */
} mpipool__backoff;
void mpipool__backoff_reset(mpipool__backoff *b);
void mpipool__backoff_wait(mpipool__backoff *b);
/* The same, with the clock (MPI_Wtime) the caller has just read. */
void mpipool__backoff_wait_at(mpipool__backoff *b, double now);
/* ... in two halves: the step (MPIPOOL__WAIT_POLL, _YIELD_STEP or _SLEEP
 * for *us microseconds), then carrying it out (a poll step does nothing:
 * the caller polls again at once). */
int mpipool__backoff_plan(mpipool__backoff *b, double now, unsigned *us);
void mpipool__backoff_act(int step, unsigned us);
/* Let other ranks on this core run while we poll for a message on its way
 * (sched_yield; in SimGrid, a 1 us simulated step: a yield takes no
 * simulated time, so polling would spin the simulator in place). */
void mpipool__yield(void);
/* For the master's and a leader's wake-up time: a result expected at t
 * (after `took` seconds of work) and still out at `now`, long after it, is
 * a bad estimate (a long item, a busy rank), no longer a time to wake at. */
static inline int mpipool__overdue(double now, double t, double took) {
    return now > t + (took > 1e-3 ? took : 1e-3);
}

/* The worker loop (worker.c): serve until the master's STOP.  MPIPOOL_OK,
 * MPIPOOL_EINTR (a signal ended the run), or the error that ended it (the
 * master has been told: TAG_ABORT). */
int mpipool__worker_run(mpipool *pool);

/* Close this rank's side: free the communicator, forget the pool, thaw the
 * registry, finalise MPI if we initialised it.  Frees `pool`. */
int mpipool__teardown(mpipool *pool);

/* Usage: int rc = MPIPOOL_OK; ... MPIPOOL__MPI(pool, MPI_Send(...)); ...
 * cleanup: ... return rc; */
#define MPIPOOL__MPI(pool, call)                                              \
    do {                                                                      \
        int mpipool__mpirc = (call);                                          \
        if (mpipool__mpirc != MPI_SUCCESS) {                                  \
            rc = mpipool__mpi_error((pool), mpipool__mpirc, __func__, #call); \
            goto cleanup;                                                     \
        }                                                                     \
    } while (0)

#endif
