/*
 * group.c — a group leader: the master's worker for GROUP chunks, and a
 * small master for the members of its group (hierarchical dispatch).
 *
 * The master sends a leader fixed-size chunks sized for its whole group
 * (wire.h, kind GROUP).  The leader cuts each into ordinary CHUNKs, one
 * share per member, keeps every member at two chunks in flight (while it
 * holds enough: mpipool__plan_second_share), gathers the results (and
 * failure records) into the chunk, and answers the master exactly as one
 * worker answers a CHUNK.  While its members are served and nothing
 * arrives, the leader runs items itself, a short slice at a time
 * (MPIPOOL__OWN_SLICE_SECONDS), so a group of G ranks computes with all G.
 * Once the items look even and long, each chunk is split evenly instead,
 * one share a rank; the leader keeps its own part and runs it in runs that
 * last while its members stay busy (mpipool__plan_even_share, _own_run).
 * So the master serves G times fewer ranks, each with G times larger
 * chunks, and its message rate stops bounding the pool: see mpipool.h,
 * "Scale".  A member held up by a long item gives back what it has not
 * started when the leader runs dry (group_back.c); those items go out
 * again first.
 *
 * Invariants:
 *  - chunks are answered in the order they came (the master pairs results
 *    and TAG_FAILs with chunks by order); a member's results are collected
 *    in the order its chunks were sent, for the same reason;
 *  - a member has at most two chunks in flight, and its result receive is
 *    posted before its chunk is sent;
 *  - every item of a chunk runs exactly once (handed out once, or again
 *    after it came back unstarted), so its answer is whole;
 *  - nothing here blocks while a member still computes, except a TAG_FAIL
 *    receive, which its member sends right after the result we hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "group.h"
#include "group_impl.h"
#include "transport.h"
#include "watchdog.h"
#include "wire.h"

/* A member's share is never shorter than this (as MIN_CHUNK_SECONDS).
 * The leader's own items run in slices of MPIPOOL__OWN_SLICE_SECONDS
 * (pure.h), at least one item, so that it answers its members within about
 * that, while they each run a second share (mpipool__plan_second_share). */
#define MIN_SHARE_SECONDS 200e-6

static int grow(char **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    char *q = realloc(*p, need);
    if (q == NULL) return -1;
    *p = q;
    *cap = need;
    return 0;
}

/* Set up (or check) the group for this header's members. */
static int group_for(mpipool *pool, mpipool__group **gp, const mpipool__work_hdr *h) {
    mpipool__group *g = *gp;
    if (h->group_count == 0 || h->group_first < 1 || h->group_first > (uint32_t)pool->size - 1 ||
        h->group_count > (uint32_t)pool->size - h->group_first || (int)h->group_first == pool->rank)
        return mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: a group chunk names members "
                              "%u+%u of a %d-rank pool", pool->rank, h->group_first, h->group_count, pool->size);
    if (g && g->first == (int)h->group_first && g->n == (int)h->group_count) return MPIPOOL_OK;
    if (g && (g->qlen || g->active || g->sending))
        return mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: the group changed while busy",
                              pool->rank);
    mpipool__group_free(g);
    *gp = NULL;
    g = calloc(1, sizeof *g);
    if (g == NULL) goto oom;
    g->pool = pool;
    g->first = (int)h->group_first;
    g->n = (int)h->group_count;
    g->slots = calloc((size_t)g->n * 2, sizeof *g->slots);
    g->reqs = calloc((size_t)g->n * 2, sizeof *g->reqs);
    g->idx = calloc((size_t)g->n * 2, sizeof *g->idx);
    g->back = calloc((size_t)g->n, sizeof *g->back);
    if (!g->slots || !g->reqs || !g->idx || !g->back) {
        mpipool__group_free(g);
        goto oom;
    }
    for (int i = 0; i < 2 * g->n; i++) g->slots[i].sreq = g->slots[i].rreq = MPI_REQUEST_NULL;
    for (int m = 0; m < g->n; m++) g->back[m].req = MPI_REQUEST_NULL;
    *gp = g;
    return MPIPOOL_OK;
oom:
    return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for a group of %u",
                          pool->rank, h->group_count);
}

