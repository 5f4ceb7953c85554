/*
 * comm.c — error recording, the table of live pools, and polite waiting.
 * Shared by the MPI parts of the library.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include "internal.h"
#include "resume.h"

int mpipool__error(mpipool *pool, int code, const char *fmt, ...) {
    char *buf = pool ? pool->err : mpipool__open_error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, MPIPOOL__ERR_MAX, fmt, ap);
    va_end(ap);
    return code;
}

int mpipool__mpi_error(mpipool *pool, int mpirc, const char *func, const char *call) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(mpirc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", mpirc);
    /* Keep just the MPI function's name from the call text. */
    size_t nlen = strcspn(call, "(");
    return mpipool__error(pool, MPIPOOL_EMPI, "%s: %.*s failed at rank %d: %s", func,
                          (int)nlen, call, pool ? pool->rank : -1, text);
}

static const mpipool **live;
static size_t nlive, caplive;

int mpipool__live_add(mpipool *pool) {
    if (nlive == caplive) {
        size_t ncap = caplive ? caplive * 2 : 4;
        const mpipool **l = realloc(live, ncap * sizeof *l);
        if (l == NULL) return MPIPOOL_ENOMEM;
        live = l;
        caplive = ncap;
    }
    live[nlive++] = pool;
    return MPIPOOL_OK;
}

int mpipool__live_has(const mpipool *pool) {
    for (size_t i = 0; pool != NULL && i < nlive; i++)
        if (live[i] == pool) return 1;
    return 0;
}

void mpipool__live_remove(mpipool *pool) {
    for (size_t i = 0; i < nlive; i++) {
        if (live[i] == pool) {
            live[i] = live[--nlive];
            break;
        }
    }
    if (nlive == 0) {
        free(live);
        live = NULL;
        caplive = 0;
    }
}

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
    mpipool__resume_worker_poll(); /* a worker told to stop exits here, idle */
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
