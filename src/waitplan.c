/*
 * waitplan.c — what a rank waiting for a message does next: poll again at
 * once, yield the core, or sleep (and for how long).  Pure arithmetic on
 * clock readings, no MPI; wait.c carries the step out.
 *
 * Invariant: a waiter polls without yielding or sleeping only while an
 * answer is due (from HOT_AHEAD before the time the master expects it to
 * HOT_AFTER past it) or for the first WAIT_SPIN of a wait; so a master
 * whose workers run long tasks polls for about HOT_AHEAD + HOT_AFTER per
 * answer and sleeps the rest of the time.
 *
 * Why poll without yielding while an answer is due: a sched_yield on a
 * shared, oversubscribed core hands it to whichever process is next, for
 * its whole time slice; one such yield while a one-item chunk is on its way
 * back costs more than the round trip itself (measured: the master's own
 * yields, one per 200 us, halved the one-item rate under load, with Open
 * MPI, whose polls already yield on an oversubscribed node).  But an MPI
 * whose polls never yield (MPICH) needs ours, or a worker sharing the
 * master's core waits for the scheduler's tick: so in the window the core is
 * given up once per WAIT_HOT_YIELD unless a gap between two steps shows that
 * something else ran meanwhile.
 */
#include "pure.h"

int mpipool__wait_plan(double now, double start, double due, int hot, mpipool__wait_state *st, unsigned *sleep_us) {
    unsigned *backoff_us = &st->backoff_us;
    double prev = st->prev;
    *sleep_us = 0;
    st->prev = now;
    if (hot && due > 0 && now >= due - MPIPOOL__WAIT_HOT_AHEAD && now <= due + MPIPOOL__WAIT_HOT_AFTER) {
        *backoff_us = 0; /* a wait that goes cold again starts its sleeps short */
        if (st->gave <= 0 || (prev > 0 && now - prev > MPIPOOL__WAIT_GAP)) st->gave = now;
        if (now - st->gave < MPIPOOL__WAIT_HOT_YIELD) return MPIPOOL__WAIT_POLL;
        st->gave = now;
        return MPIPOOL__WAIT_YIELD_STEP;
    }
    if (now - start < MPIPOOL__WAIT_SPIN) return MPIPOOL__WAIT_POLL;
    if (now - start < MPIPOOL__WAIT_YIELD) return MPIPOOL__WAIT_YIELD_STEP;
    unsigned us = *backoff_us ? *backoff_us * 2 : 1, cap = st->most_us ? st->most_us : MPIPOOL__WAIT_SLEEP_MAX_US;
    if (us > cap) us = cap;
    *backoff_us = us;
    if (due > 0) {
        /* Wake up when the answer is due (hot: when its polling window
         * opens), not up to a millisecond after.  Without `hot`, an answer
         * already late is polled for every microsecond (plus timer slack);
         * with it, a late answer past its window is an estimate gone wrong
         * and the sleeps grow as when nothing is due. */
        double left = due - (hot ? MPIPOOL__WAIT_HOT_AHEAD : 0) - now;
        if (!hot || left > 0) {
            if (left < 1e-6 * us) us = left > 2e-6 ? (unsigned)(left * 1e6) : 1;
        }
    }
    /* The ladder's place (*backoff_us) is kept; only this sleep is cut. */
    double most = (now - start) * 1e6 / (st->share ? st->share : MPIPOOL__WAIT_SLEEP_SHARE);
    if ((double)us > most) us = most >= 1 ? (unsigned)most : 1;
    *sleep_us = us;
    return MPIPOOL__WAIT_SLEEP;
}

unsigned mpipool__wait_most_us(double per_item) {
    if (!(per_item > 0)) return MPIPOOL__WAIT_SLEEP_MAX_US;
    double us = per_item * 1e6 / MPIPOOL__WAIT_ITEM_SHARE;
    if (us >= MPIPOOL__WAIT_SLEEP_MAX_US) return MPIPOOL__WAIT_SLEEP_MAX_US;
    return us <= MPIPOOL__WAIT_SLEEP_LEAST_US ? MPIPOOL__WAIT_SLEEP_LEAST_US : (unsigned)us;
}
