/*
 * test_heavy.c — heavy tails (src/plan.c, mpipool__plan_depth and
 * mpipool__plan_heavy): once a map's items are found heavy-tailed and
 * long, a worker holds one chunk, never a second one queued behind an item
 * that may run for seconds.
 *
 * The map has N items of about 1 ms each (the task sleeps: the durations
 * are the workload, not synchronisation).  Item T takes 20 ms, more than
 * four times the mean so far: when it comes back the master knows the map
 * is heavy-tailed.  Item L, well after T, is "long": its task waits until
 * every other item has run, counted in a file every rank maps.  With one
 * chunk per worker nothing waits behind item L, the other workers run
 * everything else, and item L returns.  With a second chunk queued behind
 * it, those items could only run after it: item L gives up after
 * GIVE_UP_S seconds and the test fails (a bound so that a regression fails
 * instead of hanging; when the rule holds, item L returns as soon as the
 * rest is done).  With one worker, or with the hierarchy on (a group's
 * chunks are its leader's to share out), item L does not wait.
 *
 * Checks, at 1, 2 and 4 ranks, and at 4 with the hierarchy forced on:
 *  - every result is right and in its place, every status MPIPOOL_OK;
 *  - every item ran exactly once (per-item run counters in the file);
 *  - with two or more flat workers, item L saw every other item done;
 *  - the same with a journal, which holds every item exactly once.
 */
#include <stdatomic.h>
#include <time.h>
#include "harness.h"
#include "internal.h"
#include "journal.h"
#include "once.h"

enum { N = 300, T = 20, L = 200 };
#define GIVE_UP_S 20.0

typedef struct {
    _Atomic uint64_t done;       /* items finished, on any rank  */
    _Atomic uint32_t runs[N];    /* how often each item ran      */
    _Atomic int32_t alone;       /* item L saw all others done   */
    int32_t wait;                /* item L waits for the others  */
} shared_t;

static mpipool *pool;
static shared_t *sh;
static char shm_path[256], journal_path[300];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void nap(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Item L: until every other item is done (or GIVE_UP_S has passed). */
static void wait_for_the_rest(void) {
    double t0 = now();
    while (atomic_load(&sh->done) < N - 1) {
        if (now() - t0 > GIVE_UP_S) return;
        nap(1e-3);
    }
    atomic_store(&sh->alone, 1);
}

static int heavy(mpipool_task *t) {
    uint64_t x = *(const uint64_t *)t->in;
    if (t->index == L && sh->wait) wait_for_the_rest();
    else nap(t->index == T ? 20e-3 : 1e-3);
    *(uint64_t *)t->out = 5 * x + 2;
    atomic_fetch_add(&sh->runs[t->index], 1);
    atomic_fetch_add(&sh->done, 1);
    return 0;
}
MPIPOOL_TASK(heavy);

static uint64_t in[N], out[N];
static int status[N];

static uint64_t want(uint64_t index) {
    return 5 * in[index] + 2;
}

static int flat(void) {
    const char *h = getenv("MPIPOOL_HIERARCHY");
    return h == NULL || strcmp(h, "on") != 0;
}

static void run_map(const char *journal) {
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.status = status;
    o.journal = journal;
    memset(out, 0, sizeof out);
    for (int i = 0; i < N; i++) atomic_store(&sh->runs[i], 0);
    atomic_store(&sh->done, 0);
    atomic_store(&sh->alone, 0);
    sh->wait = mpipool_size(pool) >= 3 && flat();
    assert_rc(pool, mpipool_map(pool, heavy, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    for (int i = 0; i < N; i++) {
        if (out[i] != want((uint64_t)i) || status[i] != MPIPOOL_OK)
            fail_msg("item %d: result %llu (want %llu), status %s", i, (unsigned long long)out[i],
                     (unsigned long long)want((uint64_t)i), mpipool_err_name(status[i]));
        if (atomic_load(&sh->runs[i]) != 1) fail_msg("item %d ran %u times", i, (unsigned)atomic_load(&sh->runs[i]));
    }
    if (sh->wait && !atomic_load(&sh->alone))
        fail_msg("item %d waited %.0f s and the other items were still not all done: some were queued "
                 "behind it", L, GIVE_UP_S);
}

static void test_heavy(void **state) {
    (void)state;
    run_map("");
}

static void test_heavy_journal(void **state) {
    (void)state;
    run_map(journal_path);
}

static void attach(void *shared) {
    sh = shared;
}

int main(int argc, char **argv) {
    for (int i = 0; i < N; i++) in[i] = (uint64_t)i * 3 + 1;
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heavy),
        cmocka_unit_test(test_heavy_journal),
    };
    once_prog p = {"test_heavy", "heavy", "heavy", sizeof(shared_t), attach, &pool, shm_path, journal_path,
                   tests, sizeof tests / sizeof *tests, N, want};
    return once_main(argc, argv, &p);
}
