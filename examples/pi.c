/*
 * pi.c — a Monte Carlo estimate of pi, with per-worker state from an init
 * hook (Pool(initializer=..., initargs=...)).
 *
 *     mpirun -n 4 ./build/examples/pi              # 64 batches of 100000 samples
 *     mpirun -n 4 ./build/examples/pi 200 50000
 *     ./build/examples/pi                          # one rank: the master runs the tasks
 *
 * Each rank that runs tasks gets its own random generator from the init
 * hook, seeded from a base seed (the hooks' arg) and its rank, so no two
 * workers draw the same numbers; the fini hook frees it when the pool
 * closes.  Items are batch sizes, results are how many of the batch's random
 * points fell inside the quarter circle.  Prints "pi ~= 3.14..." and exits
 * non-zero if the estimate is off by more than 0.01.  Python equivalent:
 *
 *     def init(seed):
 *         global rng
 *         rng = random.Random(seed + os.getpid())
 *     def hits(n):
 *         return sum(rng.random() ** 2 + rng.random() ** 2 <= 1 for _ in range(n))
 *     with Pool(initializer=init, initargs=(seed,)) as pool:
 *         print(4 * sum(pool.map(hits, [100000] * 64)) / 6400000)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <mpipool.h>

static const double PI = 3.14159265358979323846;

/* A worker's state: a xorshift64* generator. */
typedef struct {
    uint64_t x;
} rng;

static uint64_t splitmix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A double in [0, 1). */
static double rng_next(rng *r) {
    r->x ^= r->x >> 12;
    r->x ^= r->x << 25;
    r->x ^= r->x >> 27;
    return (double)((r->x * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

/* init hook: runs once on each rank that runs tasks, before any task.
 * `arg` is the hooks' arg (here the base seed); *state goes to every task
 * on this rank as task->state. */
static int rng_init(mpipool *pool, void *arg, void **state) {
    rng *r = malloc(sizeof *r);
    if (r == NULL) return 1; /* the pool reports MPIPOOL_EINIT on every rank */
    uint64_t base = *(const uint64_t *)arg;
    r->x = splitmix64(base + (uint64_t)mpipool_rank(pool));
    if (r->x == 0) r->x = 1; /* xorshift must not start at 0 */
    *state = r;
    return 0;
}

/* fini hook: runs on the same ranks when the pool closes. */
static void rng_fini(mpipool *pool, void *arg, void *state) {
    (void)pool;
    (void)arg;
    free(state);
}

/* The task: a batch size in, the number of hits out. */
static int count_hits(mpipool_task *t) {
    rng *r = t->state;
    uint64_t n = *(const uint64_t *)t->in, hits = 0;
    for (uint64_t i = 0; i < n; i++) {
        double x = rng_next(r), y = rng_next(r);
        hits += x * x + y * y <= 1.0;
    }
    *(uint64_t *)t->out = hits;
    return 0;
}
MPIPOOL_TASK(count_hits);

/* argv[i] as a positive integer, `dflt` if absent, 0 if invalid. */
static unsigned long parse_arg(int argc, char **argv, int i, unsigned long dflt) {
    if (argc <= i) return dflt;
    char *end;
    errno = 0;
    long v = strtol(argv[i], &end, 10);
    if (errno != 0 || end == argv[i] || *end != '\0' || v <= 0) return 0;
    return (unsigned long)v;
}

int main(int argc, char **argv) {
    mpipool *pool;
    int rc = mpipool_open(&pool, &argc, &argv);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "pi: %s\n", mpipool_last_error(NULL));
        return 1;
    }

    /* Every rank installs the hooks (a collective call): init runs now on
     * the ranks that run tasks.  The seed lives until the pool closes. */
    static const uint64_t seed = 20240601u;
    mpipool_hooks hooks = MPIPOOL_HOOKS_INIT;
    hooks.init = rng_init;
    hooks.fini = rng_fini;
    hooks.arg = (void *)&seed;
    rc = mpipool_set_hooks(pool, &hooks);
    if (rc != MPIPOOL_OK) {
        /* Every rank got the same code: nobody is left waiting. */
        if (mpipool_is_master(pool))
            fprintf(stderr, "pi: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
        mpipool_close(pool);
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;

    unsigned long batches = parse_arg(argc, argv, 1, 64);
    unsigned long per_batch = parse_arg(argc, argv, 2, 100000);
    if (batches == 0 || per_batch == 0) {
        fprintf(stderr, "pi: usage: pi [BATCHES [SAMPLES_PER_BATCH]]  (default 64 100000)\n");
        mpipool_close(pool);
        return 2;
    }

    uint64_t *in = malloc(batches * sizeof *in), *out = malloc(batches * sizeof *out);
    if (in == NULL || out == NULL) {
        fprintf(stderr, "pi: out of memory for %lu batches\n", batches);
        free(in);
        free(out);
        mpipool_close(pool);
        return 1;
    }
    for (unsigned long i = 0; i < batches; i++) in[i] = per_batch;

    rc = mpipool_map(pool, count_hits, in, sizeof *in, out, sizeof *out, batches, NULL);
    int ok = rc == MPIPOOL_OK;
    if (!ok) {
        fprintf(stderr, "pi: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
    } else {
        uint64_t hits = 0;
        for (unsigned long i = 0; i < batches; i++) hits += out[i];
        double samples = (double)batches * (double)per_batch;
        double estimate = 4.0 * (double)hits / samples;
        printf("pi ~= %.6f\n", estimate);
        printf("%.0f samples in %lu batches over %d worker(s)\n", samples, batches,
               mpipool_size(pool));
        double error = estimate > PI ? estimate - PI : PI - estimate;
        if (error > 0.01) {
            fprintf(stderr, "pi: estimate %.6f is off by more than 0.01\n", estimate);
            ok = 0;
        }
    }

    free(in);
    free(out);
    int crc = mpipool_close(pool); /* runs fini on the workers; finalises MPI */
    if (crc != MPIPOOL_OK) fprintf(stderr, "pi: mpipool_close: %s\n", mpipool_strerror(crc));
    return ok && crc == MPIPOOL_OK ? 0 : 1;
}
