/*
 * dispatch.h — the master engine's state (jobs queued, chunks on workers)
 * and the calls between its files: engine.c (queue, lock, progress thread,
 * waiting), dispatch.c (dynamic chunks), collect.c (their answers),
 * static.c (scatter/gather) and jobs.c (a job's bookkeeping).  Private.
 *
 * Rule: every field below is written only by whoever holds `lock` (the
 * progress thread, or the caller driving progress in mpipool_wait), and
 * only engine.c takes it; the slots, the jobs' progress and the engine's
 * verdict only inside a pass (`pass`), whose thread lets go of `lock`,
 * never of the pass, while an imap's source or sink runs (usercall.c).
 */
#ifndef MPIPOOL_DISPATCH_H
#define MPIPOOL_DISPATCH_H

#include <pthread.h>
#include <stdio.h>
#include "engine.h"
#include "wire.h"

/* A plain worker's chunk of a map (fixed-size items, no chunk_size) holds
 * at most this many bytes of items, and of results: big enough that the
 * per-message cost vanishes, small enough that a chunk and its results stay
 * in the worker's cache between the receive, the task and the send, and
 * that sending one chunk overlaps computing another.  Measured with
 * bench/mpipool_bigitems (2 workers, 256 MiB each way, MiB/s; before: the
 * 16 MiB cap of jobs.h): 1 MiB items 5.6-6.1k -> 7.2-7.5k, 64 KiB items
 * 5.6-6.4k -> 8.1-8.6k, 16 KiB 5.4-5.7k -> 7.4-8.3k; 10^8 squares, default
 * per-item task 0.138-0.147 s -> 0.128-0.132 s.  64 KiB, 128 KiB and 512
 * KiB each did worse than 256 KiB on the 16 KiB items or the squares. */
#define PLAIN_CHUNK_BYTES ((size_t)256 << 10)
/* Up to this many payload bytes a chunk is copied through the slot's own
 * buffers: building, committing and freeing a derived datatype costs more
 * than copying a few KiB.  Larger chunks move with no copy. */
#define SMALL_CHUNK_BYTES ((size_t)4096)
/* Aim for chunks that take at least this long once task times are known,
 * so that message cost stays a small fraction of the work. */
#define MIN_CHUNK_SECONDS 200e-6
/* ... and at most this long: past it a chunk buys no less message cost,
 * only a longer tail when one worker is left with it at the end (heavy-
 * tailed work).  Guided shrinking still applies below it. */
#define MAX_CHUNK_SECONDS 20e-3
/* ... but a group chunk of items of MPIPOOL__HEAVY_ITEM_SECONDS or more
 * holds at most this long a rank: a group runs its chunks one after
 * another, so an item waits for the chunks of its group sent before it,
 * and with 20 ms a rank the map's first two rounds held all of it (T =
 * 50 ms): an item a few percent into the map started after a group's
 * whole first chunk (SimGrid, 1024 x 1 ms Pareto, draw 18: 17 ms, where
 * the in-order list schedule starts it at 4 ms). */
#define GROUP_LONG_CHUNK_SECONDS 5e-3
/* ... and, below that, at most this many times the least (see next_chunk):
 * the longer a chunk, the longer a long item in it may wait to start. */
#define CHUNK_TAIL_FACTOR 2.0
/* Slow start (plan.c): a target's chunks of a map grow at most twofold from
 * one to the next, except up to this many bytes of items and results.  At
 * the start of a map every target's first chunks cross the master's link
 * together, sharing it, so none starts computing before all have arrived. */
#ifndef SLOW_START_BYTES
#define SLOW_START_BYTES ((size_t)16384)
#endif
/* What one chunk costs the master (or a group leader) in CPU time: about
 * 1.4 us measured here for a send, a receive and the bookkeeping (bench/,
 * "one item per message").  With F ranks to serve, chunks shorter than
 * 2 * F * this would keep it more than half busy, and past that it could
 * not keep up: the minimum chunk time grows with the fan-out.  (A flat
 * map's last chunks: F * this, dispatch.c's end_chunk.) */
#define CHUNK_CPU_SECONDS 2e-6
/* Messages above this many bytes move in many shared-memory fragments (or
 * network segments), and only while both ends are inside MPI calls: while
 * one is in flight the master keeps polling instead of sleeping. */
#define BIG_MESSAGE_BYTES ((size_t)64 << 10)
/* The master's link, shared by every group: a group chunk is at most one
 * work message (MPIPOOL__WORK_MSG_MAX, items or results), and at most this
 * many group chunks beyond a small one are on their way at once (sent
 * synchronously: until the leader has it).  Sent all at once, they share
 * the link and all arrive together at the end, every group idle until
 * then, then all compute while the link is idle, in lockstep.  SimGrid,
 * 1024 ranks on 2.5 Gbps links (the master's link bounds 10 us tasks as
 * at 4096 ranks on 10 Gbps), 10 us uniform: 0.431 before; 2, 3, 4 and 8
 * on their way: 0.550, 0.581, 0.596, 0.556.  One far later than chunks
 * take to arrive stops counting (mpipool__plan_transit_late): its leader
 * is inside an item of its own, and an MPI that moves or acknowledges the
 * message only while the receiver is inside an MPI call completes the
 * send after that item; the other groups must not wait for it.  (In SimGrid
 * it changed no figure: 4096 x 1 ms Pareto and the 1024-rank model above
 * gave the same to the last digit with and without it.)  Only while the
 * workers could keep the link busy (mpipool__plan_link_busy): else the
 * chunks go at once, as any other. */
