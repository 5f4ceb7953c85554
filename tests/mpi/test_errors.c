/*
 * test_errors.c — the failure paths of a pool over MPI_COMM_WORLD: failing
 * tasks (with and without a message, dynamic and static, in apply), an
 * unregistered function, bad arguments, calls on the wrong rank, and a
 * closed pool.  After every refusal the same pool must still run a map
 * correctly, which is how "nothing was sent" shows: a stray message would
 * desynchronise the next map.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <time.h>
#include "harness.h"

static mpipool *pool;
static int world_size;

typedef struct {
    int32_t value;
    int32_t rank;
} res;

/* Fails on the items whose value is 17 or 40, after writing into its slot. */
static int fail_some(mpipool_task *t) {
    int32_t v = *(const int32_t *)t->in;
    res *o = t->out;
    o->rank = t->rank;
    if (v == 17 || v == 40) {
        o->value = -v;
        return mpipool_task_fail(t, "value %d out of range", v);
    }
    o->value = 3 * v;
    return 0;
}
MPIPOOL_TASK(fail_some);

/* Fails on index 3 without a message and without writing anything. */
static int fail_silently(mpipool_task *t) {
    if (t->index == 3) return 42;
    res *o = t->out;
    o->value = 3 * *(const int32_t *)t->in;
    o->rank = t->rank;
    return 0;
}
MPIPOOL_TASK(fail_silently);

/* Every item fails with a message far over the 511-byte limit. */
static int fail_long(mpipool_task *t) {
    char big[2001];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    return mpipool_task_fail(t, "%s", big);
}
MPIPOOL_TASK(fail_long);

static int triple(mpipool_task *t) {
    res *o = t->out;
    o->value = 3 * *(const int32_t *)t->in;
    o->rank = t->rank;
    return 0;
}
MPIPOOL_TASK(triple);

/* The same task registered with its types: other sizes are refused. */
static int triple_typed(mpipool_task *t) { return triple(t); }
MPIPOOL_TASK_TYPED(triple_typed, int32_t, res);

/* Uneven work for test_failure_message_matches_item: items in
 * [slow_from, slow_to) take about 3 ms, items from fail_from on fail with a
 * message naming their own value. */
typedef struct {
    int32_t v, fail_from, slow_from, slow_to;
} uneven_item;

static void busy_us(long us) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

static int uneven(mpipool_task *t) {
    const uneven_item *it = t->in;
    *(int32_t *)t->out = it->v;
    if (it->v >= it->slow_from && it->v < it->slow_to) busy_us(3000);
    if (it->v >= it->fail_from) return mpipool_task_fail(t, "value %d out of range", it->v);
    return 0;
}
MPIPOOL_TASK(uneven);

/* Deliberately never registered. */
static int not_registered(mpipool_task *t) {
    (void)t;
    return 0;
}

enum { N = 100 };
static int32_t in[N];
static res out[N];

static void reset_io(void) {
    for (int i = 0; i < N; i++) in[i] = i;
    memset(out, 0x5A, sizeof out);
}

/* A correct map on the pool, proving it is still in step with the workers. */
static void pool_still_works(void) {
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    for (int sched = 0; sched < 2; sched++) {
        reset_io();
        o.schedule = sched ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
        assert_rc(pool, mpipool_map(pool, triple, in, sizeof *in, out, sizeof *out, N, &o),
                  MPIPOOL_OK);
        for (int i = 0; i < N; i++) {
            if (out[i].value != 3 * i || !harness_worker_rank_ok(out[i].rank, world_size))
                fail_msg("after an error: item %d is (%d, %d)", i, out[i].value, out[i].rank);
        }
    }
    int32_t x = 5;
    res r = {0, -1};
    assert_rc(pool, mpipool_apply(pool, triple, &x, sizeof x, &r, sizeof r), MPIPOOL_OK);
    assert_int_equal(r.value, 15);
}

