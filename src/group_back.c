/*
 * group_back.c — a group leader takes back what a member has not started
 * (reclamation inside a group, as reclaim.c does for the master's workers).
 *
 * A member runs its shares in order, and a share holds many items: one long
 * item keeps the rest of its share, and the member's next share, waiting
 * behind it while the rest of the group runs dry.  Once the leader has
 * nothing left to hand out or run itself and half the group is idle, it
 * asks each member whose oldest share is long past its time for the items
 * it has not started (TAG_RECLAIM, wire.h): the member stops between runs
 * of items (pace.c) and answers with the ones it ran; the leader hands the others out again, first, to
 * whoever is free (itself included).
 *
 * The master asks a leader the same for its queue (TAG_TAKE_BACK, wire.h):
 * the GROUP chunks it has not started, at the end of its queue, go back
 * whole (mpipool__group_give_up), so that a group held up behind a long
 * item does not keep chunks the idle groups could run.
 *
 * Invariants:
 *  - a member is asked at most once per share sent to it (gback.asked is
 *    the count of shares it had when asked), and at most one TAG_RECLAIM
 *    to it is on its way;
 *  - a chunk's given-back ranges are items it handed out and got back
 *    unrun: each item of a chunk is run exactly once, so its answer to the
 *    master is whole and in place.
 */
#include <stdlib.h>
#include <string.h>
#include "group_impl.h"

/* Look for held-up members at most this often (reclaim.c's pace). */
#define LOOK_SECONDS 100e-6
/* A share is held up past twice its expected time and this.  Far more
 * than the master's MPIPOOL__STUCK_SLACK_SECONDS: a leader asks while the
 * master may still feed its group, and stopping members for items only a
 * few ms long lost more than it gained (SimGrid, 1024 ranks x 10 us
 * Pareto: 0.763 before group reclamation, 0.684 with 1 ms here, 0.753
 * with 10 ms; 1024 x 100 us Pareto, SCALE_SEED=1: 0.929 before, 0.955 and
 * 0.953). */
#define HELD_UP_SLACK_SECONDS 10e-3

void mpipool__gchunk_free(gchunk *c) {
    if (c == NULL) return;
    free(c->in);
    free(c->res);
    free(c->redo);
    mpipool__fails_free(&c->fails);
    free(c);
}

uint64_t mpipool__gchunk_left(const gchunk *c) {
    return c->h.count - c->next + c->redo_items;
}

uint64_t mpipool__group_held(const mpipool__group *g) {
    uint64_t n = 0;
    for (size_t i = 0; i < g->qlen; i++) n += mpipool__gchunk_left(g->q[i]);
    return n;
}

int mpipool__gchunk_take(gchunk *c, uint64_t want, uint64_t *off, uint64_t *count) {
    if (c->nredo > 0) {
        uint64_t *r = c->redo[0];
        *off = r[0];
        *count = want < r[1] ? want : r[1];
        r[0] += *count;
        r[1] -= *count;
        c->redo_items -= *count;
        if (r[1] == 0) memmove(c->redo, c->redo + 1, --c->nredo * sizeof *c->redo);
        return 1;
    }
    if (c->next >= c->h.count) return 0;
    uint64_t left = c->h.count - c->next;
    *off = c->next;
    *count = want < left ? want : left;
    c->next += *count;
    return 1;
}

int mpipool__gchunk_give_back(gchunk *c, uint64_t off, uint64_t count) {
    if (count == 0) return 0;
    if (c->nredo == c->redo_cap) {
        size_t ncap = c->redo_cap ? 2 * c->redo_cap : 4;
        uint64_t(*nr)[2] = realloc(c->redo, ncap * sizeof *nr);
        if (nr == NULL) return -1;
        c->redo = nr;
        c->redo_cap = ncap;
    }
    c->redo[c->nredo][0] = off;
    c->redo[c->nredo][1] = count;
    c->nredo++;
    c->redo_items += count;
    c->back += count;
    return 0;
}

/* Member m's oldest share still running, if it is long past its time and
 * something waits behind its first item (the rest of it, or a second
 * share); else NULL. */