#define TRANSIT_MAX 4


typedef struct {
    int worker;               /* rank; 0 = slot free              */
    int completed;            /* result in, not yet collected     */
    uint64_t seq;             /* send order                       */
    mpipool_job *job;
    uint64_t first, count;
    MPI_Request sreq, rreq;
    mpipool__work_hdr whdr;   /* must live until sreq completes   */
    mpipool__result_hdr rhdr; /* receive target                   */
    int var_out;              /* results come as a probed VRESULT */
    char *rmsg;               /* ... received here                */
    size_t rlen;
    MPI_Request *pieces;      /* payload pieces: sends, then receives */
    int nsend_pieces, nrecv_pieces;
    char *sbuf;               /* small and variable-size chunks are copied here */
    size_t scap;
    char *rbuf;               /* small fixed-size results land here first */
    size_t rcap;
    MPI_Request rpers;        /* ... through this persistent receive (all of
                                 rbuf, from the slot's worker), or NULL    */
    const char *rpers_buf;    /* the rbuf, rcap and source it was made for */
    int rpers_src;
    size_t rpers_cap;
    int rsmall;
    int sbig, rbig;           /* payloads that need the master's progress */
    int transit;              /* a group chunk sent synchronously (sreq is
                                 an MPI_Issend), counted in e->transit    */
    int units;                /* workers running it: a group's members, or 1 */
    double t_sent;            /* MPI_Wtime when the chunk was sent        */
    int deaths;               /* worker deaths its items surely caused (redo.c) */
    char *why;                /* ... and which ("rank 3, SIGSEGV"), or NULL */
} slot;

struct mpipool__engine {
    mpipool *pool;
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* to the thread: a job arrived, or stop */
    pthread_cond_t done;      /* to waiters: some job finished         */
    pthread_t thread;
    int thread_started, stop;
    int driver;               /* a caller is waiting and moving things itself:
                                 the progress thread stands aside             */
    int pass;                 /* a thread is in a pass (engine.c): only it
                                 writes the state below, also while it is out
                                 in an imap's source or sink without `lock`
                                 (usercall.c); others wait or just look      */
    pthread_t pass_owner;     /* ... that thread                           */
    double now;               /* MPI_Wtime at the start of the current pass
                                 (engine.c); 0 after anything in it that may
                                 take long (a user's source or sink, a static
                                 job, printing captured output): read through
                                 mpipool__engine_now, the clock is read about
                                 once a pass (~30 ns a read here).  For the
                                 stats' collect times and the wait between
                                 passes; a chunk's t_sent reads its own    */
    int workers, nslots, busy;
    int per;                  /* slots per rank (plan.c): rank w's are
                                 slots[(w - 1) * per ...], nslots in all   */
    int var_busy;             /* chunks whose results come as VRESULTs */
    uint64_t seq;             /* chunks sent                           */
    uint64_t nanswered;       /* chunks collected (collect.c)          */
    slot *slots;
    int *inflight;            /* per rank                              */
    int *span;                /* per rank w: its chunks sit in the slots
                                 of ranks w .. w + span[w] - 1 (a group
                                 leader borrows its members' slots while a
                                 chunk of its is stuck; dispatch.c)       */
    double *answered;         /* per rank: the pass clock when its last chunk
                                 was collected (collect.c)                */
    uint64_t *last_job;       /* per rank: the job of the last chunk sent it, */
    size_t *last_count;       /* ... and its items (slow start, plan.c)     */
    size_t *job_items;        /* ... and all the items of that job sent it  */
    uint64_t *even_job;       /* per leader: the job it last said was even  */
    MPI_Request *rreqs;       /* the slots' receives, then ENGINE_EXTRA_REQS */
    int *idx;
    MPI_Status *statuses;     /* nslots + 1, for the Testsome on rreqs     */
    mpipool_job *head, *tail; /* jobs not yet finished, oldest first   */
    int broken;               /* an MPI error: every job fails with it */
    int broken_code;          /* its code: 0 = MPIPOOL_EMPI; a worker's own */
    char broken_msg[MPIPOOL__ERR_MAX];
    int interrupted;          /* a signal: no more work, jobs end with EINTR */
    MPI_Request abort_req;    /* TAG_ABORT from any worker, posted while chunks are out */
    char abort_buf[4 + MPIPOOL__ERR_MAX];
    MPI_Request room_req;     /* TAG_ROOM from any leader, posted with a
                                 group chunk (dispatch.c)                 */
    int room_buf;
    slot *transit[TRANSIT_MAX]; /* group chunks on their way (dispatch.c) */
    int ntransit;
    double transit_mean;      /* ... seconds one took to arrive, lately  */
    char *room;               /* per rank: a TAG_ROOM came since the last
                                 chunk sent it (collect.c sets, dispatch.c
                                 clears)                                  */
    /* A worker's death (recover.c writes these; dispatch.c reads them). */
    double recover;           /* seconds of silence = dead; 0: no recovery   */
    double *heard;            /* per rank: MPI_Wtime of its last sign of life */
    double last_look;         /* when the master last looked (it may be away) */
    uint64_t *beat_job, *beat_item; /* per rank: what its last heartbeat said */
    char *dead;               /* per rank: 1 once lost; never sent work again */
    int ndead;
    MPI_Request beat_req, died_req;
    mpipool__beat_msg beat_buf;
    mpipool__died_msg died_buf;
    /* Reclamation (reclaim.c writes these, except nsent: dispatch.c's). */
    uint64_t *nsent;          /* per rank: CHUNK and GROUP messages sent it */
    uint64_t *asked;          /* per rank: nsent when last asked to give back */
    MPI_Request *rc_req;      /* per rank: its TAG_RECLAIM on the way        */
    uint64_t *rc_buf;
    char *gave;               /* per rank: a leader's TAG_GAVE is awaited: it is
                                 sent nothing until it came (wire.h)        */
    int ngave;                /* ... for this many ranks                     */
    double rc_look;           /* MPI_Wtime before which not to look again    */
};
/* Rank w's own slots (e->per of them). */
static inline slot *mpipool__rank_slots(const mpipool__engine *e, int w) {
    return &e->slots[(size_t)(w - 1) * (size_t)e->per];
}

