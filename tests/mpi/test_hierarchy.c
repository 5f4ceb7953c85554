/*
 * test_hierarchy.c — hierarchical dispatch for real, under mpiexec, with the
 * hierarchy forced on (MPIPOOL_HIERARCHY=on, groups of MPIPOOL_GROUP_SIZE=2,
 * set by CTest): at 4 ranks rank 1 leads rank 2 and rank 3 is a group of
 * its own; at 2 ranks the one worker is a group of one; at 1 rank the master
 * runs everything.
 *
 *  - results are right and in order, for automatic and fixed chunk sizes
 *    and a batch task, many maps in a row, and async maps at once;
 *  - at 4 ranks the master sends rank 2 nothing (the stats show no chunk
 *    for it) and rank 2 still runs items (each result records its rank):
 *    the leader relayed them; MPIPOOL_MAP_FLAT sends rank 2 chunks directly;
 *  - a failure on an item run by a member names that item and the member's
 *    rank, other items keep their results, statuses and messages per item;
 *  - on_error STOP and max_failures still stop the map;
 *  (the journal with the hierarchy on: test_resume and journal_kill.sh run
 *  again with it forced on, see CMakeLists.txt);
 *  - variable sizes and static maps keep working (they go flat);
 *  - bad settings: MPIPOOL_HIERARCHY=sideways fails the open on every rank
 *    with MPIPOOL_EINVAL naming the variable ("badenv" argument).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"

static mpipool *pool;
static int world_size;

#define N 20000

typedef struct {
    int64_t value;
    int32_t rank;
    int32_t pad;
} result;

static int tag_rank(mpipool_task *t) {
    int64_t x = *(const int64_t *)t->in;
    result *r = t->out;
    r->value = 3 * x + 1;
    r->rank = t->rank;
    r->pad = 0;
    if (x < 0) return mpipool_task_fail(t, "negative input %lld", (long long)x);
    return 0;
}
MPIPOOL_TASK(tag_rank);

static int tag_rank_batch(mpipool_task *t) {
    const int64_t *in = t->in;
    result *r = t->out;
    for (size_t i = 0; i < t->count; i++) {
        r[i].value = 3 * in[i] + 1;
        r[i].rank = t->rank;
        r[i].pad = 0;
    }
    return 0;
}
MPIPOOL_BATCH_TASK(tag_rank_batch);

/* Variable sizes: the item's bytes reversed. */
static int reverse(mpipool_task *t) {
    char *o = mpipool_task_output(t, t->in_size);
    if (o == NULL) return 1;
    for (size_t i = 0; i < t->in_size; i++) o[i] = ((const char *)t->in)[t->in_size - 1 - i];
    return 0;
}
MPIPOOL_TASK(reverse);

static int64_t in[N];
static result out[N];

static void fill_input(void) {
    for (int i = 0; i < N; i++) in[i] = i * 7 - 3 * (i % 5);
}

static void check_results(size_t n, int *ranks_seen) {
    for (size_t i = 0; i < n; i++) {
        if (out[i].value != 3 * in[i] + 1)
            fail_msg("item %zu: %lld, expected %lld", i, (long long)out[i].value, (long long)(3 * in[i] + 1));
        if (!harness_worker_rank_ok(out[i].rank, world_size)) fail_msg("item %zu ran on rank %d", i, out[i].rank);
        if (ranks_seen) ranks_seen[out[i].rank] = 1;
    }
}

