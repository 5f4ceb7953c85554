/*
 * wait.c — waiting politely for a message: spin briefly, then yield, then
 * sleep with exponential back-off (never past the time an answer is due),
 * so an idle master or worker does not burn a core an oversubscribed rank
 * needs; but poll without yielding while an answer is due (the plan is
 * waitplan.c's).  Used by the master's engine, the workers and the group
 * leaders.
 */
#include <sched.h>
#include <time.h>
#include "internal.h"

void mpipool__backoff_reset(mpipool__backoff *b) {
    b->start = -1.0;
    b->sleep_us = 0;
    b->pace = (mpipool__wait_state){0, 0, 0, 0, 0};
    b->due = 0;
}

void mpipool__yield(void) {
#if MPIPOOL__SIMULATED
    struct timespec step = {0, 1000L};
    nanosleep(&step, NULL);
#else
    sched_yield();
#endif
}

void mpipool__backoff_wait(mpipool__backoff *b) { mpipool__backoff_wait_at(b, MPI_Wtime()); }

void mpipool__backoff_wait_at(mpipool__backoff *b, double now) {
    unsigned us = 0;
    /* Two statements: in one call, `us` could be read before the plan
     * sets it (C leaves the order of arguments open; gcc read it first,
     * and every sleep became nanosleep(0), a busy loop). */
    int step = mpipool__backoff_plan(b, now, &us);
    mpipool__backoff_act(step, us);
}

int mpipool__backoff_plan(mpipool__backoff *b, double now, unsigned *us) {
    if (b->start < 0) b->start = now;
    *us = 0;
    b->pace.backoff_us = b->sleep_us;
#if MPIPOOL__SIMULATED
    /* In SimGrid a poll costs simulated time only through the probes' own
     * injected cost: model the polling phases as 1 us steps (a polling rank
     * reacts within about that), rather than thousands of simcalls; and no
     * window of polling while an answer is due (it would be a simcall per
     * simulated microsecond). */
    int step = mpipool__wait_plan(now, b->start, b->due, 0, &b->pace, us);
    b->sleep_us = b->pace.backoff_us;
    return step == MPIPOOL__WAIT_SLEEP ? step : MPIPOOL__WAIT_YIELD_STEP; /* a yield is a 1 us step there */
#else
    /* See waitplan.c: poll while an answer is due or for the first few
     * microseconds, then yield the core between polls, then sleep. */
    int step = mpipool__wait_plan(now, b->start, b->due, 1, &b->pace, us);
    b->sleep_us = b->pace.backoff_us;
    return step;
#endif
}

void mpipool__backoff_act(int step, unsigned us) {
    if (step == MPIPOOL__WAIT_POLL) return;
    if (step == MPIPOOL__WAIT_YIELD_STEP) {
        mpipool__yield();
        return;
    }
    struct timespec ts = {0, (long)us * 1000L};
    nanosleep(&ts, NULL);
}
