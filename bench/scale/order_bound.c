/*
 * order_bound.c — for each Pareto point of the scale grid (T = 0.05 s), an
 * estimate of the best that a scheduler handing items out in index order
 * can do.
 *
 * At most of these points the ideal time is the longest item alone, so the
 * makespan is when that item starts plus its length.  A scheduler that
 * hands items out in index order (mpipool's dynamic maps, the hand-written
 * dynamic peer) hands out every item ahead of it first, and those have all
 * run by the time it starts except the ones still queued on workers: it
 * starts after about (sum of their durations) / workers, less that queued
 * work (a chunk or two a worker: a few milliseconds at most).  So its
 * efficiency is about at most
 *     ideal / max(sum / workers, prefix / workers + longest).
 * The last column is exact instead: the in-order list schedule with no
 * overhead at all (each item, in index order, to the worker free first),
 * which no real in-order scheduler beats; and beside it the static block
 * schedule's (each worker its own contiguous n / workers items), again
 * with no overhead.
 * Static Scatterv/Gatherv is not in index order across ranks: rank r starts
 * its own block at once, so it starts the longest item after the items
 * ahead of it in its block only, and beats this estimate when that block is
 * short before it (by where the item falls, not by design).
 *
 * Build and run (from the repository root):
 *     cc -O2 -o order_bound bench/scale/order_bound.c -lm && ./order_bound [T_S]
 * T_S is the ideal seconds per worker (default 0.05, the grid's); SCALE_SEED
 * picks another draw of the durations (simwork.h; run.sh --seeds).
 */
#include "simwork.h"

/* The makespan of the in-order list schedule: item i goes to the worker
 * that is free first (a binary heap of the workers' free times). */
static double list_schedule(const simwork *w, int workers) {
    double *h = calloc((size_t)workers, sizeof *h), end = 0;
    if (h == NULL) return 0;
    for (size_t i = 0; i < w->n; i++) {
        h[0] += simwork_duration(w, i);
        if (h[0] > end) end = h[0];
        for (int k = 0;;) { /* sift the root down */
            int l = 2 * k + 1, r = l + 1, m = k;
            if (l < workers && h[l] < h[m]) m = l;
            if (r < workers && h[r] < h[m]) m = r;
            if (m == k) break;
            double t = h[k];
            h[k] = h[m];
            h[m] = t;
            k = m;
        }
    }
    free(h);
    return end;
}

/* The makespan of static blocks: worker r runs items [n r / W, n (r+1) / W). */
static double static_blocks(const simwork *w, int workers) {
    double end = 0;
    for (int r = 0; r < workers; r++) {
        double t = 0;
        for (size_t i = w->n * (size_t)r / (size_t)workers; i < w->n * (size_t)(r + 1) / (size_t)workers; i++)
            t += simwork_duration(w, i);
        if (t > end) end = t;
    }
    return end;
}

int main(int argc, char **argv) {
    uint64_t seed;
    char *end = NULL;
    double t = argc > 1 ? strtod(argv[1], &end) : 0.05;
    if (simwork_seed(&seed) != 0 || (argc > 1 && (end == argv[1] || *end || !(t > 0)))) {
        fprintf(stderr, "order_bound: usage: [SCALE_SEED=N] order_bound [T_S]\n");
        return 2;
    }
    static const int ranks[] = {64, 256, 1024, 4096};
    static const double mean[] = {10e-6, 100e-6, 1e-3};
    printf("ranks    D (us)  n          longest (s)  at (of n)  ideal (s)  in-order estimate  list  static\n");
    for (size_t a = 0; a < sizeof ranks / sizeof *ranks; a++)
        for (size_t b = 0; b < sizeof mean / sizeof *mean; b++) {
            int workers = ranks[a] - 1;
            simwork w = {mean[b], SIMWORK_PARETO, (size_t)(t * workers / mean[b] + 0.5), seed};
            double sum = 0, longest = 0, prefix = 0;
            size_t at = 0;
            for (size_t i = 0; i < w.n; i++) {
                double d = simwork_duration(&w, i);
                if (d > longest) {
                    longest = d;
                    at = i;
                    prefix = sum;
                }
                sum += d;
            }
            double ideal = sum / workers > longest ? sum / workers : longest;
            double best = prefix / workers + longest;
            if (best < sum / workers) best = sum / workers;
            printf("%-8d %-7.0f %-10zu %-12.4f %-10.3f %-10.4f %-18.3f %-5.3f %.3f\n", ranks[a], mean[b] * 1e6,
                   w.n, longest, (double)at / (double)w.n, ideal, ideal / best, ideal / list_schedule(&w, workers),
                   ideal / static_blocks(&w, workers));
        }
    return 0;
}