static void test_results_in_order(void **state) {
    (void)state;
    int seen[8] = {0};
    fill_input();
    /* automatic chunks, fixed chunks (odd sizes), tiny and empty maps */
    size_t chunks[] = {0, 1, 7, 333};
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.chunk_size = chunks[c];
        memset(out, 0xff, sizeof out);
        assert_rc(pool, mpipool_map(pool, tag_rank, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
        check_results(N, seen);
    }
    size_t small[] = {0, 1, 2, 3, 5};
    for (size_t k = 0; k < sizeof small / sizeof *small; k++) {
        memset(out, 0xff, sizeof out);
        assert_rc(pool, mpipool_map(pool, tag_rank, in, sizeof *in, out, sizeof *out, small[k], NULL), MPIPOOL_OK);
        check_results(small[k], NULL);
    }
    memset(out, 0xff, sizeof out);
    assert_rc(pool, mpipool_map(pool, tag_rank_batch, in, sizeof *in, out, sizeof *out, N, NULL), MPIPOOL_OK);
    check_results(N, seen);
    /* every worker ran items: members, and leaders between scheduling */
    for (int r = world_size > 1 ? 1 : 0; r < world_size; r++)
        if (!seen[r]) fail_msg("rank %d ran no item", r);
}

static void test_async_maps_at_once(void **state) {
    (void)state;
    static result out2[N];
    fill_input();
    mpipool_job *a = NULL, *b = NULL;
    assert_rc(pool, mpipool_map_async(pool, tag_rank, in, sizeof *in, out, sizeof *out, N, NULL, &a), MPIPOOL_OK);
    assert_rc(pool, mpipool_map_async(pool, tag_rank, in, sizeof *in, out2, sizeof *out2, N / 2, NULL, &b),
              MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(b, -1), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(a, -1), MPIPOOL_OK);
    mpipool_job_free(a);
    mpipool_job_free(b);
    check_results(N, NULL);
    for (int i = 0; i < N / 2; i++) assert_int_equal(out2[i].value, 3 * in[i] + 1);
}

/* At 4 ranks with groups of 2, rank 2 is rank 1's member. */
static void test_member_gets_nothing_from_master(void **state) {
    (void)state;
    if (world_size != 4) skip();
    fill_input();
    mpipool_pool_stats st0, st1;
    assert_rc(pool, mpipool_stats(pool, &st0), MPIPOOL_OK);
    /* workers[] is in rank order from rank 1, and the pool's own array:
     * keep the numbers, not the pointer */
    uint64_t before = st0.workers[1].chunks;
    assert_int_equal(st0.workers[1].rank, 2);
    int seen[8] = {0};
    assert_rc(pool, mpipool_map(pool, tag_rank, in, sizeof *in, out, sizeof *out, N, NULL), MPIPOOL_OK);
    check_results(N, seen);
    assert_rc(pool, mpipool_stats(pool, &st1), MPIPOOL_OK);
    uint64_t after = st1.workers[1].chunks;
    if (after != before)
        fail_msg("the master sent rank 2 %llu chunks itself; its leader should have",
                 (unsigned long long)(after - before));
    if (!seen[2]) fail_msg("rank 2 ran no item: the leader kept everything");
    /* ... and with MPIPOOL_MAP_FLAT the master serves rank 2 directly. */
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.flags = MPIPOOL_MAP_FLAT;
    assert_rc(pool, mpipool_map(pool, tag_rank, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    check_results(N, NULL);
    assert_rc(pool, mpipool_stats(pool, &st0), MPIPOOL_OK);
    if (st0.workers[1].chunks == after) fail_msg("MPIPOOL_MAP_FLAT: the master sent rank 2 nothing");
}

static void test_failures_name_item_and_member(void **state) {
    (void)state;
    fill_input();
    int status[N];
    char *messages[N];
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.status = status;
    o.messages = messages;
    o.chunk_size = 10;
    /* Item 4321 fails; find out who runs it by its neighbour's result. */
    in[4321] = -5;
    memset(out, 0, sizeof out);
    assert_rc(pool, mpipool_map(pool, tag_rank, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_ETASK);
    const char *err = mpipool_last_error(pool);
    if (!harness_names_item(err, 4321)) fail_msg("error does not name item 4321: %s", err);
    assert_contains(err, "negative input -5");
    int runner = out[4320].rank; /* same chunk of 10 (4320..4329): same rank */
    if (!harness_names_rank(err, runner)) fail_msg("error does not name rank %d: %s", runner, err);
    for (int i = 0; i < N; i++) {
        if (i == 4321) {
            assert_int_equal(status[i], MPIPOOL_ETASK);
            assert_non_null(messages[i]);
            assert_contains(messages[i], "negative input");
            free(messages[i]);
            continue;
        }
        assert_int_equal(status[i], MPIPOOL_OK);
        assert_null(messages[i]);
        assert_int_equal(out[i].value, 3 * in[i] + 1);
    }
    /* With several failures the first is named; STOP and max_failures stop. */
    for (int i = 0; i < N; i += 1000) in[i] = -1 - i;
    o = (mpipool_map_options)MPIPOOL_MAP_OPTIONS_INIT;
    o.max_failures = 3;
    o.chunk_size = 1;
    assert_rc(pool, mpipool_map(pool, tag_rank, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_ETASK);
    assert_contains(mpipool_last_error(pool), "failed on item");
    o.max_failures = 0;
    o.on_error = MPIPOOL_ON_ERROR_STOP;
    o.status = status;
    assert_rc(pool, mpipool_map(pool, tag_rank, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_ETASK);
    size_t notrun = 0;
    for (int i = 0; i < N; i++) notrun += status[i] == MPIPOOL_ECANCELED;
    if (world_size > 1 && notrun == 0) fail_msg("on_error STOP ran every item");
}

static void test_other_maps_go_flat(void **state) {
    (void)state;
    fill_input();
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.schedule = MPIPOOL_SCHEDULE_STATIC;
    assert_rc(pool, mpipool_map(pool, tag_rank, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    check_results(N, NULL);
    enum { V = 300 };
    static char data[V][40];
    mpipool_buf vin[V], vout[V];
    for (int i = 0; i < V; i++) {
        for (int k = 0; k < i % 40; k++) data[i][k] = (char)('a' + (i + k) % 26);
        vin[i] = (mpipool_buf){data[i], (size_t)(i % 40)};
    }
    assert_rc(pool, mpipool_map(pool, reverse, vin, MPIPOOL_VARIABLE, vout, MPIPOOL_VARIABLE, V, NULL), MPIPOOL_OK);
    for (int i = 0; i < V; i++) {
        assert_int_equal(vout[i].size, vin[i].size);
        for (size_t k = 0; k < vin[i].size; k++) assert_int_equal(((char *)vout[i].data)[k], data[i][vin[i].size - 1 - k]);
        free(vout[i].data);
    }
    /* and a hierarchical map right after them */
    assert_rc(pool, mpipool_map(pool, tag_rank, in, sizeof *in, out, sizeof *out, N, NULL), MPIPOOL_OK);
    check_results(N, NULL);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    if (argc > 1 && strcmp(argv[1], "badenv") == 0) {
        setenv("MPIPOOL_HIERARCHY", "sideways", 1);
        int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
        CHECK_RC(rc, MPIPOOL_EINVAL);
        if (harness_world_rank() == 0) CHECK(strstr(mpipool_last_error(NULL), "MPIPOOL_HIERARCHY") != NULL);
        if (rc == MPIPOOL_OK) mpipool_close(pool);
        unsetenv("MPIPOOL_HIERARCHY");
        setenv("MPIPOOL_GROUP_SIZE", "1", 1);
        rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
        CHECK_RC(rc, MPIPOOL_EINVAL);
        if (harness_world_rank() == 0) CHECK(strstr(mpipool_last_error(NULL), "MPIPOOL_GROUP_SIZE") != NULL);
        if (rc == MPIPOOL_OK) mpipool_close(pool);
        unsetenv("MPIPOOL_GROUP_SIZE");
        /* ... and a good open still works afterwards */
        rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
        CHECK_RC(rc, MPIPOOL_OK);
        if (rc == MPIPOOL_OK) {
            if (mpipool_is_master(pool)) CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
            else CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
        }
        return harness_finish("test_hierarchy badenv");
    }
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_hierarchy");
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_results_in_order),
            cmocka_unit_test(test_async_maps_at_once),
            cmocka_unit_test(test_member_gets_nothing_from_master),
            cmocka_unit_test(test_failures_name_item_and_member),
            cmocka_unit_test(test_other_maps_go_flat),
        };
        if (cmocka_run_group_tests_name("hierarchy", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish("test_hierarchy");
}
