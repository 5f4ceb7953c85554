/*
 * test_hooks.c — worker set-up and shared data (Pool(initializer, initargs)):
 * mpipool_set_hooks, max_tasks_per_worker, mpipool_broadcast, mpipool_shared
 * and mpipool_task_shared, on pools over MPI_COMM_WORLD opened one after the
 * other with mpipool_open_comm (so MPI outlives each pool and the per-rank
 * counters can be checked, and combined, after the close).
 *
 * Each phase: every rank opens a pool and makes the collective set-up calls;
 * the master maps and checks what the tasks saw while the workers serve;
 * after the close every rank checks its own hook counters.
 */
#include "harness.h"

static int world_size, world_rank;

/* Ranks that run tasks: the workers, or the master in a one-rank pool. */
static int runs_tasks(int rank) { return world_size == 1 || rank != 0; }
static int first_task_rank(void) { return world_size > 1 ? 1 : 0; }

/* ---- hooks ------------------------------------------------------------- */

/* hooks.arg: one per rank and hook set, counting what ran on this rank. */
typedef struct {
    int tag;        /* copied into each state so tasks can tell hook sets apart */
    int fail_from;  /* init fails (returns 42) on ranks >= fail_from; -1: never */
    int init_calls; /* every call, failing or not */
    int fini_calls;
    int generation; /* successful inits so far */
} hookcfg;

typedef struct {
    int rank;       /* mpipool_rank() when init ran */
    int tag;
    int generation; /* hookcfg.generation when init ran: 1, 2, ... */
    int tasks_run;  /* tasks that saw this state */
    size_t big_size;
    uint64_t big_sum; /* checksum of the "big" shared data, read by init */
    int big_present;
} wstate;

static uint64_t fnv1a(const void *p, size_t n) {
    const unsigned char *c = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

static int init_hook(mpipool *pool, void *arg, void **state) {
    hookcfg *cfg = arg;
    cfg->init_calls++;
    if (cfg->fail_from >= 0 && mpipool_rank(pool) >= cfg->fail_from) return 42;
    wstate *s = calloc(1, sizeof *s);
    if (s == NULL) return -1;
    s->rank = mpipool_rank(pool);
    s->tag = cfg->tag;
    s->generation = ++cfg->generation;
    size_t sz = 0;
    const void *big = mpipool_shared(pool, "big", &sz);
    s->big_present = big != NULL;
    s->big_size = sz;
    s->big_sum = big ? fnv1a(big, sz) : 0;
    *state = s;
    return 0;
}

static void fini_hook(mpipool *pool, void *arg, void *state) {
    hookcfg *cfg = arg;
    wstate *s = state;
    cfg->fini_calls++;
    CHECK(s != NULL);
    if (s != NULL) {
        CHECK(s->tag == cfg->tag);
        CHECK(s->rank == world_rank);
        CHECK(pool == NULL || mpipool_rank(pool) == world_rank);
    }
    free(s);
}

static mpipool_hooks make_hooks(hookcfg *cfg, int tag, int fail_from) {
    memset(cfg, 0, sizeof *cfg);
    cfg->tag = tag;
    cfg->fail_from = fail_from;
    mpipool_hooks h = MPIPOOL_HOOKS_INIT;
    h.init = init_hook;
    h.fini = fini_hook;
    h.arg = cfg;
    return h;
}

/* ---- tasks ------------------------------------------------------------- */

typedef struct {
    int32_t rank;
    int32_t has_state;
    int32_t state_rank;
    int32_t tag;
    int32_t generation;
    int32_t nth; /* this task is the nth to see its state */
} probe_out;

static int probe(mpipool_task *t) {
    probe_out *o = t->out;
    wstate *s = t->state;
    o->rank = t->rank;
    o->has_state = s != NULL;
    if (s) {
        s->tasks_run++;
        o->state_rank = s->rank;
        o->tag = s->tag;
        o->generation = s->generation;
        o->nth = s->tasks_run;
    }
    return 0;
}
MPIPOOL_TASK(probe);

enum { SMALL_MAX = 32 };
typedef struct {
    int32_t rank;
    int32_t big_present;
    uint64_t big_size;
    uint64_t big_sum;
    int32_t state_ok; /* init saw the same "big" as the task */
    int32_t small_present;
    uint64_t small_size;
    char small[SMALL_MAX];
    int32_t unknown_null;
    uint64_t unknown_size;
    int32_t zero_present;
    uint64_t zero_size;
} shared_out;

static int read_shared(mpipool_task *t) {
    shared_out *o = t->out;
    wstate *s = t->state;
    o->rank = t->rank;
    size_t sz = 777;
    const void *p = mpipool_task_shared(t, "big", &sz);
    o->big_present = p != NULL;
    o->big_size = sz;
    o->big_sum = p ? fnv1a(p, sz) : 0;
    o->state_ok = s != NULL && s->big_present && s->big_size == sz && p != NULL &&
                  s->big_sum == o->big_sum;
    sz = 777;
    p = mpipool_task_shared(t, "small", &sz);
    o->small_present = p != NULL;
    o->small_size = sz;
    if (p && sz <= SMALL_MAX) memcpy(o->small, p, sz);
    sz = 777;
    o->unknown_null = mpipool_task_shared(t, "no such name", &sz) == NULL;
    o->unknown_size = sz;
    sz = 777;
    o->zero_present = mpipool_task_shared(t, "zero", &sz) != NULL;
    o->zero_size = sz;
    return 0;
}
MPIPOOL_TASK(read_shared);

/* ---- helpers ----------------------------------------------------------- */

static mpipool *open_pool(void) {
    mpipool *pool = NULL;
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "[rank %d] open: %s\n", world_rank, mpipool_last_error(NULL));
        harness_finish("test_hooks");
        exit(1);
    }
    return pool;
}

