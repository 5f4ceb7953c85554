/*
 * test_share_ahead.c — a group leader with long, even items gives a member
 * its second share from its newest chunk before running an item of its
 * own (group.c, mpipool__plan_second_share), so members do not go dry
 * while the leader computes; its oldest chunk keeps items for the leader.
 * The items of one chunk then run out of order across the group, and the
 * chunks still have to be answered whole and in order.
 *
 * Run with the hierarchy forced on in groups of 3 (CTest): at 4 ranks rank
 * 1 leads ranks 2 and 3; at 2 ranks the one worker is a group of one; at 1
 * rank the master runs everything.  Items take 300 us (longer than a
 * leader's own slice, MPIPOOL__OWN_SLICE_SECONDS), automatic chunks, so
 * that near the end of each map the leader holds fewer than two items a
 * rank and the new rule decides (a temporary print in group.c showed it
 * firing 15 times in the two maps at 4 ranks, in each of 4 runs, when
 * this test was written).
 *
 * Checks at 1, 2 and 4 ranks: every result right and in its place, every
 * item run exactly once (counters every rank maps), at 4 ranks the members
 * ran items (the leader relayed them); and the same map with a journal:
 * every item in it exactly once.  (Which share a member held when is
 * timing, not asserted: the decision itself is test_plan's.)
 */
#include <stdatomic.h>
#include <time.h>
#include "harness.h"
#include "internal.h"
#include "journal.h"
#include "once.h"

enum { N = 600 };

typedef struct {
    _Atomic uint32_t runs[N];    /* how often each item ran */
    _Atomic uint32_t by_rank[8]; /* items run, by rank      */
} shared_t;

static mpipool *pool;
static shared_t *sh;
static char shm_path[256], journal_path[300];

static int slow_triple(mpipool_task *t) {
    struct timespec ts = {0, 300000};
    nanosleep(&ts, NULL);
    *(uint64_t *)t->out = 3 * *(const uint64_t *)t->in + 1;
    atomic_fetch_add(&sh->runs[t->index], 1);
    if (t->rank >= 0 && t->rank < 8) atomic_fetch_add(&sh->by_rank[t->rank], 1);
    return 0;
}
MPIPOOL_TASK(slow_triple);

static uint64_t in[N], out[N];

static void run_map(const char *journal) {
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = journal;
    memset(out, 0, sizeof out);
    for (int i = 0; i < N; i++) atomic_store(&sh->runs[i], 0);
    for (int r = 0; r < 8; r++) atomic_store(&sh->by_rank[r], 0);
    assert_rc(pool, mpipool_map(pool, slow_triple, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    for (int i = 0; i < N; i++) {
        if (out[i] != 3 * in[i] + 1)
            fail_msg("item %d: result %llu, want %llu", i, (unsigned long long)out[i],
                     (unsigned long long)(3 * in[i] + 1));
        if (atomic_load(&sh->runs[i]) != 1) fail_msg("item %d ran %u times", i, (unsigned)atomic_load(&sh->runs[i]));
    }
    printf("items by rank: %u %u %u %u\n", atomic_load(&sh->by_rank[0]), atomic_load(&sh->by_rank[1]),
           atomic_load(&sh->by_rank[2]), atomic_load(&sh->by_rank[3]));
    if (mpipool_size(pool) == 3 && (atomic_load(&sh->by_rank[2]) == 0 || atomic_load(&sh->by_rank[3]) == 0))
        fail_msg("members 2 and 3 ran %u and %u items, want some each", atomic_load(&sh->by_rank[2]),
                 atomic_load(&sh->by_rank[3]));
}

static void test_share_ahead(void **state) {
    (void)state;
    run_map("");
}

static void test_share_ahead_journal(void **state) {
    (void)state;
    run_map(journal_path);
}

static uint64_t want(uint64_t index) {
    return 3 * in[index] + 1;
}

static void attach(void *shared) {
    sh = shared;
}

int main(int argc, char **argv) {
    for (int i = 0; i < N; i++) in[i] = (uint64_t)i * 7 + 5;
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share_ahead),
        cmocka_unit_test(test_share_ahead_journal),
    };
    once_prog p = {"test_share_ahead", "share_ahead", "ahead", sizeof(shared_t), attach, &pool, shm_path,
                   journal_path, tests, sizeof tests / sizeof *tests, N, want};
    return once_main(argc, argv, &p);
}
