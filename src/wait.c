/*
 * wait.c — waiting politely for a message: spin briefly, then yield, then
 * sleep with exponential back-off (never past the time an answer is due),
 * so an idle master or worker does not burn a core an oversubscribed rank
 * needs.  Used by the master's engine, the workers and the group leaders.
 */
#include <sched.h>
#include <time.h>
#include "internal.h"

void mpipool__backoff_reset(mpipool__backoff *b) {
    b->start = -1.0;
    b->sleep_us = 0;
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

void mpipool__backoff_wait(mpipool__backoff *b) {
    double now = MPI_Wtime();
    if (b->start < 0) b->start = now;
    /* Spin for a short while: answers usually come within microseconds, and
     * a sleep costs ~60 us of timer slack.  First without yielding (a yield
     * is a context switch on a busy core), then yielding, so that
     * oversubscribed ranks sharing the core can run.  Then sleep, doubling
     * up to 1 ms. */
#if MPIPOOL__SIMULATED
    /* In SimGrid a poll costs simulated time only through the probes' own
     * injected cost: model the spinning phases as 1 us steps (a spinning
     * rank reacts within about that), rather than thousands of simcalls. */
    if (now - b->start < 250e-6) {
        mpipool__yield();
        return;
    }
#else
    if (now - b->start < 20e-6) return; /* hot: most answers come within a few us */
    if (now - b->start < 250e-6) {
        sched_yield();
        return;
    }
#endif
    b->sleep_us = b->sleep_us ? b->sleep_us * 2 : 1;
    if (b->sleep_us > 1000) b->sleep_us = 1000;
    unsigned us = b->sleep_us;
    if (b->due > 0) {
        /* Wake up when the next answer is due, not up to 1 ms after it
         * (the master's next_due() drops estimates that proved wrong). */
        double left = b->due - now;
        if (left < 1e-6 * us) us = left > 2e-6 ? (unsigned)(left * 1e6) : 1;
    }
    struct timespec ts = {0, (long)us * 1000L};
    nanosleep(&ts, NULL);
}
