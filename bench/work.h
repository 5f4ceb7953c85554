/*
 * work.h — the task kernels and helpers every benchmark program shares, so
 * that mpipool and its hand-written C peers run exactly the same work.
 *
 *   bench_square       unsigned x -> x * x (mod 2^32): the cheapest useful task
 *   bench_spin         burn `us` microseconds of this thread's CPU time
 *   bench_pareto       the heavy-tailed durations of the irregular workload:
 *                      a fixed-seed splitmix64 stream, Pareto(alpha = 1.5),
 *                      scaled so the durations sum to exactly `total` seconds
 *                      (bench/peers/pareto.py computes the same list)
 *   bench_result       print the one machine-readable line bench/run parses
 *   bench_pause        sleep `ms` milliseconds: the master's own work between
 *                      two maps, during which the workers wait idle
 *
 * Header-only: every function is static.
 */
#ifndef BENCH_WORK_H
#define BENCH_WORK_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#define BENCH_PARETO_SEED 20240601ULL
#define BENCH_PARETO_ALPHA 1.5

static inline unsigned bench_square(unsigned x) { return x * x; }

static inline double bench_thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Spin until this thread has used `us` microseconds of CPU.  CPU time, not
 * wall time: on an oversubscribed machine a task still costs what it says. */
static inline void bench_spin(double us) {
    if (us <= 0) return;
    double end = bench_thread_cpu() + us * 1e-6;
    volatile unsigned sink = 0;
    while (bench_thread_cpu() < end)
        for (int i = 0; i < 64; i++) sink += (unsigned)i;
    (void)sink;
}

static inline uint64_t bench_splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* n Pareto durations in microseconds summing to total_s seconds. */
static inline void bench_pareto(double *us, size_t n, double total_s) {
    uint64_t s = BENCH_PARETO_SEED;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double u = (double)(bench_splitmix64(&s) >> 11) * 0x1.0p-53; /* [0,1) */
        us[i] = pow(1.0 - u, -1.0 / BENCH_PARETO_ALPHA);             /* xm = 1 */
        sum += us[i];
    }
    for (size_t i = 0; i < n; i++) us[i] *= total_s * 1e6 / sum;
}

static inline double bench_cpu_self(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static inline long bench_maxrss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* RESULT workload=W impl=I n=N ranks=R rep=K seconds=S items_per_s=X [extra] */
static inline void bench_result(const char *workload, const char *impl, size_t n, int ranks,
                                int rep, double seconds, const char *extra_fmt, ...) {
    char extra[256] = "";
    if (extra_fmt != NULL) {
        va_list ap;
        va_start(ap, extra_fmt);
        vsnprintf(extra, sizeof extra, extra_fmt, ap);
        va_end(ap);
    }
    printf("RESULT workload=%s impl=%s n=%zu ranks=%d rep=%d seconds=%.6f items_per_s=%.6g%s%s\n",
           workload, impl, n, ranks, rep, seconds, seconds > 0 ? (double)n / seconds : 0.0,
           extra[0] ? " " : "", extra);
    fflush(stdout);
}

static inline void bench_pause(double ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - 1000.0 * (double)(time_t)(ms / 1000)) * 1e6)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static inline long bench_arg(int argc, char **argv, int i, long dflt) {
    if (argc <= i) return dflt;
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (end == argv[i] || *end != '\0' || v < 0) {
        fprintf(stderr, "%s: bad argument '%s'\n", argv[0], argv[i]);
        exit(2);
    }
    return v;
}

#endif /* BENCH_WORK_H */
