/*
 * wire.h — the messages between master and workers, all on the pool's
 * private communicator.
 *
 * Protocol rules:
 *  - master -> worker: TAG_WORK (a chunk or a static share) or TAG_STOP.
 *    A worker handles its messages strictly in arrival order, so the master
 *    knows which result answers which chunk without looking.
 *  - worker -> master: TAG_RESULT = result_hdr + count * out_size bytes of
 *    results, one per chunk, in the order the chunks were sent.  If the
 *    header says nfail > 0, one TAG_FAIL message with the first failure's
 *    text (NUL terminated) follows it.
 *  - variable sizes: a size field of MPIPOOL__VAR in the work header means
 *    u64 sizes[count] follow the header, then the items back to back.  A
 *    chunk whose results are variable (out_size == MPIPOOL__VAR) is answered
 *    with one TAG_VRESULT = result_hdr + u64 sizes[count] + results back to
 *    back + fail_bytes of failure records; no TAG_FAIL follows it, because
 *    the master probes for VRESULTs instead of pre-posting receives.
 *  - pieces: no message is larger than the pool's piece size (agreed at
 *    open; 1 GiB by default, because MPI counts are C ints and Open MPI 4.1
 *    has no large-count calls).  A message whose header + payload would be
 *    larger goes as the header alone (with `pieces` = payload bytes) and
 *    then the payload in piece-sized messages on the matching PIECE tag,
 *    sent right after the header.  Both sides decide "pieced" by the same
 *    rule, header + payload > piece, so fixed-size result pieces can be
 *    received straight into place.  A TAG_WORK from the master is pieced
 *    past MPIPOOL__WORK_MSG_MAX too (the worker reads `pieces`).
 *  - TAG_FAIL carries failure records: u64 item index, u32 length, text.
 *  - static mode: after TAG_WORK(kind STATIC) every rank enters the same
 *    MPI_Scatterv/MPI_Gatherv pair; each worker then sends TAG_STATUS
 *    (a result_hdr with no payload), and TAG_FAIL if nfail > 0.
 *  - groups (hierarchical dispatch, group.c): the master may send a leader
 *    rank TAG_WORK(kind GROUP), a fixed-size chunk for the members named in
 *    the header (ranks group_first .. group_first + group_count - 1).  The
 *    leader cuts it into ordinary CHUNKs for its members, gathers their
 *    results (and TAG_FAILs) and answers the master exactly as a worker
 *    answers a CHUNK: one TAG_RESULT (+ TAG_FAIL) per GROUP chunk, in the
 *    order they came, with fail_rank naming the member that ran the first
 *    failed item.  A worker therefore takes work from the master or from its
 *    leader and answers whoever sent it; a leader takes work only from the
 *    master, because its members' TAG_FAILs also come to it.
 *    A GROUP chunk is at most one work message (MPIPOOL__WORK_MSG_MAX),
 *    items or results (a map with a chunk_size goes flat).  While the
 *    master paces group chunks (mpipool__plan_link_busy, MPIPOOL_PACE), it
 *    sends one beyond a small one with MPI_Issend (nothing changes for the
 *    leader), so that it sees the chunk arrive (dispatch.c, TRANSIT_MAX).
 *    A leader whose members ran dry behind a share of its oldest chunk
 *    that has run past the slack (mpipool__plan_room) sends TAG_ROOM
 *    (i32 1, to rank 0), at most once per GROUP chunk it receives; the master may then send it
 *    one GROUP chunk more than it would otherwise (dispatch.c,
 *    leader_depth).  It has no answer; one that comes after the map is
 *    simply received (the master posts a receive for it with a GROUP
 *    chunk, and again with the next after one came) or left.
 *  - MPIPOOL_MAP_ORDERED_OUTPUT (work_hdr.capture): the worker captures
 *    each task's stdout/stderr and, if there was any, sends it as one
 *    TAG_OUTPUT (records: u64 index, u32 length, stream byte, bytes) right
 *    after the chunk's result (and TAG_FAIL); result_hdr.out_bytes says so.
 *    Such maps are dynamic and flat.
 *  - reclamation (reclaim.c): TAG_RECLAIM (master -> worker, u64 n) asks
 *    for the items not yet started of every CHUNK (with work_hdr.reclaim
 *    set: automatic chunk sizes) among the first n the master sent that
 *    worker (it counts the CHUNK and GROUP messages it
 *    sent; the worker counts those it received).  A worker that sees it
 *    while running such a chunk (it looks between runs of items, only in
 *    flat chunks whose results are not pieced, and not before a one-item
 *    chunk's item) stops at the next item
 *    (unless only the chunk's last item is left, which it runs, once per
 *    TAG_RECLAIM: pace.c) and answers as usual with
 *    result_hdr.count = the items it ran, the first ones of the chunk (0
 *    for a chunk it did not start).  The master gives the rest back to the
 *    job (redo.c).  A
 *    TAG_RECLAIM that finds nothing to stop is simply received and
 *    dropped: it has no answer of its own.  A group leader asks its
 *    members the same way (group_back.c; leader -> member, u64 n: among
 *    the first n CHUNKs it sent that member, which counts the CHUNKs from
 *    its leader apart from the master's); it hands the rest out again in
 *    the group and reports how many in its answer (result_hdr.given_back).
 *  - a leader's queue (reclaim.c, group_back.c): TAG_TAKE_BACK (master ->
 *    leader, u64 n) asks for the GROUP chunks among the first n the master
 *    sent it that the leader has not started (none of their items handed
 *    out or run).  Once the leader has received all n, it answers with one
 *    TAG_GAVE: u64 (job, first, count) for each chunk it gives back, the
 *    newest of those it holds (a run at the end of its queue; possibly
 *    none).  It never answers those chunks; the master cancels their
 *    result receives (which nothing can match: every later answer of the
 *    leader is for an older chunk, since the master sends it nothing
 *    between the TAG_TAKE_BACK and the TAG_GAVE) and gives their items
 *    back to the job (redo.c).  Every TAG_TAKE_BACK gets its TAG_GAVE.
 *  - TAG_STOP carries nothing: a worker's mpipool_serve returns
 *    MPIPOOL_EINTR only for a signal of its own (why: mpipool_catch_signals
 *    in mpipool.h, and tests/mpi/test_interrupt_serve.c).
 *  - TAG_ABORT (worker -> master, i32 code + text): the worker hit a local
 *    error and leaves the pool; the master fails every job with the text
 *    (it keeps one receive for it posted while chunks are out).
 *  - in-job recovery (recover.c, watchdog.c): a worker's watchdog thread
 *    sends TAG_HEARTBEAT (beat_msg) every few seconds while the master
 *    recovers from deaths, so that silence means death, not a long task;
 *    and TAG_DIED (died_msg) just before its process ends because a task
 *    crashed or overran the map's task_timeout.  The master answers a
 *    TAG_DIED with an empty TAG_DIED_ACK once it has noted the item (and
 *    journalled it), and never sends that worker anything again.
 *    Both go to rank 0 whoever the worker's parent is.
 * Headers are fixed-size structs of 64-bit fields: every rank runs the same
 * build of the library on the same architecture.
 */