int mpipool__group_take(mpipool *pool, mpipool__group **gp, const mpipool__work_hdr *h, const char *msg,
                        size_t got, uint64_t number) {
    int rc = group_for(pool, gp, h);
    if (rc != MPIPOOL_OK) return rc;
    mpipool__group *g = *gp;
    const uint64_t *sizes;
    const char *data;
    if (h->in_size == MPIPOOL__VAR || h->out_size == MPIPOOL__VAR || h->out_size == 0 ||
        mpipool__chunk_layout(h, msg, got, &sizes, &data) != 0)
        return mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: a group chunk of %zu bytes does "
                              "not hold the %llu fixed-size items its header announces", pool->rank, got,
                              (unsigned long long)h->count);
    gchunk *c = calloc(1, sizeof *c);
    size_t in_bytes = (size_t)h->count * (size_t)h->in_size;
    size_t res_bytes = sizeof(mpipool__result_hdr) + (size_t)h->count * (size_t)h->out_size;
    if (c) {
        c->in = malloc(in_bytes ? in_bytes : 1);
        c->res = malloc(res_bytes);
    }
    if (g->qlen == g->qcap) {
        size_t ncap = g->qcap ? 2 * g->qcap : 4;
        gchunk **nq = realloc(g->q, ncap * sizeof *nq);
        if (nq) {
            g->q = nq;
            g->qcap = ncap;
        }
    }
    if (!c || !c->in || !c->res || g->qlen == g->qcap) {
        mpipool__gchunk_free(c);
        return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for a group chunk of "
                              "%llu items", pool->rank, (unsigned long long)h->count);
    }
    c->h = *h;
    c->number = number;
    if (h->job != g->job) { /* a new job: its items' times are not known yet */
        g->heavy = 0;
        g->seen = 0;
        g->least = g->most = 0;
    }
    g->job = h->job;
    g->asked = 0;
    if (in_bytes) memcpy(c->in, data, in_bytes);
    c->sreq = MPI_REQUEST_NULL;
    g->q[g->qlen++] = c;
    return MPIPOOL_OK;
}

int mpipool__group_busy(const mpipool__group *g) {
    return g != NULL && (g->qlen > 0 || g->active > 0 || g->sending != NULL);
}

/* 1 once the items look even: two shares (or own slices) a rank of the
 * group timed in this job, none far longer than the mean. */
static int even(const mpipool__group *g) {
    return !g->heavy && g->seen >= 2 * ((uint64_t)g->n + 1);
}

/* The mean seconds an item took so far in this group (0: unknown). */
static double per_item(const mpipool__group *g) {
    return g->busy_items > 0 && g->busy_sum > 0 ? g->busy_sum / g->busy_items : 0;
}

/* 1 if chunks are split evenly, one share a rank (mpipool__plan_even_share):
 * even items (within MPIPOOL__EVEN_SPREAD of each other), each one long
 * enough to count at the end of a map (MPIPOOL__HEAVY_ITEM_SECONDS).  At
 * 100 us the split gained with uniform items (SimGrid, 4096 ranks: 0.976
 * -> 0.982) but lost with heavy tails (0.954 -> 0.949), where a group
 * looked even until its first long item and then held it in a member's
 * larger share. */
static int even_long(const mpipool__group *g) {
    return even(g) && per_item(g) >= MPIPOOL__HEAVY_ITEM_SECONDS && mpipool__plan_even_spread(g->least, g->most);
}

/* What the answer for a chunk of `job` tells the master of the items
 * (wire.h, result_hdr.even): fair parts need every group even and long. */
static uint32_t evenness(const mpipool__group *g, uint64_t job) {
    if (job != g->job) return MPIPOOL__EVEN_UNKNOWN; /* the times are another job's */
    if (even_long(g)) return MPIPOOL__EVEN_YES;
    return g->heavy || even(g) ? MPIPOOL__EVEN_NO : MPIPOOL__EVEN_UNKNOWN;
}

/* Items of c the leader keeps for itself (even_long; else none). */
static uint64_t keep(const mpipool__group *g, const gchunk *c) {
    return even_long(g) ? mpipool__plan_even_keep(c->h.count, (uint64_t)g->n + 1, c->mine) : 0;
}

