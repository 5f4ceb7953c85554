/*
 * group_impl.h — a group leader's state (group.c), shared with the part
 * that takes back a member's unstarted items (group_back.c).  Private.
 */
#ifndef MPIPOOL_GROUP_IMPL_H
#define MPIPOOL_GROUP_IMPL_H

#include "group.h"

/* A GROUP chunk from the master.  Its items go out in order (`next`),
 * except those a member gave back (`redo`), which go out first. */
typedef struct gchunk {
    mpipool__work_hdr h;
    uint64_t number;          /* the master's count of it (TAG_TAKE_BACK)   */
    char *in;                 /* its items, h.count * h.in_size bytes      */
    char *res;                /* result_hdr + h.count * h.out_size          */
    uint64_t next, done;      /* items handed out once / run, anywhere      */
    uint64_t mine;            /* ... of them run by the leader itself       */
    uint64_t (*redo)[2];      /* given back, to hand out again: (offset, count) */
    size_t nredo, redo_cap;
    uint64_t redo_items;      /* ... their items in all                     */
    uint64_t back;            /* items its members gave back, in all        */
    mpipool__fails fails;     /* the members' records, concatenated        */
    uint64_t nfail, first_fail;
    int fail_rank;
    double busy;
    MPI_Request sreq;         /* the answer on its way to the master        */
    struct gchunk *link;      /* answered chunks still being sent           */
} gchunk;

/* A member's chunk in flight. */
typedef struct {
    gchunk *c;                /* NULL: free                                  */
    uint64_t first, count, seq;
    int done;                 /* result received, not yet collected          */
    double t_sent;            /* MPI_Wtime when it was sent                  */
    MPI_Request sreq, rreq;
    char *sbuf, *rbuf;        /* work_hdr + items; result_hdr + results      */
    size_t scap, rcap;
} gslot;

/* What the leader asked of a member (TAG_RECLAIM, group_back.c). */
typedef struct {
    uint64_t nsent;           /* chunks sent to it (the member counts them too) */
    uint64_t asked;           /* nsent when it was last asked                */
    uint64_t buf;             /* the TAG_RECLAIM on its way                  */
    MPI_Request req;
} gback;

struct mpipool__group {
    mpipool *pool;
    int first, n;             /* members: ranks first .. first + n - 1       */
    gslot *slots;             /* two per member                              */
    gback *back;              /* one per member                              */
    MPI_Request *reqs;
    int *idx;
    gchunk **q;               /* chunks not yet answered, oldest first       */
    size_t qlen, qcap;
    gchunk *sending;          /* answered, send not yet complete             */
    uint64_t seq;
    int active;               /* member chunks in flight                     */
    double busy_sum, busy_items; /* task seconds per item so far (all ranks) */
    mpipool__fails own;       /* the failures of the leader's own slice      */
    uint64_t job;             /* the job of the last chunk taken             */
    uint64_t seen;            /* ... its shares and own slices timed so far  */
    double least, most;       /* ... the least and most seconds an item took
                                 in one of them (an even split's test)       */
    int asked;                /* TAG_ROOM sent since the last chunk came    */
    int heavy;                /* ... one of which took far longer than the
                                 mean (heavy tails)                          */
    double look;              /* MPI_Wtime before which no TAG_RECLAIM is sent */
};

void mpipool__gchunk_free(gchunk *c);
/* Items of c not handed out (given back ones included). */
uint64_t mpipool__gchunk_left(const gchunk *c);
/* Items the leader holds: not handed out, in every queued chunk. */
uint64_t mpipool__group_held(const mpipool__group *g);
/* Take up to `want` (>= 1) consecutive items of c to hand out: given back
 * ones first.  *off (from c's first item) and *count; 0 if none is left. */
int mpipool__gchunk_take(gchunk *c, uint64_t want, uint64_t *off, uint64_t *count);
/* Items [off, off + count) of c come back unstarted: they go out again.
 * 0, or -1 out of memory. */
int mpipool__gchunk_give_back(gchunk *c, uint64_t off, uint64_t count);
/* Ask the members held up behind a long item for their unstarted items,
 * once the leader has nothing left to run (TAG_RECLAIM).  `per` is the
 * task time per item so far.  MPIPOOL_OK or a code. */
int mpipool__group_reclaim(mpipool__group *g, double per);
/* Let go of TAG_RECLAIMs still on their way (the group is freed). */
void mpipool__group_back_free(mpipool__group *g);

#endif