/* The master runs `master` then closes; the workers serve. */
static void run_pool(mpipool *pool, void (*master)(mpipool *)) {
    if (mpipool_is_master(pool)) {
        master(pool);
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
}

static int sum_world(int v) {
    int s = 0;
    MPI_Allreduce(&v, &s, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    return s;
}

static probe_out *map_probe(mpipool *pool, size_t n, size_t chunk) {
    int32_t *in = calloc(n, sizeof *in);
    probe_out *out = calloc(n, sizeof *out);
    CHECK(in != NULL && out != NULL);
    if (in == NULL || out == NULL) {
        free(in);
        free(out);
        return NULL;
    }
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = chunk;
    int rc = mpipool_map(pool, probe, in, sizeof *in, out, sizeof *out, n, &o);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) fprintf(stderr, "map: %s\n", mpipool_last_error(pool));
    free(in);
    return out;
}

/* Every item ran on a task rank, with that rank's state of hook set `tag`
 * (tag 0: no hooks, so no state). */
static void check_probes(const probe_out *out, size_t n, int tag) {
    int bad = 0;
    for (size_t i = 0; out && i < n && bad < 5; i++) {
        const probe_out *p = &out[i];
        int ok = harness_worker_rank_ok(p->rank, world_size) &&
                 (tag == 0 ? !p->has_state
                           : p->has_state && p->state_rank == p->rank && p->tag == tag);
        if (!ok) {
            fprintf(stderr, "item %zu: rank %d has_state %d state_rank %d tag %d (want %d)\n", i,
                    p->rank, p->has_state, p->state_rank, p->tag, tag);
            harness_failed = 1;
            bad++;
        }
    }
}

/* ---- phase 1: init once per task rank, replacing hooks, fini at close --- */

static hookcfg cfg1a, cfg1b;

static void master_once(mpipool *pool) {
    const size_t n = 300;
    probe_out *out = map_probe(pool, n, 0);
    check_probes(out, n, 2);
    /* No renewal: one state per rank, generation 1, each task counted once. */
    int *count = calloc((size_t)world_size, sizeof *count);
    CHECK(count != NULL);
    for (size_t i = 0; out && count && i < n; i++) {
        CHECK(out[i].generation == 1);
        if (out[i].rank >= 0 && out[i].rank < world_size) count[out[i].rank]++;
    }
    /* The nth values on a rank are 1..count exactly: each distinct, in range. */
    for (int r = 0; out && count && r < world_size; r++) {
        char *seen = calloc((size_t)count[r] + 1, 1);
        CHECK(seen != NULL);
        for (size_t i = 0; seen && i < n; i++) {
            if (out[i].rank != r) continue;
            int k = out[i].nth;
            CHECK(k >= 1 && k <= count[r] && !seen[k]);
            if (k >= 1 && k <= count[r]) seen[k] = 1;
        }
        free(seen);
    }
    free(count);
    free(out);
}

static void phase_once(void) {
    mpipool *pool = open_pool();
    int runs = runs_tasks(world_rank);
    mpipool_hooks h1 = make_hooks(&cfg1a, 1, -1);
    mpipool_hooks h2 = make_hooks(&cfg1b, 2, -1);

    CHECK_RC(mpipool_set_hooks(pool, &h1), MPIPOOL_OK);
    /* init ran right away, once, on each rank that runs tasks, and only there. */
    CHECK(cfg1a.init_calls == runs && cfg1a.fini_calls == 0);
    CHECK(sum_world(cfg1a.init_calls) == mpipool_size(pool));

    /* Replacing: fini for the old state, then init for the new. */
    CHECK_RC(mpipool_set_hooks(pool, &h2), MPIPOOL_OK);
    CHECK(cfg1a.init_calls == runs && cfg1a.fini_calls == runs);
    CHECK(cfg1b.init_calls == runs && cfg1b.fini_calls == 0);

    run_pool(pool, master_once);

    /* fini ran at the close, once, for the state init made: no re-init. */
    CHECK(cfg1a.init_calls == runs && cfg1a.fini_calls == runs);
    CHECK(cfg1b.init_calls == runs && cfg1b.fini_calls == runs);
    CHECK(sum_world(cfg1b.fini_calls) == (world_size > 1 ? world_size - 1 : 1));
}

/* ---- phase 2: max_tasks_per_worker renews the state -------------------- */

enum { RENEW_EVERY = 5, RENEW_ITEMS = 40 };
static hookcfg cfg2;

static void master_renew(mpipool *pool) {
    probe_out *out = map_probe(pool, RENEW_ITEMS, 1);
    check_probes(out, RENEW_ITEMS, 3);
    if (out == NULL) return;
    /* On each rank, the (generation, nth) pairs are exactly the first T_r of
     * (1,1)..(1,5), (2,1)..(2,5), ...: state renewed after every 5 tasks. */
    int max_gen = 0;
    for (int r = 0; r < world_size; r++) {
        char seen[RENEW_ITEMS] = {0};
        int t = 0;
        for (size_t i = 0; i < RENEW_ITEMS; i++)
            if (out[i].rank == r) t++;
        for (size_t i = 0; i < RENEW_ITEMS; i++) {
            if (out[i].rank != r) continue;
            int g = out[i].generation, k = out[i].nth;
            long lin = (long)(g - 1) * RENEW_EVERY + (k - 1);
            if (g < 1 || k < 1 || k > RENEW_EVERY || lin >= t || seen[lin]) {
                fprintf(stderr, "item %zu on rank %d: generation %d, nth %d (%d tasks there)\n",
                        i, r, g, k, t);
                harness_failed = 1;
                continue;
            }
            seen[lin] = 1;
            if (g > max_gen) max_gen = g;
        }
    }
    if (world_size == 1) CHECK(max_gen == RENEW_ITEMS / RENEW_EVERY); /* 1..8 */
    else CHECK(max_gen >= 1);
    free(out);
}

static void phase_renew(void) {
    mpipool *pool = open_pool();
    mpipool_hooks h = make_hooks(&cfg2, 3, -1);
    h.max_tasks_per_worker = RENEW_EVERY;
    CHECK_RC(mpipool_set_hooks(pool, &h), MPIPOOL_OK);
    CHECK(cfg2.init_calls == runs_tasks(world_rank));
    run_pool(pool, master_renew);
    /* Every state init made was finished, renewed or at the close. */
    CHECK(cfg2.init_calls == cfg2.fini_calls);
    CHECK(cfg2.init_calls == cfg2.generation);
    if (!runs_tasks(world_rank)) CHECK(cfg2.init_calls == 0);
    if (world_size == 1) CHECK(cfg2.init_calls >= RENEW_ITEMS / RENEW_EVERY);
}

/* ---- phase 3: init failing, then good hooks ---------------------------- */

static hookcfg cfg3bad, cfg3bad2, cfg3good;

static void master_good_after_fail(mpipool *pool) {
    const size_t n = 50;
    probe_out *out = map_probe(pool, n, 0);
    check_probes(out, n, 5);
    free(out);
}

static void expect_einit(mpipool *pool, const mpipool_hooks *h, int lowest) {
    CHECK_RC(mpipool_set_hooks(pool, h), MPIPOOL_EINIT);
    const char *msg = mpipool_last_error(pool);
    if (!harness_names_rank(msg, lowest) || strstr(msg, "42") == NULL) {
        fprintf(stderr, "[rank %d] EINIT message \"%s\" should name rank %d and 42\n",
                world_rank, msg ? msg : "(null)", lowest);
        harness_failed = 1;
    }
}

static void phase_init_fails(void) {
    mpipool *pool = open_pool();
    int runs = runs_tasks(world_rank);
    int fail_rank = world_size - 1; /* rank 0 in a one-rank pool */

    mpipool_hooks bad = make_hooks(&cfg3bad, 4, fail_rank);
    expect_einit(pool, &bad, fail_rank);
    /* Ranks whose init succeeded ran fini; the failing one has nothing to finish. */
    CHECK(cfg3bad.init_calls == runs);
    CHECK(cfg3bad.fini_calls == (runs && world_rank != fail_rank ? 1 : 0));

    if (world_size > 2) {
        /* Two failing ranks: the message names the lowest. */
        mpipool_hooks bad2 = make_hooks(&cfg3bad2, 4, world_size - 2);
        expect_einit(pool, &bad2, world_size - 2);
        CHECK(cfg3bad2.init_calls == runs);
        CHECK(cfg3bad2.fini_calls == (runs && world_rank < world_size - 2 ? 1 : 0));
    }

    mpipool_hooks good = make_hooks(&cfg3good, 5, -1);
    CHECK_RC(mpipool_set_hooks(pool, &good), MPIPOOL_OK);
    CHECK(cfg3good.init_calls == runs);
    /* The failed calls installed nothing: their fini does not run again. */
    int bad_fini = cfg3bad.fini_calls;
    run_pool(pool, master_good_after_fail);
    CHECK(cfg3bad.fini_calls == bad_fini);
    CHECK(cfg3good.fini_calls == runs);
}

/* ---- phase 4: bad hooks on one rank, then no hooks at all -------------- */

static hookcfg cfg4;

static void master_no_hooks(mpipool *pool) {
    const size_t n = 30;
    probe_out *out = map_probe(pool, n, 0);
    check_probes(out, n, 0);
    free(out);
}

static void phase_bad_hooks(void) {
    mpipool *pool = open_pool();
    mpipool_hooks h = make_hooks(&cfg4, 6, -1);

    /* flags != 0 on the last rank only. */
    mpipool_hooks hf = h;
    if (world_rank == world_size - 1) hf.flags = 1u;
    CHECK_RC(mpipool_set_hooks(pool, &hf), MPIPOOL_EINVAL);
    CHECK(cfg4.init_calls == cfg4.fini_calls);

    /* reserved[0] != NULL on rank 0 only. */
    mpipool_hooks hr = h;
    if (world_rank == 0) hr.reserved[0] = &cfg4;
    CHECK_RC(mpipool_set_hooks(pool, &hr), MPIPOOL_EINVAL);
    CHECK(cfg4.init_calls == cfg4.fini_calls);

    /* And a failing init: still nothing installed. */
    mpipool_hooks bad = make_hooks(&cfg3bad, 4, 0);
    expect_einit(pool, &bad, first_task_rank());

    run_pool(pool, master_no_hooks);
    CHECK(cfg4.init_calls == cfg4.fini_calls);
    CHECK(cfg3bad.fini_calls == 0);
}

/* ---- phase 5: shared data ---------------------------------------------- */

enum { BIG = 3 * 1024 * 1024 };
static const char SMALL1[] = "first";
static const char SMALL2[] = "the second value";
static hookcfg cfg5;
static uint64_t big_sum_want;

static unsigned char big_byte(size_t i) { return (unsigned char)((i * 2654435761u) >> 11 ^ i); }

static void master_shared(mpipool *pool) {
    const size_t n = 20;
    int32_t in[20] = {0};
    shared_out *out = calloc(n, sizeof *out);
    CHECK(out != NULL);
    if (out == NULL) return;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1;
    int rc = mpipool_map(pool, read_shared, in, sizeof *in, out, sizeof *out, n, &o);
    CHECK_RC(rc, MPIPOOL_OK);
    for (size_t i = 0; i < n; i++) {
        const shared_out *s = &out[i];
        int ok = harness_worker_rank_ok(s->rank, world_size) && s->big_present &&
                 s->big_size == BIG && s->big_sum == big_sum_want && s->state_ok &&
                 s->small_present && s->small_size == sizeof SMALL2 &&
                 memcmp(s->small, SMALL2, sizeof SMALL2) == 0 && s->unknown_null &&
                 s->unknown_size == 0 && s->zero_present && s->zero_size == 0;
        if (!ok) {
            fprintf(stderr,
                    "read_shared item %zu on rank %d: big %d/%llu/%s state_ok %d, small %d/%llu "
                    "\"%.*s\", unknown %d/%llu, zero %d/%llu\n",
                    i, s->rank, s->big_present, (unsigned long long)s->big_size,
                    s->big_sum == big_sum_want ? "same" : "DIFFERENT", s->state_ok,
                    s->small_present, (unsigned long long)s->small_size, SMALL_MAX, s->small,
                    s->unknown_null, (unsigned long long)s->unknown_size, s->zero_present,
                    (unsigned long long)s->zero_size);
            harness_failed = 1;
        }
    }
    free(out);
}

static void check_small(const mpipool *pool, const char *want, size_t want_size) {
    size_t sz = 777;
    const char *p = mpipool_shared(pool, "small", &sz);
    CHECK(p != NULL && sz == want_size);
    if (p && sz == want_size) CHECK(memcmp(p, want, want_size) == 0);
}

static void phase_shared(void) {
    mpipool *pool = open_pool();
    int master = mpipool_is_master(pool);

    unsigned char *big = malloc(BIG);
    CHECK(big != NULL);
    if (big == NULL) exit(1);
    for (size_t i = 0; i < BIG; i++) big[i] = big_byte(i);
    big_sum_want = fnv1a(big, BIG);

    /* Nothing shared yet. */
    size_t sz = 777;
    CHECK(mpipool_shared(pool, "big", &sz) == NULL && sz == 0);

    CHECK_RC(mpipool_broadcast(pool, "big", master ? big : NULL, master ? BIG : 0), MPIPOOL_OK);
    /* The pool keeps its own copy: the master's buffer can change. */
    memset(big, 0, BIG);
    sz = 777;
    const unsigned char *got = mpipool_shared(pool, "big", &sz);
    CHECK(got != NULL && sz == BIG);
    if (got && sz == BIG) {
        size_t first_bad = BIG;
        for (size_t i = 0; i < BIG && first_bad == BIG; i++)
            if (got[i] != big_byte(i)) first_bad = i;
        if (first_bad != BIG) {
            fprintf(stderr, "[rank %d] shared \"big\" differs at byte %zu\n", world_rank,
                    first_bad);
            harness_failed = 1;
        }
    }
    CHECK(mpipool_shared(pool, "big", NULL) == got);
    free(big);

    /* The same name again replaces the data, whatever its size. */
    CHECK_RC(mpipool_broadcast(pool, "small", master ? SMALL1 : NULL, master ? sizeof SMALL1 : 0),
             MPIPOOL_OK);
    check_small(pool, SMALL1, sizeof SMALL1);
    CHECK_RC(mpipool_broadcast(pool, "small", master ? SMALL2 : NULL, master ? sizeof SMALL2 : 0),
             MPIPOOL_OK);
    check_small(pool, SMALL2, sizeof SMALL2);

    /* Unknown names. */
    sz = 777;
    CHECK(mpipool_shared(pool, "no such name", &sz) == NULL && sz == 0);
    sz = 777;
    CHECK(mpipool_shared(pool, "smal", &sz) == NULL && sz == 0);

    /* Refused on every rank, changing nothing: an empty name, NULL data with
     * a size on the master. */
    CHECK_RC(mpipool_broadcast(pool, "", master ? SMALL1 : NULL, master ? sizeof SMALL1 : 0),
             MPIPOOL_EINVAL);
    CHECK_RC(mpipool_broadcast(pool, "small", NULL, master ? 10 : 0), MPIPOOL_EINVAL);
    check_small(pool, SMALL2, sizeof SMALL2);
    sz = 777;
    CHECK(mpipool_shared(pool, "", &sz) == NULL && sz == 0);

    /* Zero bytes is fine: present, size 0. */
    CHECK_RC(mpipool_broadcast(pool, "zero", NULL, 0), MPIPOOL_OK);
    sz = 777;
    CHECK(mpipool_shared(pool, "zero", &sz) != NULL && sz == 0);
    CHECK_RC(mpipool_broadcast(pool, "zero", master ? SMALL1 : NULL, 0), MPIPOOL_OK);
    sz = 777;
    CHECK(mpipool_shared(pool, "zero", &sz) != NULL && sz == 0);

    /* init may read the shared data; tasks read it through their task. */
    mpipool_hooks h = make_hooks(&cfg5, 7, -1);
    CHECK_RC(mpipool_set_hooks(pool, &h), MPIPOOL_OK);
    run_pool(pool, master_shared);
    CHECK(cfg5.init_calls == runs_tasks(world_rank) && cfg5.fini_calls == cfg5.init_calls);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);

    phase_once();
    phase_renew();
    phase_init_fails();
    phase_bad_hooks();
    phase_shared();
    return harness_finish("test_hooks");
}