/* Send member m (0-based) its next share, from the oldest chunk with items
 * left (the newest, with `newest`).  1 if sent, 0 if nothing is left, or
 * an MPIPOOL_E code. */
static int dispatch(mpipool__group *g, int m, gslot *s, int newest) {
    mpipool *pool = g->pool;
    int rc = MPIPOOL_OK, idle = !g->slots[2 * m].c && !g->slots[2 * m + 1].c, dip = 0;
    gchunk *c = NULL;
    uint64_t avail = 0;
    /* Not the items the leader keeps (keep); a member that would otherwise
     * sit idle takes one of those instead (the leader is behind). */
    for (int pass = 0; pass <= idle && c == NULL; pass++)
        for (size_t i = 0; i < g->qlen && c == NULL; i++) {
            gchunk *q = g->q[newest ? g->qlen - 1 - i : i];
            uint64_t l = mpipool__gchunk_left(q), k = pass ? 0 : keep(g, q);
            if (l > k) {
                c = q;
                avail = l - k;
                dip = pass;
            }
        }
    if (c == NULL) return 0;
    const mpipool__work_hdr *h = &c->h;
    /* Guided over what the leader holds: a share is 1/(2 * ranks) of the
     * items not yet handed out (so no member queues more than its part
     * while the leader, which takes its own items as it goes, runs dry),
     * but at least MIN_SHARE_SECONDS of work; and no message beyond a piece.
     * With even long items, one rank's part of the chunk instead (even_long). */
    uint64_t have = mpipool__group_held(g), left = mpipool__gchunk_left(c), ranks = (uint64_t)g->n + 1;
    uint64_t share = (have + 2 * ranks - 1) / (2 * ranks), least = 1;
    if (per_item(g) > 0) {
        double want = MIN_SHARE_SECONDS / per_item(g);
        if (want > 1) least = want >= (double)left ? left : (uint64_t)want;
    }
    if (share < least) share = least;
    if (even_long(g)) share = dip ? 1 : mpipool__plan_even_share(h->count, ranks, avail);
    else if (mpipool__plan_heavy_long(g->heavy, per_item(g), g->n)) share = 1; /* none behind a long one */
    size_t item = h->in_size > h->out_size ? (size_t)h->in_size : (size_t)h->out_size;
    /* The chunk and its answer both stay within a piece. */
    uint64_t most = (uint64_t)mpipool__plan_max_items(item, item, MPIPOOL__HDR_MAX, pool->piece);
    uint64_t want = share < most ? share : most, off = 0, count = 0;
    if (want > left) want = left;
    if (grow(&s->sbuf, &s->scap, sizeof *h + (size_t)want * (size_t)h->in_size) ||
        grow(&s->rbuf, &s->rcap, sizeof(mpipool__result_hdr) + (size_t)want * (size_t)h->out_size))
        return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for a member's chunk",
                              pool->rank);
    (void)mpipool__gchunk_take(c, want, &off, &count); /* given back items first: maybe fewer */
    size_t payload = (size_t)count * (size_t)h->in_size, rbytes = (size_t)count * (size_t)h->out_size;
    /* reclaim: we may ask for what it has not started (group_back.c). */
    mpipool__work_hdr wh = {MPIPOOL__KIND_CHUNK, h->fn, h->job, h->first + off, count, h->in_size, h->out_size,
                            0, 0, 0, h->task_timeout, h->watch, 0, 1, 0};
    memcpy(s->sbuf, &wh, sizeof wh);
    if (payload) memcpy(s->sbuf + sizeof wh, c->in + (size_t)off * (size_t)h->in_size, payload);
    int member = g->first + m;
    MPIPOOL__MPI(pool, MPI_Irecv(s->rbuf, (int)(sizeof(mpipool__result_hdr) + rbytes), MPI_BYTE, member,
                                 MPIPOOL__TAG_RESULT, pool->comm, &s->rreq));
    MPIPOOL__MPI(pool, MPI_Isend(s->sbuf, (int)(sizeof wh + payload), MPI_BYTE, member, MPIPOOL__TAG_WORK,
                                 pool->comm, &s->sreq));
    s->c = c;
    s->t_sent = MPI_Wtime();
    s->first = wh.first;
    s->count = count;
    s->seq = g->seq++;
    s->done = 0;
    g->back[m].nsent++;
    g->active++;
    return 1;