/* Rank w's chunk sent first among those it has out (it answers them in
 * that order), or NULL. */
static inline slot *mpipool__oldest_slot(const mpipool__engine *e, int w) {
    slot *old = NULL, *s = mpipool__rank_slots(e, w), *end = s + e->per * e->span[w];
    for (; s < end; s++)
        if (s->worker == w && (old == NULL || s->seq < old->seq)) old = s;
    return old;
}

/* Requests in the Testsome after the slots' receives: abort, heartbeat,
 * died, room. */
#define ENGINE_EXTRA_REQS 4


/* An MPI failure (or a worker leaving) breaks the engine: the protocol
 * state is unknown, so every job still running fails with the same
 * message.  An inline function, so that every engine file may break it. */
static inline void mpipool__engine_break(mpipool__engine *e, int mpirc, const char *call) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (mpirc != MPI_SUCCESS) MPI_Error_string(mpirc, text, &len);
    if (!e->broken)
        snprintf(e->broken_msg, sizeof e->broken_msg, "%s failed on the master: %s", call, text);
    e->broken = 1;
}

/* The pass's clock (e->now), read again if something in the pass may have
 * taken long since.  Only inside a pass. */
static inline double mpipool__engine_now(mpipool__engine *e) {
    if (e->now == 0) e->now = MPI_Wtime();
    return e->now;
}

#define ENGINE_MPI(e, call)                                    \
    do {                                                       \
        int engine_mpirc_ = (call);                            \
        if (engine_mpirc_ != MPI_SUCCESS) {                    \
            mpipool__engine_break((e), engine_mpirc_, #call);  \
            return -1;                                         \
        }                                                      \
    } while (0)

/* collect.c: collect what workers sent back (1 if anything came);
 * dispatch.c: hand out chunks (1 if any went out, -1 if the engine broke).
 * With e->lock. */
int mpipool__dispatch_collect(mpipool__engine *e);
int mpipool__dispatch_fill(mpipool__engine *e);
/* wake.c: 1 if a large message is probably moving (sleeping would stall it). */
int mpipool__dispatch_moving(mpipool__engine *e);
/* MPI_Wtime when the next result should arrive; 0 if unknown.  `now`:
 * MPI_Wtime.  *most_us: the longest sleep (mpipool__wait_most_us). */
double mpipool__dispatch_next_due(const mpipool__engine *e, double now, unsigned *most_us);
/* collect.c: leader w gave back the GROUP chunks named by the `n` (job,
 * first, count) triples `t` (TAG_GAVE, wire.h): their items go back to
 * their jobs.  0, or -1 when the engine broke. */
int mpipool__dispatch_gave(mpipool__engine *e, int w, const uint64_t *t, size_t n);
/* collect.c: post / cancel the receive for TAG_ABORT. */
int mpipool__dispatch_watch(mpipool__engine *e);
void mpipool__dispatch_unwatch(mpipool__engine *e);

/* static.c: run a static job alone (no chunk may be out).  0, or -1 when
 * the engine broke. */
int mpipool__static_run(mpipool__engine *e, mpipool_job *j);

#endif
