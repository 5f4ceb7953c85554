/*
 * simwork.h — the simulated work of the scale benchmark, shared by scale.c
 * (mpipool) and peer.c (hand-written MPI), so that both run the same items
 * with the same durations under SimGrid's SMPI.
 *
 * An item is its index (uint32 in); its result is index * 2654435761 mod
 * 2^32 (uint32 out).  Its duration is a pure function of the index, so any
 * rank can compute any item's duration without a table: under SMPI every
 * simulated rank lives in one process, and 4096 copies of a per-item table
 * would not fit.
 *
 *   uniform   every item lasts D seconds
 *   pareto    Pareto(alpha = 1.5) with mean D: xm = D / 3, and
 *             d = xm * (1 - u)^(-1/1.5) with u in [0, 1) from
 *             splitmix64(seed + index) (counter-based: no stream); the
 *             seed is SIMWORK_SEED, or SCALE_SEED from the environment
 *             (run.sh --seeds: the same points over other draws)
 *
 * A task charges the sum of its items' durations to the simulated clock
 * with one smpi_execute() call; the task's real CPU time is not simulated
 * (smpi/simulate-computation:no).
 *
 * Header-only: every function is static.
 */
#ifndef BENCH_SCALE_SIMWORK_H
#define BENCH_SCALE_SIMWORK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIMWORK_SEED 20240601ULL
#define SIMWORK_ALPHA 1.5
#define SIMWORK_HASH 2654435761u

typedef enum { SIMWORK_UNIFORM = 0, SIMWORK_PARETO = 1 } simwork_dist;

typedef struct {
    double mean;       /* D, seconds                                      */
    simwork_dist dist;
    size_t n;          /* items                                           */
    uint64_t seed;     /* of the Pareto draws (simwork_seed)             */
} simwork;

static inline uint64_t simwork_mix(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Item i's duration in seconds. */
static inline double simwork_duration(const simwork *w, uint64_t i) {
    if (w->dist == SIMWORK_UNIFORM) return w->mean;
    double u = (double)(simwork_mix(w->seed + i) >> 11) * 0x1.0p-53; /* [0, 1) */
    return w->mean / 3.0 * pow(1.0 - u, -1.0 / SIMWORK_ALPHA);
}

/* The sum of the durations of items [first, first + count). */
static inline double simwork_span(const simwork *w, uint64_t first, size_t count) {
    if (w->dist == SIMWORK_UNIFORM) return w->mean * (double)count;
    double s = 0;
    for (size_t k = 0; k < count; k++) s += simwork_duration(w, first + k);
    return s;
}

static inline uint32_t simwork_result(uint32_t index) { return index * SIMWORK_HASH; }

/* The makespan lower bound for `workers` ranks that run tasks: sum / workers
 * for uniform work, max(sum / workers, longest) for heavy-tailed work. */
static inline double simwork_ideal(const simwork *w, int workers, double *sum, double *longest) {
    double s = 0, m = 0;
    if (w->dist == SIMWORK_UNIFORM) {
        s = w->mean * (double)w->n;
        m = w->n ? w->mean : 0;
    } else {
        for (size_t i = 0; i < w->n; i++) {
            double d = simwork_duration(w, i);
            s += d;
            if (d > m) m = d;
        }
    }
    *sum = s;
    *longest = m;
    double lb = s / workers;
    return w->dist == SIMWORK_PARETO && m > lb ? m : lb;
}

/* The seed of the Pareto draws: from SCALE_SEED (decimal digits) if set,
 * else SIMWORK_SEED; -1 if SCALE_SEED is set but not a number. */
static inline int simwork_seed(uint64_t *seed) {
    const char *v = getenv("SCALE_SEED");
    *seed = SIMWORK_SEED;
    if (v == NULL || *v == '\0') return 0;
    char *end;
    unsigned long long s = strtoull(v, &end, 10);
    if (*end || *v < '0' || *v > '9') return -1;
    /* Scrambled: seeds 1 and 2 would otherwise be the same draws one
     * index apart (the index is below 2^32, the seed spans 2^64). */
    *seed = simwork_mix((uint64_t)s);
    return 0;
}

/* Parse "D_US uniform|pareto T_S" at argv[at..]: mean duration in
 * microseconds, distribution, ideal seconds per worker.  The item count is
 * n = round(T * workers / D), so every configuration has the same ideal
 * (uniform) makespan T whatever its rank count and task duration.
 * 0 on success, -1 on bad arguments. */
static inline int simwork_parse(simwork *w, int argc, char **argv, int at, int workers) {
    if (argc < at + 3 || workers < 1) return -1;
    char *end;
    double d_us = strtod(argv[at], &end);
    if (end == argv[at] || *end || !(d_us > 0)) return -1;
    if (strcmp(argv[at + 1], "uniform") == 0) w->dist = SIMWORK_UNIFORM;
    else if (strcmp(argv[at + 1], "pareto") == 0) w->dist = SIMWORK_PARETO;
    else return -1;
    double t = strtod(argv[at + 2], &end);
    if (end == argv[at + 2] || *end || !(t > 0)) return -1;
    w->mean = d_us * 1e-6;
    double n = floor(t * (double)workers / w->mean + 0.5);
    if (n < 1 || n > 4294967295.0) return -1;
    w->n = (size_t)n;
    return simwork_seed(&w->seed);
}

static inline const char *simwork_dist_name(const simwork *w) {
    return w->dist == SIMWORK_UNIFORM ? "uniform" : "pareto";
}

/* 0 if a simulated makespan can be right: never below the lower bound.
 * Below it means the injected task time was not charged in full, e.g.
 * smpi/host-speed differs from the platform's host speed (smpi_execute()
 * runs duration * host-speed flops on the simulated host). */
static inline int simwork_check_makespan(const char *prog, double makespan, double ideal) {
    if (makespan >= ideal * (1 - 1e-9)) return 0;
    fprintf(stderr, "%s: simulated makespan %.9f s is below the lower bound %.9f s: "
            "is --cfg=smpi/host-speed the platform's host speed?\n", prog, makespan, ideal);
    return -1;
}

/* The one machine-readable line run.sh parses. */
static inline void simwork_result_line(const char *impl, const simwork *w, int ranks, double makespan,
                                       double ideal, double sum, double longest, const char *extra) {
    printf("SCALE impl=%s ranks=%d dur_us=%g dist=%s n=%zu makespan=%.9f ideal=%.9f sum=%.9f "
           "longest=%.9f efficiency=%.6f%s%s\n",
           impl, ranks, w->mean * 1e6, simwork_dist_name(w), w->n, makespan, ideal, sum, longest,
           makespan > 0 ? ideal / makespan : 0.0, extra && *extra ? " " : "", extra ? extra : "");
    fflush(stdout);
}

#endif /* BENCH_SCALE_SIMWORK_H */