/* After a fail_some map: the two failures and every other item. */
static void check_fail_some(int rc) {
    const char *e = mpipool_last_error(pool);
    if (rc != MPIPOOL_ETASK)
        fail_msg("map returned %s, expected MPIPOOL_ETASK (\"%s\")", mpipool_err_name(rc), e);
    assert_contains(e, "fail_some");
    assert_contains(e, "value 17 out of range");
    if (!harness_names_item(e, 17)) fail_msg("\"%s\" does not name item 17", e);
    /* The failed slot holds what the task wrote, including its rank. */
    assert_int_equal(out[17].value, -17);
    assert_int_equal(out[40].value, -40);
    assert_true(harness_worker_rank_ok(out[17].rank, world_size));
    if (!harness_names_rank(e, out[17].rank))
        fail_msg("\"%s\" does not name rank %d, which ran item 17", e, out[17].rank);
    for (int i = 0; i < N; i++) {
        if (i == 17 || i == 40) continue;
        if (out[i].value != 3 * i || !harness_worker_rank_ok(out[i].rank, world_size))
            fail_msg("item %d is (%d, %d) next to failed items", i, out[i].value, out[i].rank);
    }
}

static void test_task_fail_dynamic(void **state) {
    (void)state;
    const size_t chunks[] = {0, 1, 7, 1000};
    for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
        reset_io();
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.chunk_size = chunks[k];
        check_fail_some(mpipool_map(pool, fail_some, in, sizeof *in, out, sizeof *out, N, &o));
        assert_contains(mpipool_last_error(pool), "mpipool_map");
        pool_still_works();
    }
}

static void test_task_fail_static(void **state) {
    (void)state;
    reset_io();
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.schedule = MPIPOOL_SCHEDULE_STATIC;
    check_fail_some(mpipool_map(pool, fail_some, in, sizeof *in, out, sizeof *out, N, &o));
    pool_still_works();
}

static void test_task_fail_silent(void **state) {
    (void)state;
    for (int sched = 0; sched < 2; sched++) {
        reset_io();
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.schedule = sched ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
        assert_rc(pool, mpipool_map(pool, fail_silently, in, sizeof *in, out, sizeof *out, N, &o),
                  MPIPOOL_ETASK);
        const char *e = mpipool_last_error(pool);
        assert_contains(e, "fail_silently");
        if (!harness_names_item(e, 3)) fail_msg("\"%s\" does not name item 3", e);
        /* Nothing written: the slot is zeros, not the caller's 0x5A bytes. */
        assert_int_equal(out[3].value, 0);
        assert_int_equal(out[3].rank, 0);
        for (int i = 0; i < N; i++)
            if (i != 3 && out[i].value != 3 * i) fail_msg("item %d is %d", i, out[i].value);
    }
    pool_still_works();
}

static void test_task_fail_all_long(void **state) {
    (void)state;
    reset_io();
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 3;
    assert_rc(pool, mpipool_map(pool, fail_long, in, sizeof *in, out, sizeof *out, 50, &o),
              MPIPOOL_ETASK);
    const char *e = mpipool_last_error(pool);
    /* The first failed item is item 0, whichever worker reported first. */
    if (!harness_names_item(e, 0)) fail_msg("\"%s\" does not name item 0", e);
    size_t ys = 0;
    for (const char *p = e; *p; p++) ys += *p == 'y';
    if (ys < 400 || ys > 511) fail_msg("the message kept %zu of 2000 bytes", ys);
    pool_still_works();
}

/* The message reported must be the one of the item reported, however the
 * results of several failing chunks interleave.  Each worker gets a quick
 * item then a slow failing one; while the slow one runs the master goes
 * idle and hands that worker a quick failing item, so two failed chunks
 * of one worker usually come back together, the later one first in the
 * master's slot order.  The first failed item is always item W (worker 1's
 * slow item) and its message must say "value W". */
static void test_failure_message_matches_item(void **state) {
    (void)state;
    enum { NU = 64, REPS = 100 };
    int32_t w = mpipool_size(pool);
    uneven_item items[NU];
    int32_t res_v[NU];
    char want[64];
    snprintf(want, sizeof want, "value %d out of range", (int)w);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1;
    for (int rep = 0; rep < REPS; rep++) {
        for (int i = 0; i < NU; i++) items[i] = (uneven_item){i, w, w, 2 * w};
        memset(res_v, 0, sizeof res_v);
        assert_rc(pool, mpipool_map(pool, uneven, items, sizeof *items, res_v, sizeof *res_v, NU, &o),
                  MPIPOOL_ETASK);
        const char *e = mpipool_last_error(pool);
        if (!harness_names_item(e, (size_t)w) || strstr(e, want) == NULL)
            fail_msg("map %d: \"%s\" should name item %d and \"%s\"", rep, e, (int)w, want);
        for (int i = 0; i < NU; i++) assert_int_equal(res_v[i], i);
    }
    pool_still_works();
}