#ifndef MPIPOOL_WIRE_H
#define MPIPOOL_WIRE_H

#include <stdint.h>

enum mpipool__tag {
    MPIPOOL__TAG_WORK = 0x6d70, /* 'mp' */
    MPIPOOL__TAG_STOP,
    MPIPOOL__TAG_RESULT,
    MPIPOOL__TAG_FAIL,
    MPIPOOL__TAG_STATUS,
    MPIPOOL__TAG_VRESULT,
    MPIPOOL__TAG_WPIECE,  /* pieces of a work message's payload        */
    MPIPOOL__TAG_RPIECE,  /* pieces of a fixed-size result's payload    */
    MPIPOOL__TAG_VPIECE,  /* pieces of a VRESULT after its header       */
    MPIPOOL__TAG_ABORT,   /* a worker leaving after a local error       */
    MPIPOOL__TAG_HEARTBEAT, /* a worker's watchdog: still alive         */
    MPIPOOL__TAG_DIED,    /* a worker's watchdog: this process ends now */
    MPIPOOL__TAG_DIED_ACK, /* the master noted the TAG_DIED             */
    MPIPOOL__TAG_OUTPUT,  /* a chunk's captured task output (capture.c)  */
    MPIPOOL__TAG_RECLAIM, /* give back the unstarted items (reclaim.c)   */
    MPIPOOL__TAG_ROOM,    /* a leader's group ran dry behind a long item */
    MPIPOOL__TAG_TAKE_BACK, /* give back the GROUP chunks not started (reclaim.c) */
    MPIPOOL__TAG_GAVE     /* ... the leader's answer: the ones it gave back */
};