cleanup:
    return rc;
}

/* Add a rank's failure records to chunk c. */
static void add_failures(gchunk *c, uint64_t nfail, uint64_t first_fail, int rank, const char *recs, size_t len) {
    mpipool__fails *f = &c->fails;
    /* Beyond the cap the failures still count, undescribed (as on a worker). */
    if (len > 0 && f->len + len <= MPIPOOL__FAILS_MAX && grow(&f->p, &f->cap, f->len + len) == 0) {
        memcpy(f->p + f->len, recs, len);
        f->len += len;
    }
    if (c->nfail == 0 || first_fail < c->first_fail) {
        c->first_fail = first_fail;
        c->fail_rank = rank;
    }
    c->nfail += nfail;
}

/* A share or slice of `count` items took `busy` seconds: heavy tails if
 * far more than the mean so far (before them). */
static void note_busy(mpipool__group *g, double busy, uint64_t count) {
    g->seen++;
    double per = count > 0 ? busy / (double)count : 0;
    if (g->seen == 1 || per < g->least) g->least = per;
    if (per > g->most) g->most = per;
    if (g->busy_items > 0 && busy > MPIPOOL__HEAVY_FACTOR * (g->busy_sum / g->busy_items) * (double)count)
        g->heavy = 1;
}

/* Tell the master once per chunk received if the members ran dry behind a
 * share of the oldest chunk that has run past the slack
 * (mpipool__plan_room, TAG_ROOM): it would see that chunk late only after
 * twice its whole time. */
static int ask_room(mpipool__group *g, double per) {
    static const int one = 1;
    mpipool *pool = g->pool;
    int rc = MPIPOOL_OK, idle = 0, ask = 0;
    if (g->asked || g->qlen == 0 || mpipool__group_held(g) > 0) return MPIPOOL_OK;
    for (int m = 0; m < g->n; m++) idle += !g->slots[2 * m].c && !g->slots[2 * m + 1].c;
    double now = MPI_Wtime();
    for (int i = 0; i < 2 * g->n && !ask; i++) {
        const gslot *s = &g->slots[i];
        if (s->c == g->q[0] && !s->done)
            ask = mpipool__plan_room(0, idle, g->n, now - s->t_sent, per * (double)s->count);
    }
    if (!ask) return MPIPOOL_OK;
    /* Nothing answers it and nothing here waits for it: a small message
     * the master receives whenever it looks (or never, after the map). */
    MPI_Request r;
    MPIPOOL__MPI(pool, MPI_Isend(&one, 1, MPI_INT, 0, MPIPOOL__TAG_ROOM, pool->comm, &r));
    MPIPOOL__MPI(pool, MPI_Request_free(&r));
    g->asked = 1;
cleanup:
    return rc;
}

/* Seconds until the first member with work in flight may run dry: its
 * shares done one after the other, each from when it was sent at the
 * earliest (so it errs towards looking too soon); 0 if none has any. */
static double members_busy(const mpipool__group *g, double per, double now) {
    double first = 0;
    for (int m = 0; m < g->n; m++) {
        const gslot *o[2] = {&g->slots[2 * m], &g->slots[2 * m + 1]};
        if (o[0]->c && o[1]->c && o[1]->seq < o[0]->seq) {
            o[0] = &g->slots[2 * m + 1];
            o[1] = &g->slots[2 * m];
        }
        double until = 0;
        for (int i = 0; i < 2; i++) {
            if (o[i]->c == NULL || o[i]->done) continue;
            until = (until > o[i]->t_sent ? until : o[i]->t_sent) + per * (double)o[i]->count;
        }
        if (until > 0 && (first == 0 || until < first)) first = until;
    }
    return first > now ? first - now : 0;
}

/* Run a slice (or, with even long items, a run) of the oldest chunk with
 * items left on the leader itself.  1 if it ran one, 0 if nothing is
 * left, or an MPIPOOL_E code. */