static void test_apply_fail(void **state) {
    (void)state;
    int32_t x = 40;
    res r = {1234, 1234};
    assert_rc(pool, mpipool_apply(pool, fail_some, &x, sizeof x, &r, sizeof r), MPIPOOL_ETASK);
    const char *e = mpipool_last_error(pool);
    assert_contains(e, "fail_some");
    assert_contains(e, "value 40 out of range");
    if (!harness_names_item(e, 0)) fail_msg("\"%s\" does not name item 0", e);
    assert_int_equal(r.value, -40);
    pool_still_works();
}

/* A task that calls MPI_Finalize (which would hang every MPI) is refused:
 * the call fails, the item fails naming it, the pool goes on. */
static int finalizer(mpipool_task *t) {
    *(int32_t *)t->out = MPI_Finalize() == MPI_SUCCESS ? 1 : 2;
    return 0;
}
MPIPOOL_TASK(finalizer);

static void test_task_calls_finalize(void **state) {
    (void)state;
    int32_t x = 5, y = 0;
    assert_rc(pool, mpipool_apply(pool, finalizer, &x, sizeof x, &y, sizeof y), MPIPOOL_ETASK);
    assert_contains(mpipool_last_error(pool), "called MPI_Finalize");
    pool_still_works();
}

static void test_unregistered(void **state) {
    (void)state;
    reset_io();
    assert_rc(pool, mpipool_map(pool, not_registered, in, sizeof *in, out, sizeof *out, N, NULL),
              MPIPOOL_ENOTREG);
    assert_true(strlen(mpipool_last_error(pool)) > 0);
    /* Nothing ran. */
    const unsigned char *c = (const unsigned char *)out;
    for (size_t i = 0; i < sizeof out; i++) assert_int_equal(c[i], 0x5A);
    int32_t x = 1;
    res r;
    assert_rc(pool, mpipool_apply(pool, not_registered, &x, sizeof x, &r, sizeof r),
              MPIPOOL_ENOTREG);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.schedule = MPIPOOL_SCHEDULE_STATIC;
    assert_rc(pool, mpipool_map(pool, not_registered, in, sizeof *in, out, sizeof *out, N, &o),
              MPIPOOL_ENOTREG);
    pool_still_works();
}

static void expect_einval(int rc, const char *what) {
    if (rc != MPIPOOL_EINVAL)
        fail_msg("returned %s, expected MPIPOOL_EINVAL for %s", mpipool_err_name(rc), what);
    assert_contains(mpipool_last_error(pool), what);
}

static void test_bad_arguments(void **state) {
    (void)state;
    reset_io();
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    expect_einval(mpipool_map(pool, triple, NULL, sizeof *in, out, sizeof *out, N, NULL),
                  "in is NULL");
    expect_einval(mpipool_map(pool, triple, in, sizeof *in, NULL, sizeof *out, N, NULL),
                  "out is NULL");
    expect_einval(mpipool_map(pool, triple_typed, in, 0, out, sizeof *out, N, NULL), "'triple_typed' was registered");
    expect_einval(mpipool_map(pool, triple_typed, in, sizeof *in, out, 0, N, NULL), "this call passes 4 and 0");
    o.schedule = (mpipool_schedule)9;
    expect_einval(mpipool_map(pool, triple, in, sizeof *in, out, sizeof *out, N, &o), "schedule");
    o.schedule = MPIPOOL_SCHEDULE_STATIC;
    o.flags = 0x80u; /* no such flag */
    expect_einval(mpipool_map(pool, triple, in, sizeof *in, out, sizeof *out, N, &o), "flags");
    o.flags = MPIPOOL_MAP_HIERARCHY | MPIPOOL_MAP_FLAT;
    expect_einval(mpipool_map(pool, triple, in, sizeof *in, out, sizeof *out, N, &o), "MPIPOOL_MAP_FLAT");
    o.flags = 0;
    o.reserved[1] = &o;
    expect_einval(mpipool_map(pool, triple, in, sizeof *in, out, sizeof *out, N, &o), "reserved");
    /* In place is refused: results would overwrite items not yet sent. */
    expect_einval(mpipool_map(pool, triple, in, sizeof *in, in, sizeof *in, N, NULL), "overlap");
    /* Items of any size are allowed (sent in pieces); n * size overflowing
     * the address space is refused before anything is read. */
    assert_rc(pool, mpipool_map(pool, triple, in, SIZE_MAX / 2, out, sizeof *out, 3, NULL),
              MPIPOOL_EOVERFLOW);
    expect_einval(mpipool_apply(pool, triple, NULL, sizeof *in, out, sizeof *out), "in is NULL");
    expect_einval(mpipool_apply(pool, triple_typed, in, 0, out, sizeof *out), "this call passes 0 and 8");
    /* The refused calls ran nothing. */
    const unsigned char *c = (const unsigned char *)out;
    for (size_t i = 0; i < sizeof out; i++) assert_int_equal(c[i], 0x5A);
    /* A NULL function is refused too, as invalid or as not registered. */
    int rc = mpipool_map(pool, NULL, in, sizeof *in, out, sizeof *out, N, NULL);
    if (rc != MPIPOOL_EINVAL && rc != MPIPOOL_ENOTREG)
        fail_msg("map with fn == NULL returned %s", mpipool_err_name(rc));
    pool_still_works();
}

