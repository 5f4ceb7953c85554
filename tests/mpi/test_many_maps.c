/*
 * test_many_maps.c — 200 small maps back to back on one pool, varying the
 * function, the item and result sizes, the schedule, the chunk size and n
 * (including 0 and fewer items than workers), with an apply now and then.
 * Any drift in the wire protocol between maps (a stray message, a result
 * counted against the wrong map) shows up as a wrong result or a hang.
 * Then 20 pools opened and closed in turn on the same communicator (the
 * registry freeze count, the table of live pools and the communicators
 * must all come back to where they were).
 */
#include "harness.h"

static mpipool *pool;
static int world_size;

static int add_index(mpipool_task *t) {
    int64_t x = *(const int64_t *)t->in;
    *(int64_t *)t->out = x + (int64_t)t->index * 1000003;
    return 0;
}
MPIPOOL_TASK(add_index);

/* 2 bytes in, 12 bytes out: map id, index and rank. */
static int tag_item(mpipool_task *t) {
    const unsigned char *c = t->in;
    int32_t *o = t->out;
    o[0] = c[0] | (c[1] << 8);
    o[1] = (int32_t)t->index;
    o[2] = t->rank;
    return 0;
}
MPIPOOL_TASK(tag_item);

static void test_many_maps(void **state) {
    (void)state;
    enum { MAPS = 200, MAXN = 41 };
    for (int m = 0; m < MAPS; m++) {
        size_t n = (size_t)(m * 7) % MAXN; /* 0..40, visits 0 and small n */
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.schedule = (m % 3 == 0) ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
        o.chunk_size = (size_t)(m % 5); /* 0 = automatic, then 1..4 */
        if (m % 2 == 0) {
            int64_t in[MAXN], out[MAXN];
            for (size_t i = 0; i < n; i++) in[i] = (int64_t)m * 100000 + (int64_t)i;
            for (size_t i = 0; i < MAXN; i++) out[i] = -1;
            assert_rc(pool, mpipool_map(pool, add_index, in, sizeof *in, out, sizeof *out, n, &o),
                      MPIPOOL_OK);
            for (size_t i = 0; i < n; i++)
                if (out[i] != in[i] + (int64_t)i * 1000003)
                    fail_msg("map %d (n %zu): item %zu is %lld", m, n, i, (long long)out[i]);
            for (size_t i = n; i < MAXN; i++) assert_true(out[i] == -1); /* no overrun */
        } else {
            unsigned char in[2 * MAXN];
            int32_t out[3 * MAXN];
            for (size_t i = 0; i < n; i++) {
                in[2 * i] = (unsigned char)m;
                in[2 * i + 1] = (unsigned char)(m >> 8);
            }
            memset(out, 0x77, sizeof out);
            assert_rc(pool, mpipool_map(pool, tag_item, in, 2, out, 12, n, &o), MPIPOOL_OK);
            for (size_t i = 0; i < n; i++)
                if (out[3 * i] != m || out[3 * i + 1] != (int32_t)i ||
                    !harness_worker_rank_ok(out[3 * i + 2], world_size))
                    fail_msg("map %d (n %zu): item %zu is (%d, %d, %d)", m, n, i, out[3 * i],
                             out[3 * i + 1], out[3 * i + 2]);
            for (size_t i = 3 * n; i < 3 * MAXN; i++) assert_true(out[i] == 0x77777777);
        }
        if (m % 10 == 9) {
            int64_t x = m, y = 0;
            assert_rc(pool, mpipool_apply(pool, add_index, &x, sizeof x, &y, sizeof y), MPIPOOL_OK);
            assert_true(y == m); /* index 0 */
        }
    }
}

/* Open, map a little, close; on every rank. */
static void open_map_close(int cycle) {
    mpipool *p = NULL;
    int rc = mpipool_open_comm(&p, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return;
    if (!mpipool_is_master(p)) {
        CHECK_RC(mpipool_serve(p), MPIPOOL_OK);
        return;
    }
    int64_t in[9], out[9];
    for (int i = 0; i < 9; i++) in[i] = cycle;
    int mrc = mpipool_map(p, add_index, in, sizeof *in, out, sizeof *out, 9, NULL);
    CHECK_RC(mrc, MPIPOOL_OK);
    for (int i = 0; i < 9 && mrc == MPIPOOL_OK; i++) CHECK(out[i] == cycle + (int64_t)i * 1000003);
    CHECK_RC(mpipool_close(p), MPIPOOL_OK);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_many_maps");
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_many_maps),
        };
        if (cmocka_run_group_tests_name("many_maps", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    for (int cycle = 0; cycle < 20; cycle++) open_map_close(cycle);
    /* Every pool closed: the registry is thawed again. */
    CHECK_RC(mpipool_register("after_all_pools", add_index), MPIPOOL_OK);
    return harness_finish("test_many_maps");
}