static const gslot *held_up(const mpipool__group *g, int m, double per, double now) {
    const gslot *a = &g->slots[2 * m], *b = a + 1, *old = NULL;
    if (a->c && !a->done) old = a;
    if (b->c && !b->done && (old == NULL || b->seq < old->seq)) old = b;
    if (old == NULL) return NULL;
    const gslot *other = old == a ? b : a;
    if (old->count < 2 && !(other->c && !other->done)) return NULL;
    double expected = per * (double)old->count;
    return now - old->t_sent > 2 * expected + HELD_UP_SLACK_SECONDS ? old : NULL;
}

int mpipool__group_reclaim(mpipool__group *g, double per) {
    mpipool *pool = g->pool;
    int rc = MPIPOOL_OK;
    if (per <= 0 || g->qlen == 0 || g->active == 0 || mpipool__group_held(g) > 0) return MPIPOOL_OK;
    double now = MPI_Wtime();
    if (now < g->look) return MPIPOOL_OK;
    g->look = now + LOOK_SECONDS;
    /* Only once half the group is idle (the leader is: it holds nothing),
     * as at the end of a map.  Asking sooner, while the master still sends
     * the group work, stopped members mid-share for little: SimGrid, 1024
     * ranks x 1 ms Pareto, one draw (SCALE_SEED=5), 0.869 -> 0.782; with
     * this rule 0.871. */
    int idle = 1;
    for (int m = 0; m < g->n; m++) idle += !g->slots[2 * m].c && !g->slots[2 * m + 1].c;
    if (2 * idle < g->n + 1) return MPIPOOL_OK;
    for (int m = 0; m < g->n; m++) {
        gback *k = &g->back[m];
        if (k->asked >= k->nsent || held_up(g, m, per, now) == NULL) continue;
        if (k->req != MPI_REQUEST_NULL) {
            int flag = 0;
            MPIPOOL__MPI(pool, MPI_Test(&k->req, &flag, MPI_STATUS_IGNORE));
            if (!flag) continue; /* the last one is still on its way: ask later */
        }
        k->buf = k->asked = k->nsent;
        MPIPOOL__MPI(pool, MPI_Isend(&k->buf, 8, MPI_BYTE, g->first + m, MPIPOOL__TAG_RECLAIM, pool->comm, &k->req));
    }
cleanup:
    return rc;
}

void mpipool__group_back_free(mpipool__group *g) {
    for (int m = 0; g->back && m < g->n; m++) {
        gback *k = &g->back[m];
        if (k->req == MPI_REQUEST_NULL) continue;
        /* A member takes every message until its TAG_STOP, but that comes
         * from the master and may overtake ours: do not wait for it. */
        int flag = 0;
        MPI_Test(&k->req, &flag, MPI_STATUS_IGNORE);
        if (!flag) MPI_Request_free(&k->req);
    }
    free(g->back);
    g->back = NULL;
}

/* 1 if none of c's items was handed out or run: it can go back whole. */
static int untouched(const gchunk *c) {
    return c->next == 0 && c->nredo == 0 && c->done == 0;
}

int mpipool__group_give_up(mpipool *pool, mpipool__group *g, uint64_t upto) {
    int rc = MPIPOOL_OK;
    size_t keep = g ? g->qlen : 0;
    /* The newest ones only: the master pairs answers with chunks by order,
     * and it cancels the receives of those we give back (wire.h). */
    while (keep > 0 && g->q[keep - 1]->number <= upto && untouched(g->q[keep - 1])) keep--;
    size_t n = g ? g->qlen - keep : 0;
    uint64_t *msg = calloc(n ? n * 3 : 1, sizeof *msg);
    if (msg == NULL)
        return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory to give back %zu chunks",
                              pool->rank, n);
    for (size_t i = 0; i < n; i++) {
        const mpipool__work_hdr *h = &g->q[keep + i]->h;
        msg[3 * i] = h->job;
        msg[3 * i + 1] = h->first;
        msg[3 * i + 2] = h->count;
    }
    /* Small (a leader holds a few chunks), and the master takes it soon:
     * it sends us nothing until it has. */
    MPIPOOL__MPI(pool, MPI_Send(msg, (int)(n * 3 * sizeof *msg), MPI_BYTE, 0, MPIPOOL__TAG_GAVE, pool->comm));
    for (size_t i = keep; g && i < g->qlen; i++) mpipool__gchunk_free(g->q[i]);
    if (g) g->qlen = keep;
cleanup:
    free(msg);
    return rc;
}
