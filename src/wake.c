/*
 * wake.c — when the master, with nothing to do, should look again: at once
 * while a large message is on its way (mpipool__dispatch_moving), else when
 * the next answer is due (mpipool__dispatch_next_due), from the chunks out
 * and the measured time per item.  The slots are dispatch.c's and
 * collect.c's: this file reads them, and only completes (MPI_Test) a large
 * send it finds done.
 *
 * Invariant: a due time is an estimate from the mean time per item, never
 * a promise; a group chunk queued behind another on its leader is due from
 * that one's estimated end, not from its own send; and an estimate gone
 * wrong (the chunk overdue) says nothing, so the master's sleeps grow as
 * when nothing is due.
 */
#include "dispatch.h"

/* 1 if a large message is probably moving right now, so that sleeping
 * would stall it: a big chunk not yet fully sent, or a big result whose
 * chunk should be done by now (from the measured time per item; at once
 * while that is unknown).  Otherwise the master may sleep: its workers are
 * computing and nothing moves.  Called with e->lock held. */
int mpipool__dispatch_moving(mpipool__engine *e) {
    double now = -1.0;
    for (int i = 0; i < e->nslots; i++) {
        slot *s = &e->slots[i];
        if (!s->worker || s->completed) continue;
        if ((s->sbig || s->transit) && s->sreq != MPI_REQUEST_NULL) {
            int flag = 0;
            if (MPI_Test(&s->sreq, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS || !flag) return 1;
        }
        if (s->rbig) {
            double per = s->job->per_item;
            if (per <= 0) return 1;
            if (now < 0) now = MPI_Wtime();
            if (now >= s->t_sent + per * (double)s->count / (double)s->units) return 1;
        }
    }
    return 0;
}

/* Leader w's chunk sent next after `prev` (its first with NULL), or NULL. */
static const slot *next_of(const mpipool__engine *e, int w, const slot *prev) {
    const slot *next = NULL, *s = mpipool__rank_slots(e, w), *end = s + e->per * e->span[w];
    for (; s < end; s++)
        if (s->worker == w && (prev == NULL || s->seq > prev->seq) && (next == NULL || s->seq < next->seq))
            next = s;
    return next;
}

/* The earliest time (0: none) a chunk's answer is due, of chunk s sent at
 * `start` or later, or of the chunks behind it on the same leader. */
static double due_of(const slot *s, double start, double now) {
    double took = s->job->per_item * (double)s->count / (double)s->units, t = start + took;
    /* A chunk still out long after its time is a bad estimate (a long
     * item, a busy worker): it no longer says when to wake up. */
    return s->completed || s->job->per_item <= 0 || mpipool__overdue(now, t, took) ? 0 : t;
}

/* MPI_Wtime when the next result should arrive, from the time per item:
 * the earliest chunk on a worker whose results are still out; 0 if none
 * or unknown.  A group leader answers its chunks in order and its group
 * starts a chunk when the one before is done (answered, or still out): a
 * chunk sent while another runs is due that much later.  (From its send
 * alone, a group's last fair part, sent with 15 ms of work ahead of it,
 * was overdue before its answer came, and the master slept past that:
 * SimGrid, 64 ranks x 1 ms uniform, hierarchy on, 0.979.)
 * *most_us: the longest the master may sleep, from the shortest time per
 * item of the chunks out (pure.h, WAIT_ITEM_SHARE).
 * Called with e->lock held, only before the master sleeps. */
double mpipool__dispatch_next_due(const mpipool__engine *e, double now, unsigned *most_us) {
    double due = 0, per = 0;
    int grouped = 0;
    for (int i = 0; i < e->nslots; i++) {
        const slot *s = &e->slots[i];
        if (!s->worker) continue;
        if (s->job->per_item > 0 && (per == 0 || s->job->per_item < per)) per = s->job->per_item;
        if (s->units > 1) {
            grouped = 1;
            continue;
        }
        double t = due_of(s, s->t_sent, now);
        if (t > 0 && (due == 0 || t < due)) due = t;
    }
    for (int w = 1; grouped && w <= e->workers; w++) {
        double free_at = e->answered[w]; /* its chunk before began no sooner */
        for (const slot *s = e->inflight[w] > 0 ? next_of(e, w, NULL) : NULL; s; s = next_of(e, w, s)) {
            if (s->units <= 1) continue; /* a flat map's, above */
            double start = s->t_sent > free_at ? s->t_sent : free_at, t = due_of(s, start, now);
            if (s->job->per_item > 0) free_at = start + s->job->per_item * (double)s->count / (double)s->units;
            if (t > 0 && (due == 0 || t < due)) due = t;
        }
    }
    *most_us = mpipool__wait_most_us(per);
    return due;
}