static int run_own(mpipool__group *g) {
    mpipool *pool = g->pool;
    gchunk *c = NULL;
    for (size_t i = 0; i < g->qlen && c == NULL; i++)
        if (mpipool__gchunk_left(g->q[i]) > 0) c = g->q[i];
    if (c == NULL) return 0;
    const mpipool__work_hdr *h = &c->h;
    mpipool_fn fn = mpipool__registry_fn(h->fn);
    if (fn == NULL)
        return mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: the master asked for task #%u "
                              "but only %zu are registered", pool->rank, h->fn, mpipool__registry_count());
    uint64_t k = 1, left = mpipool__gchunk_left(c), off = 0;
    double per = per_item(g);
    if (per > 0) {
        double want = MPIPOOL__OWN_SLICE_SECONDS / per;
        if (want > 1) k = want >= (double)left ? left : (uint64_t)want;
    }
    /* Long even items: a run as long as the members stay busy. */
    if (even_long(g)) {
        uint64_t run = mpipool__plan_own_run(per, members_busy(g, per, MPI_Wtime()), keep(g, c), left);
        if (run > k) k = run;
    }
    (void)mpipool__gchunk_take(c, k, &off, &k); /* given back items first: maybe fewer */
    size_t isz = (size_t)h->in_size, osz = (size_t)h->out_size;
    mpipool__batch b = {fn, c->in + (size_t)off * isz, isz, NULL,
                        c->res + sizeof(mpipool__result_hdr) + (size_t)off * osz, osz, NULL,
                        h->first + off, k, pool->rank, pool, NULL};
    double t0 = MPI_Wtime();
    (void)mpipool__watch_need(pool, h, pool->recover / 4);
    int64_t nfail = mpipool__watch_batch(&b, &g->own, h->job, h->task_timeout);
    double busy = MPI_Wtime() - t0;
    if (nfail < 0)
        return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for results", pool->rank);
    if (nfail > 0) add_failures(c, (uint64_t)nfail, g->own.first_fail, pool->rank, g->own.p, g->own.len);
    c->busy += busy;
    c->done += k;
    c->mine += k;
    note_busy(g, busy, k);
    g->busy_sum += busy;
    g->busy_items += (double)k;
    return 1;
}

/* Take member m's finished chunk s into its group chunk. */
static int collect(mpipool__group *g, int m, gslot *s) {
    mpipool *pool = g->pool;
    int rc = MPIPOOL_OK;
    int member = g->first + m;
    gchunk *c = s->c;
    mpipool__result_hdr rh;
    char *recs = NULL;
    MPIPOOL__MPI(pool, MPI_Wait(&s->sreq, MPI_STATUS_IGNORE));
    memcpy(&rh, s->rbuf, sizeof rh);
    /* Fewer items than sent: we asked for the rest back (group_back.c). */
    if (rh.job != c->h.job || rh.first != s->first || rh.count > s->count) {
        rc = mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: member %d answered with items "
                            "%llu+%llu, expected %llu+%llu", pool->rank, member, (unsigned long long)rh.first,
                            (unsigned long long)rh.count, (unsigned long long)s->first,
                            (unsigned long long)s->count);
        goto cleanup;
    }
    size_t osz = (size_t)c->h.out_size;
    uint64_t off = s->first - c->h.first;
    memcpy(c->res + sizeof rh + (size_t)off * osz, s->rbuf + sizeof rh, (size_t)rh.count * osz);
    if (mpipool__gchunk_give_back(c, off + rh.count, s->count - rh.count) != 0) {
        rc = mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for the items member %d "
                            "gave back", pool->rank, member);
        goto cleanup;
    }
    if (rh.nfail) {
        /* Its records follow its result, before anything else it sends us. */
        int len = 0;
        MPIPOOL__MPI(pool, mpipool__recv_fails(pool->comm, member, &recs, &len));
        add_failures(c, rh.nfail, rh.first_fail, member, recs, (size_t)len);
    }
    c->busy += rh.busy;
    c->done += rh.count;
    if (rh.count > 0) {
        note_busy(g, rh.busy, rh.count);
        g->busy_sum += rh.busy;
        g->busy_items += (double)rh.count;
    }
    s->c = NULL;
    g->active--;
