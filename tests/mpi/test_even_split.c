/*
 * test_even_split.c — a group leader with even, long items (group.c,
 * even_long): each GROUP chunk is split evenly, one share a rank, the
 * leader keeping its own part (mpipool__plan_even_keep) and running it in
 * runs that last while its members stay busy (mpipool__plan_own_run); a
 * member that would sit idle takes one of the leader's items.
 *
 * Run with the hierarchy forced on in groups of 3 (CTest): at 4 ranks rank
 * 1 leads ranks 2 and 3; at 2 ranks the one worker is a group of one, which
 * keeps every item of its chunks; at 1 rank the master runs everything.
 * N items of 1 ms each (0.5 ms or more, so the split applies once the
 * group has timed two shares a rank, unless a busy machine makes one item
 * look like a heavy tail, or take twice as long as another), automatic
 * chunks.  A temporary print in group.c, in 5 runs at 4 ranks while two
 * simulations loaded the machine, showed (over the two maps) 10 to 32
 * shares split evenly, up to 7 items taken from the leader's part by an
 * idle member, and 7 to 15 own runs of more than one item; which share
 * went where is timing, not asserted (the arithmetic is test_plan's).
 * At 4 ranks the group is the whole pool, and once its leader says its
 * items are even the master sends the rest of each map as fair parts
 * (dispatch.c, fair_count): a temporary print there showed 3 or 4 fair
 * chunks a run in 4 runs, while two simulations loaded the machine.
 *
 * Checks at 1, 2 and 4 ranks:
 *  - item FAIL fails: MPIPOOL_ETASK from the map, its status ETASK and its
 *    message naming it; every other result right, in its place, status OK;
 *  - every item ran exactly once (counters every rank maps), so a chunk's
 *    items went once to a member, the leader or a member idle enough to
 *    take one of the leader's, never twice;
 *  - at 4 ranks, the leader and both members ran items;
 *  - the same map without the failure, journalled: the journal holds every
 *    item exactly once with its result.
 *
 * Run too at 4 ranks in groups of 2 with EVEN_SPLIT_FAST_RANK=3: rank 1
 * leads rank 2, and rank 3, a "group" of one, takes plain chunks and runs
 * its items four times as fast, so it runs far more than a third of the
 * map.  The leader's fair part (a share of n by its ranks) is then more
 * than is left: a fair chunk must still end at item N - 1.  (It did not:
 * the master sent items past the end, and the map ended MPIPOOL_ECANCELED
 * with "18446744073709551615 of 300 items not run"; seen once in CI's
 * 3-host run of test_heavy_hier.)  No task ever sees an index past N - 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "internal.h"
#include "journal.h"
#include "once.h"

enum { N = 240, FAIL = 101 };

typedef struct {
    _Atomic uint32_t runs[N];
    _Atomic uint32_t by_rank[8];
    _Atomic int32_t fail; /* 1: item FAIL fails */
    _Atomic uint32_t past_end; /* tasks that saw an index >= N */
} shared_t;

static mpipool *pool;
static shared_t *sh;
static char shm_path[256], journal_path[300];
static int fast_rank = -1; /* EVEN_SPLIT_FAST_RANK: its items take 0.25 ms */

static int five(mpipool_task *t) {
    uint64_t x = *(const uint64_t *)t->in;
    struct timespec ts = {0, t->rank == fast_rank ? 250000 : 1000000};
    nanosleep(&ts, NULL);
    if (t->index >= N) {
        atomic_fetch_add(&sh->past_end, 1);
        return mpipool_task_fail(t, "item %zu is past the map's end", t->index);
    }
    atomic_fetch_add(&sh->runs[t->index], 1);
    if (t->rank >= 0 && t->rank < 8) atomic_fetch_add(&sh->by_rank[t->rank], 1);
    if (t->index == FAIL && atomic_load(&sh->fail)) return mpipool_task_fail(t, "item %zu refused", t->index);
    *(uint64_t *)t->out = 5 * x + 2;
    return 0;
}
MPIPOOL_TASK(five);

static uint64_t want(uint64_t index) {
    return 5 * index + 2;
}

static uint64_t in[N], out[N];
static int status[N];
static char *messages[N];

/* One map; fail: item FAIL fails.  Checks all but the journal. */
static void run_map(const char *journal, int fail) {
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = journal;
    o.status = status;
    o.messages = messages;
    for (int i = 0; i < N; i++) {
        in[i] = (uint64_t)i;
        out[i] = 0;
        atomic_store(&sh->runs[i], 0);
    }
    for (int r = 0; r < 8; r++) atomic_store(&sh->by_rank[r], 0);
    atomic_store(&sh->fail, fail);
    atomic_store(&sh->past_end, 0);
    int rc = mpipool_map(pool, five, in, sizeof in[0], out, sizeof out[0], N, &o);
    if (rc != (fail ? MPIPOOL_ETASK : MPIPOOL_OK))
        fail_msg("map returned %s: %s", mpipool_err_name(rc), mpipool_last_error(pool));
    assert_int_equal(atomic_load(&sh->past_end), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(atomic_load(&sh->runs[i]), 1);
        if (fail && i == FAIL) {
            assert_int_equal(status[i], MPIPOOL_ETASK);
            assert_non_null(messages[i]);
            assert_non_null(strstr(messages[i], "item 101 refused"));
        } else {
            assert_int_equal(status[i], MPIPOOL_OK);
            assert_null(messages[i]);
            assert_int_equal(out[i], want((uint64_t)i));
        }
        free(messages[i]);
        messages[i] = NULL;
    }
    if (mpipool_size(pool) == 3) /* 4 ranks: rank 1 leads ranks 2 and 3 */
        for (int r = 1; r <= 3; r++) assert_true(atomic_load(&sh->by_rank[r]) > 0);
}

static void test_even_split(void **state) {
    (void)state;
    run_map("", 1);
}

static void test_even_split_journal(void **state) {
    (void)state;
    run_map(journal_path, 0);
}

static void attach(void *shared) {
    sh = shared;
}

int main(int argc, char **argv) {
    const char *fast = getenv("EVEN_SPLIT_FAST_RANK");
    if (fast) fast_rank = atoi(fast);
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_even_split),
        cmocka_unit_test(test_even_split_journal),
    };
    once_prog p = {"test_even_split", "even_split", "even_split", sizeof(shared_t), attach, &pool, shm_path,
                   journal_path, tests, 2, (uint64_t)N, want};
    return once_main(argc, argv, &p);
}