/* The largest TAG_WORK message the master sends a worker in one message
 * (when that is less than a piece): each worker keeps a receive for the
 * master's next work message posted ahead, this large (worker.c), so a
 * chunk whose header + payload is larger goes pieced, as one larger than a
 * piece does: its header alone, then the payload in piece-sized TAG_WPIECE
 * messages.  Not in SimGrid, where workers post nothing ahead (the master
 * then pieces by the piece size alone: MPIPOOL__SIMULATED, dispatch.c). */
#define MPIPOOL__WORK_MSG_MAX ((size_t)64 << 10)

/* A size field on the wire that means "variable: sizes follow". */
#define MPIPOOL__VAR UINT64_MAX

enum mpipool__kind {
    MPIPOOL__KIND_CHUNK = 1,
    MPIPOOL__KIND_STATIC = 2,
    MPIPOOL__KIND_GROUP = 3
};

typedef struct {
    uint32_t kind;     /* enum mpipool__kind                          */
    uint32_t fn;       /* index in the sorted registry                */
    uint64_t job;      /* the master's job id                         */
    uint64_t first;    /* CHUNK: first item index; STATIC: unused     */
    uint64_t count;    /* CHUNK: items in this message; STATIC: n     */
    uint64_t in_size;
    uint64_t out_size;
    uint64_t pieces;   /* 0, or the payload's bytes, sent as TAG_WPIECE pieces */
    uint32_t group_first, group_count; /* GROUP: the leader's members     */
    double task_timeout; /* seconds a task may run (the map's option); 0 = no limit */
    uint32_t watch;      /* 1: run the watchdog (in-job recovery, or a journal): crashes reach the master */
    uint32_t capture;    /* 1: MPIPOOL_MAP_ORDERED_OUTPUT: send tasks' output back */
    uint32_t reclaim;    /* 1: the master may ask for its unstarted items (automatic
                            chunk sizes: a map's chunk_size keeps its chunks whole) */
    uint32_t unused_;
} mpipool__work_hdr;

/* TAG_HEARTBEAT: what the worker runs now (item meaningful if busy). */
typedef struct {
    uint64_t job, item;
    int32_t busy, unused_;
} mpipool__beat_msg;

enum mpipool__death { MPIPOOL__DIED_CRASH = 1, MPIPOOL__DIED_TIMEOUT = 2 };

/* TAG_DIED: why the worker's process ends, and on which item. */
typedef struct {
    uint64_t job, item;
    int32_t kind;     /* enum mpipool__death */
    int32_t sig;      /* CRASH: the signal */
    double seconds;   /* TIMEOUT: how long the task had run */
} mpipool__died_msg;

typedef struct {
    uint64_t job;
    uint64_t first;
    uint64_t count;      /* items run: the chunk's, or fewer if reclaimed */
    uint64_t nfail;      /* failed items in this chunk                 */
    uint64_t first_fail; /* index of the first of them                 */
    uint64_t fail_bytes; /* VRESULT: bytes of failure records at the end */
    uint64_t pieces;     /* 0, or the bytes after this header, in pieces */
    double busy;         /* seconds the worker spent running the tasks */
    int64_t fail_rank;   /* GROUP: the member that ran item first_fail; 0 = the sender */
    uint64_t out_bytes;  /* > 0: a TAG_OUTPUT of this many bytes follows (after any TAG_FAIL) */
    uint32_t given_back; /* GROUP: items its members gave back unstarted (run again in the group;
                            fewer than a group chunk's items, which fit one message) */
    uint32_t even;       /* GROUP: MPIPOOL__EVEN_* (the leader's view of its items' times) */
} mpipool__result_hdr;

/* What a leader's answer says of its items (result_hdr.even): even and
 * long, so it splits chunks evenly (group.c) and the master may send it
 * fair parts (dispatch.c); not (heavy tails, uneven, or short); or not
 * known yet (too few timed). */
enum { MPIPOOL__EVEN_UNKNOWN = 0, MPIPOOL__EVEN_YES = 1, MPIPOOL__EVEN_NO = 2 };

/* The larger of the two headers: a chunk (work_hdr) and its answer
 * (result_hdr) that must both fit one message hold this many bytes of
 * header. */
#define MPIPOOL__HDR_MAX                                                                              \
    (sizeof(mpipool__work_hdr) > sizeof(mpipool__result_hdr) ? sizeof(mpipool__work_hdr)              \
                                                             : sizeof(mpipool__result_hdr))

#endif
