/*
 * kernels.h — the workloads the hand-written C peers can run, as
 * (item size, result size, fill the inputs, run one item), built on
 * ../work.h so they run the very kernels the mpipool drivers run.
 *
 *   square N          unsigned -> unsigned square
 *   pareto N TOTAL_MS double microseconds -> int rank (heavy-tailed spin)
 *   const N MS        double microseconds -> int rank (every task MS ms)
 */
#ifndef BENCH_PEER_KERNELS_H
#define BENCH_PEER_KERNELS_H
#include "../work.h"

typedef struct {
    const char *name;
    size_t in_size, out_size;
    size_t n;
    double param;  /* pareto: total ms; const: ms per task */
} peer_work;

static inline int peer_work_parse(peer_work *w, int argc, char **argv, int at) {
    if (argc <= at + 1) return -1;
    w->name = argv[at];
    w->n = (size_t)bench_arg(argc, argv, at + 1, 0);
    w->param = (double)bench_arg(argc, argv, at + 2, 0);
    if (strcmp(w->name, "square") == 0) { w->in_size = w->out_size = sizeof(unsigned); return 0; }
    if (strcmp(w->name, "pareto") == 0 || strcmp(w->name, "const") == 0) {
        w->in_size = sizeof(double); w->out_size = sizeof(int); return 0;
    }
    return -1;
}

static inline void peer_work_fill(const peer_work *w, void *in) {
    if (strcmp(w->name, "square") == 0) {
        unsigned *u = in;
        for (size_t i = 0; i < w->n; i++) u[i] = (unsigned)i;
    } else if (strcmp(w->name, "pareto") == 0) {
        bench_pareto(in, w->n, w->param / 1000.0);
    } else {
        double *d = in;
        for (size_t i = 0; i < w->n; i++) d[i] = w->param * 1000.0;
    }
}

/* Run items [0, count) of a chunk: in/out point at its first item. */
static inline void peer_work_run(const peer_work *w, const void *in, void *out, size_t count, int rank) {
    if (w->in_size == sizeof(unsigned) && strcmp(w->name, "square") == 0) {
        const unsigned *a = in; unsigned *b = out;
        for (size_t i = 0; i < count; i++) b[i] = bench_square(a[i]);
    } else {
        const double *a = in; int *b = out;
        for (size_t i = 0; i < count; i++) { bench_spin(a[i]); b[i] = rank; }
    }
}

/* 0 if out holds the right results for in. */
static inline int peer_work_check(const peer_work *w, const void *in, const void *out) {
    if (strcmp(w->name, "square") == 0) {
        const unsigned *a = in, *b = out;
        for (size_t i = 0; i < w->n; i++) if (b[i] != bench_square(a[i])) return -1;
    } else {
        const int *b = out;
        for (size_t i = 0; i < w->n; i++) if (b[i] <= 0) return -1;
    }
    return 0;
}

/* Extra RESULT fields: the lower bound for spin workloads. */
static inline void peer_work_bound(const peer_work *w, const void *in, int workers, double *lb, double *longest, double *sum) {
    *lb = *longest = *sum = 0;
    if (strcmp(w->name, "square") == 0) return;
    const double *d = in;
    for (size_t i = 0; i < w->n; i++) { *sum += d[i] * 1e-6; if (d[i] * 1e-6 > *longest) *longest = d[i] * 1e-6; }
    *lb = *sum / workers > *longest ? *sum / workers : *longest;
}

static inline const char *peer_workload_name(const peer_work *w) {
    if (strcmp(w->name, "square") == 0) return "squares";
    if (strcmp(w->name, "pareto") == 0) return "pareto";
    return "mastercpu";
}
#endif