cleanup:
    free(recs);
    return rc;
}

/* Answer the master for the oldest chunk, all of whose items are back. */
static int answer(mpipool__group *g, gchunk *c) {
    mpipool *pool = g->pool;
    int rc = MPIPOOL_OK;
    size_t bytes = sizeof(mpipool__result_hdr) + (size_t)c->h.count * (size_t)c->h.out_size;
    uint32_t back = c->back < UINT32_MAX ? (uint32_t)c->back : UINT32_MAX;
    mpipool__result_hdr rh = {c->h.job, c->h.first, c->h.count, c->nfail, c->first_fail, 0, 0, c->busy,
                              c->nfail ? c->fail_rank : 0, 0, back, evenness(g, c->h.job)};
    /* The same rule as a worker's answer, so the master's pre-posted
     * receives match: beyond a piece, the header alone, then pieces. */
    rh.pieces = bytes > pool->piece ? bytes - sizeof rh : 0;
    memcpy(c->res, &rh, sizeof rh);
    if (rh.pieces == 0) {
        MPIPOOL__MPI(pool, MPI_Isend(c->res, (int)bytes, MPI_BYTE, 0, MPIPOOL__TAG_RESULT, pool->comm, &c->sreq));
    } else {
        MPIPOOL__MPI(pool, MPI_Send(c->res, (int)sizeof rh, MPI_BYTE, 0, MPIPOOL__TAG_RESULT, pool->comm));
        for (size_t off = sizeof rh; off < bytes; off += pool->piece) {
            size_t len = bytes - off < pool->piece ? bytes - off : pool->piece;
            MPIPOOL__MPI(pool, MPI_Send(c->res + off, (int)len, MPI_BYTE, 0, MPIPOOL__TAG_RPIECE, pool->comm));
        }
    }
    if (c->nfail)
        MPIPOOL__MPI(pool, MPI_Send(c->fails.p ? c->fails.p : "", (int)c->fails.len, MPI_BYTE, 0, MPIPOOL__TAG_FAIL,
                                    pool->comm));
    c->link = g->sending;
    g->sending = c;
cleanup:
    return rc;
}

/* Free the answers whose sends to the master are complete. */
static int reap_answers(mpipool__group *g) {
    mpipool *pool = g->pool;
    int rc = MPIPOOL_OK;
    for (gchunk **pp = &g->sending; *pp;) {
        gchunk *c = *pp;
        int flag = 0;
        MPIPOOL__MPI(pool, MPI_Test(&c->sreq, &flag, MPI_STATUS_IGNORE));
        if (!flag) {
            pp = &c->link;
            continue;
        }
        *pp = c->link;
        mpipool__gchunk_free(c);
    }
cleanup:
    return rc;
}

