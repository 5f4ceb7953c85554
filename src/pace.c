/*
 * pace.c — a worker's looks for a TAG_RECLAIM while it runs a chunk
 * (reclaim.c, group_back.c, wire.h).
 *
 * Invariants:
 *  - a look is one MPI_Iprobe, between runs of about PACE_SECONDS of items,
 *    never inside a task, and none before a one-item chunk's item: Open
 *    MPI's probe on an oversubscribed node yields the core when it finds
 *    nothing (sched_yield in its progress loop), and a look there can only
 *    say "run it" (below) unless its request had its item already, which
 *    an earlier look told us.  A request still on its way is taken at the
 *    next look.  (bench/run's W = 2 Pareto map, one-item chunks: median gap
 *    between a worker's items 7-21 us with the look, 2-4 us without, as
 *    with chunk_size 1, which never looks);
 *  - asked back, the worker stops before its next item, unless that item
 *    is the last of its chunk: that one it runs (once per request), for it
 *    is free at that moment, so the item starts here sooner than on the
 *    rank it would go to after the answer, a send and that rank's wake-up,
 *    and nothing else waits behind it.  (A W = 2 heavy-tailed map ended
 *    with a one-item chunk queued behind the longest item, given back
 *    once that ended.  Keeping any one item, not only a last one, delayed
 *    the give-back of the rest by that item: SimGrid 1024 x 100 us Pareto,
 *    the grid's draw, 0.770 -> 0.725.)
 */
#include "pace.h"
#include "wire.h"

/* Between two looks: short enough that items queued behind a long one go
 * back soon after it ends, long enough that looking costs nothing (one
 * probe, ~1 us, per this). */
#define PACE_SECONDS 500e-6

void mpipool__reclaims_note(mpipool__reclaims *r, int from, uint64_t upto) {
    uint64_t *mine = &r->upto[from != 0];
    if (upto > *mine) *mine = upto;
}

int mpipool__reclaims_take(mpipool__reclaims *r, MPI_Comm comm, int from) {
    for (;;) {
        int flag = 0, rc = MPI_Iprobe(from, MPIPOOL__TAG_RECLAIM, comm, &flag, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS || !flag) return rc;
        uint64_t upto = 0;
        rc = MPI_Recv(&upto, 8, MPI_BYTE, from, MPIPOOL__TAG_RECLAIM, comm, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return rc;
        mpipool__reclaims_note(r, from, upto);
    }
}

/* Runs of about PACE_SECONDS of items, the first as long as the last of
 * the job's previous chunk. */
uint64_t mpipool__pace_next(void *arg, uint64_t done) {
    mpipool__pacer *p = arg;
    mpipool__reclaims *r = p->r;
    double now = MPI_Wtime();
    if (done > p->at) {
        double dt = now - p->t, fit;
        uint64_t ran = done - p->at, k = ran * 4; /* grow by at most 4 a run */
        if (dt >= PACE_SECONDS / 4 && (fit = (double)ran * PACE_SECONDS / dt) < (double)k) k = (uint64_t)fit;
        r->items = k ? k : 1;
    }
    /* No look before a one-item chunk: asked back, it would run that item
     * anyway (a chunk's last), unless its request already had one, which
     * we know without looking. */
    int rc = MPI_SUCCESS;
    p->t = now;
    if (done > 0 || p->count > 1) {
        rc = mpipool__reclaims_take(r, p->comm, p->from);
        /* The next run's time starts after the probe: an oversubscribed
         * rank may yield its core inside MPI_Iprobe for a whole time slice,
         * and counted as the items' time that shrank the runs to one item. */
        p->t = MPI_Wtime();
        p->looked += p->t - now;
    }
    if (rc != MPI_SUCCESS) {
        r->rc = rc;
        return 0;
    }
    uint64_t upto = r->upto[p->from != 0], *kept = &r->kept[p->from != 0];
    if (p->number <= upto) /* its last item: run it (once per request); else stop */
        return *kept == upto || p->count - done != 1 ? 0 : (*kept = upto, 1);
    p->at = done;
    return r->items;
}
