/*
 * observe_hooks.c — the master's CPU cost of observing one chunk: the send
 * and collect hooks of src/observe.h called in a loop (no MPI traffic), so
 * the number is not lost in the noise of a real map on a busy machine.
 * Uses private headers, so it links the static library:
 *
 *     cmake -S . -B bench/build/lib -DCMAKE_BUILD_TYPE=Release -DMPIPOOL_BUILD_TESTS=OFF
 *     cmake --build bench/build/lib --target mpipool_static
 *     mpicc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -Isrc bench/observe_hooks.c \
 *           bench/build/lib/libmpipool.a -lpthread -o bench/build/observe_hooks
 *     bench/build/observe_hooks 600000                          # tracing off
 *     MPIPOOL_TRACE=/dev/null bench/build/observe_hooks 600000  # tracing on
 *
 * Prints the thread CPU time per chunk (sent + collected).  With tracing
 * on, the events are buffered and written (to the trace file) at the end,
 * outside the timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "engine.h"
#include "observe.h"

static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    static mpipool p;
    static mpipool_job j;
    p.size = 3; /* a master and two workers */
    mpipool__obs_open(&p);
    j.pool = &p;
    j.id = 1;
    j.func = "mpipool_map";
    j.n = SIZE_MAX;
    long n = argc > 1 ? atol(argv[1]) : 600000;
    double c0 = cpu();
    for (long i = 0; i < n; i++) {
        int w = 1 + (int)(i % 2);
        mpipool__obs_sent(&p, &j, w, (uint64_t)i, 1, 68, mpipool__obs_now(&p));
        j.done++;
        mpipool__obs_collected(&p, &j, w, (uint64_t)i, 1, 1e-6, 68, mpipool__obs_now(&p));
    }
    double c1 = cpu();
    printf("RESULT workload=observe_hooks trace=%s chunks=%ld ns_per_chunk=%.1f\n",
           getenv("MPIPOOL_TRACE") ? "on" : "off", n, (c1 - c0) / (double)n * 1e9);
    mpipool__obs_close(&p);
    MPI_Finalize();
    return 0;
}