int mpipool__group_progress(mpipool__group *g, int *moved) {
    mpipool *pool = g->pool;
    int rc = MPIPOOL_OK, ndone = 0, ns = 2 * g->n;
    *moved = 0;
    if (g->active > 0) {
        for (int i = 0; i < ns; i++) g->reqs[i] = g->slots[i].c && !g->slots[i].done ? g->slots[i].rreq : MPI_REQUEST_NULL;
        MPIPOOL__MPI(pool, MPI_Testsome(ns, g->reqs, &ndone, g->idx, MPI_STATUSES_IGNORE));
        for (int k = 0; ndone != MPI_UNDEFINED && k < ndone; k++) {
            gslot *s = &g->slots[g->idx[k]];
            s->rreq = MPI_REQUEST_NULL;
            s->done = 1;
        }
        if (ndone != MPI_UNDEFINED && ndone > 0) {
            *moved = 1;
            for (int m = 0; m < g->n; m++) {
                for (;;) {
                    gslot *a = &g->slots[2 * m], *b = a + 1, *oldest = NULL;
                    if (a->c) oldest = a;
                    if (b->c && (oldest == NULL || b->seq < oldest->seq)) oldest = b;
                    if (oldest == NULL || !oldest->done) break;
                    if ((rc = collect(g, m, oldest)) != MPIPOOL_OK) return rc;
                }
            }
        }
    }
    while (g->qlen > 0 && g->q[0]->done == g->q[0]->h.count) {
        gchunk *c = g->q[0];
        memmove(g->q, g->q + 1, (g->qlen - 1) * sizeof *g->q);
        g->qlen--;
        if ((rc = answer(g, c)) != MPIPOOL_OK) {
            mpipool__gchunk_free(c);
            return rc;
        }
        *moved = 1;
    }
    /* First a chunk for every member with none, then a second for each:
     * while there is enough for every rank to have two, or before the
     * leader runs an item of its own that is long (plan_second_share);
     * else the leader takes its own part. */
    double per = per_item(g);
    for (int round = 0; round < 2; round++) {
        for (int m = 0; m < g->n; m++) {
            gslot *a = &g->slots[2 * m], *b = a + 1;
            int inflight = (a->c != NULL) + (b->c != NULL);
            if (inflight > round) continue;
            int from = round == 0 ? 1 : mpipool__plan_second_share(mpipool__group_held(g), (uint64_t)g->n + 1, per, even(g));
            if (round == 1 && mpipool__plan_heavy_long(g->heavy, per, g->n)) from = 0;
            if (from == 0) goto own;
            int r = dispatch(g, m, a->c ? b : a, from == 2);
            if (r < 0) return r;
            if (r == 0) goto own;
            *moved = 1;
        }
    }
own:
    if ((rc = ask_room(g, per)) != MPIPOOL_OK) return rc;
    if ((rc = mpipool__group_reclaim(g, per)) != MPIPOOL_OK) return rc;
    /* The members are served: if nothing else happened, work; but not
     * while we hold more than two chunks: the master sends more only while
     * one is stuck on a long item (dispatch.c, leader_depth), and a leader
     * inside an item of its own would keep them from its members (in a
     * group of fewer than 5 ranks its own work counts for too much); nor
     * once the items are long with heavy tails (plan_heavy_long). */
    if (!*moved && (g->qlen <= 2 || g->n < 4) && !mpipool__plan_heavy_long(g->heavy, per, g->n)) {
        int r = run_own(g);
        if (r < 0) return r;
        if (r > 0) *moved = 1;
    }
    rc = reap_answers(g);
cleanup:
    return rc;
}

double mpipool__group_due(const mpipool__group *g, unsigned *most_us) {
    *most_us = mpipool__wait_most_us(g ? per_item(g) : 0);
    if (g == NULL || g->active == 0 || per_item(g) <= 0) return 0;
    double per = per_item(g), due = 0, now = MPI_Wtime();
    for (int i = 0; i < 2 * g->n; i++) {
        const gslot *s = &g->slots[i], *other = &g->slots[i ^ 1];
        if (s->c == NULL || s->done) continue;
        /* A member's second chunk starts when its first is done. */
        double start = s->t_sent;
        if (other->c && !other->done && other->seq < s->seq) start = other->t_sent + per * (double)other->count;
        double took = per * (double)s->count, t = start + took;
        if (mpipool__overdue(now, t, took)) continue;
        if (due == 0 || t < due) due = t;
    }
    return due;
}

void mpipool__group_free(mpipool__group *g) {
    if (g == NULL) return;
    for (int i = 0; i < 2 * g->n; i++) {
        gslot *s = &g->slots[i];
        /* Only after an error: let nothing point into freed memory. */
        if (s->rreq != MPI_REQUEST_NULL) {
            MPI_Cancel(&s->rreq);
            MPI_Request_free(&s->rreq);
        }
        if (s->sreq != MPI_REQUEST_NULL) MPI_Request_free(&s->sreq);
        free(s->sbuf);
        free(s->rbuf);
    }
    for (size_t i = 0; i < g->qlen; i++) mpipool__gchunk_free(g->q[i]);
    while (g->sending) {
        gchunk *c = g->sending;
        g->sending = c->link;
        if (c->sreq != MPI_REQUEST_NULL) MPI_Wait(&c->sreq, MPI_STATUS_IGNORE);
        mpipool__gchunk_free(c);
    }
    mpipool__group_back_free(g);
    mpipool__fails_free(&g->own);
    free(g->q);
    free(g->slots);
    free(g->reqs);
    free(g->idx);
    free(g);
}