static void test_null_pool(void **state) {
    (void)state;
    reset_io();
    int rc = mpipool_map(NULL, triple, in, sizeof *in, out, sizeof *out, N, NULL);
    if (rc != MPIPOOL_EINVAL && rc != MPIPOOL_ECLOSED)
        fail_msg("map on a NULL pool returned %s", mpipool_err_name(rc));
    rc = mpipool_apply(NULL, triple, in, sizeof *in, out, sizeof *out);
    if (rc != MPIPOOL_EINVAL && rc != MPIPOOL_ECLOSED)
        fail_msg("apply on a NULL pool returned %s", mpipool_err_name(rc));
    rc = mpipool_serve(NULL);
    if (rc != MPIPOOL_EINVAL && rc != MPIPOOL_ECLOSED)
        fail_msg("serve on a NULL pool returned %s", mpipool_err_name(rc));
    assert_non_null(mpipool_last_error(NULL));
    assert_rc(pool, mpipool_close(NULL), MPIPOOL_OK);
    pool_still_works();
}

static void test_serve_on_master(void **state) {
    (void)state;
    assert_rc(pool, mpipool_serve(pool), MPIPOOL_ENOTWORKER);
    /* Nothing was freed or closed. */
    assert_int_equal(mpipool_is_master(pool), 1);
    pool_still_works();
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_errors");

    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_task_fail_dynamic),
            cmocka_unit_test(test_task_fail_static),
            cmocka_unit_test(test_task_fail_silent),
            cmocka_unit_test(test_task_fail_all_long),
            cmocka_unit_test(test_failure_message_matches_item),
            cmocka_unit_test(test_apply_fail),
            cmocka_unit_test(test_unregistered),
            cmocka_unit_test(test_task_calls_finalize),
            cmocka_unit_test(test_bad_arguments),
            cmocka_unit_test(test_null_pool),
            cmocka_unit_test(test_serve_on_master),
        };
        if (cmocka_run_group_tests_name("errors", tests, NULL, NULL) != 0) harness_failed = 1;

        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
        /* The pool is gone; the library recognises the stale pointer. */
        CHECK_RC(mpipool_close(pool), MPIPOOL_ECLOSED);
        reset_io();
        CHECK_RC(mpipool_map(pool, triple, in, sizeof *in, out, sizeof *out, N, NULL),
                 MPIPOOL_ECLOSED);
        CHECK_RC(mpipool_apply(pool, triple, in, sizeof *in, out, sizeof *out), MPIPOOL_ECLOSED);
        CHECK_RC(mpipool_serve(pool), MPIPOOL_ECLOSED);
        CHECK(out[0].value == 0x5A5A5A5A);
        CHECK_RC(mpipool_close(NULL), MPIPOOL_OK);
    } else {
        /* Master-only calls on a worker are refused locally, before serving,
         * and must not disturb the master. */
        reset_io();
        CHECK_RC(mpipool_map(pool, triple, in, sizeof *in, out, sizeof *out, N, NULL),
                 MPIPOOL_ENOTMASTER);
        CHECK_RC(mpipool_apply(pool, triple, in, sizeof *in, out, sizeof *out),
                 MPIPOOL_ENOTMASTER);
        CHECK(out[0].value == 0x5A5A5A5A);
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
        /* serve closed this rank's side: the pointer is stale now. */
        CHECK_RC(mpipool_close(pool), MPIPOOL_ECLOSED);
        CHECK_RC(mpipool_serve(pool), MPIPOOL_ECLOSED);
    }
    return harness_finish("test_errors");
}
