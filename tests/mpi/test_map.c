/*
 * test_map.c — mpipool_map and mpipool_apply on a pool over MPI_COMM_WORLD:
 * results in input order for every size of map (empty, one item, fewer items
 * than workers, large), every chunk size, both schedules, struct items of
 * odd sizes, several maps in a row, and what each task sees (its index, its
 * rank, zeroed output, the sizes).  The master runs the cmocka group while
 * the workers serve.
 */
#include "harness.h"

static mpipool *pool;
static int world_size;

/* Everything a task saw, so the master can check it. */
typedef struct {
    int64_t value;
    uint64_t index;
    int32_t rank;
    uint32_t in_size;
    uint32_t out_size;
    uint32_t flags; /* SAW_ZEROED_OUT | SAW_NULL_STATE */
} rec;
enum { SAW_ZEROED_OUT = 1, SAW_NULL_STATE = 2 };

static int all_zero(const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i]) return 0;
    return 1;
}

static void record(mpipool_task *t, int64_t value) {
    rec *o = t->out;
    uint32_t flags = 0;
    if (all_zero(t->out, t->out_size)) flags |= SAW_ZEROED_OUT;
    if (t->state == NULL) flags |= SAW_NULL_STATE;
    o->value = value;
    o->index = t->index;
    o->rank = t->rank;
    o->in_size = (uint32_t)t->in_size;
    o->out_size = (uint32_t)t->out_size;
    o->flags = flags;
}

static int square_rec(mpipool_task *t) {
    int32_t x = *(const int32_t *)t->in;
    record(t, (int64_t)x * x);
    return 0;
}
MPIPOOL_TASK(square_rec);

static int cube_rec(mpipool_task *t) {
    int32_t x = *(const int32_t *)t->in;
    record(t, (int64_t)x * x * x);
    return 0;
}
MPIPOOL_TASK(cube_rec);

/* starmap-like: a struct in, a different struct out. */
typedef struct {
    double a;
    int b;
} pair_in;
typedef struct {
    double prod;
    int64_t neg_b;
    int32_t rank;
    char tag[4];
} pair_out;

static int pair_task(mpipool_task *t) {
    const pair_in *p = t->in;
    pair_out *o = t->out;
    if (t->in_size != sizeof *p || t->out_size != sizeof *o) return 1;
    o->prod = p->a * p->b;
    o->neg_b = -(int64_t)p->b;
    o->rank = t->rank;
    memcpy(o->tag, "ok!", 4);
    return 0;
}
MPIPOOL_TASK(pair_task);

/* Odd, unaligned sizes: 3 bytes in, 5 bytes out. */
static int rev3(mpipool_task *t) {
    const unsigned char *i = t->in;
    unsigned char *o = t->out;
    if (t->in_size != 3 || t->out_size != 5) return 1;
    o[0] = i[2];
    o[1] = i[1];
    o[2] = i[0];
    o[3] = (unsigned char)(t->index % 251);
    o[4] = (unsigned char)t->rank;
    return 0;
}
MPIPOOL_TASK(rev3);

/* Large items: 64 KiB in, a checksum out. */
enum { BIG_ITEM = 65536 };
static int checksum(mpipool_task *t) {
    const unsigned char *c = t->in;
    uint64_t s = 0;
    for (size_t i = 0; i < t->in_size; i++) s = s * 31 + c[i];
    *(uint64_t *)t->out = s;
    return 0;
}
MPIPOOL_TASK(checksum);

static int workers(void) { return world_size > 1 ? world_size - 1 : 1; }

static int32_t *make_ints(size_t n) {
    int32_t *in = malloc((n ? n : 1) * sizeof *in);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++) in[i] = (int32_t)((i * 7919u) % 46000u) - 23000;
    return in;
}

static rec *make_recs(size_t n) {
    rec *out = malloc((n ? n : 1) * sizeof *out);
    assert_non_null(out);
    memset(out, 0xAB, (n ? n : 1) * sizeof *out); /* the task must see zeros anyway */
    return out;
}

/* Check out[] against in[] for square (cube = 0) or cube (cube = 1). */
static void check_recs(const int32_t *in, const rec *out, size_t n, int cube) {
    for (size_t i = 0; i < n; i++) {
        int64_t x = in[i];
        int64_t want = cube ? x * x * x : x * x;
        if (out[i].value != want || out[i].index != i ||
            !harness_worker_rank_ok(out[i].rank, world_size) ||
            out[i].in_size != sizeof(int32_t) || out[i].out_size != sizeof(rec) ||
            out[i].flags != (SAW_ZEROED_OUT | SAW_NULL_STATE)) {
            fail_msg("item %zu of %zu: value %lld (want %lld), index %llu, rank %d, "
                     "sizes %u/%u, flags %u (want 3)",
                     i, n, (long long)out[i].value, (long long)want,
                     (unsigned long long)out[i].index, out[i].rank, out[i].in_size,
                     out[i].out_size, out[i].flags);
        }
    }
}

static void map_and_check(size_t n, mpipool_schedule schedule, size_t chunk) {
    int32_t *in = make_ints(n);
    rec *out = make_recs(n);
    mpipool_map_options o;
    mpipool_map_options_init(&o);
    o.schedule = schedule;
    o.chunk_size = chunk;
    assert_rc(pool, mpipool_map(pool, square_rec, in, sizeof *in, out, sizeof *out, n, &o),
              MPIPOOL_OK);
    check_recs(in, out, n, 0);
    free(in);
    free(out);
}

static void test_identity(void **state) {
    (void)state;
    assert_int_equal(mpipool_is_master(pool), 1);
    assert_int_equal(mpipool_rank(pool), 0);
    assert_int_equal(mpipool_size(pool), workers());
    assert_int_equal(mpipool_is_master(NULL), 0);
    assert_int_equal(mpipool_rank(NULL), -1);
    assert_int_equal(mpipool_size(NULL), 0);
}

static void test_empty(void **state) {
    (void)state;
    assert_rc(pool, mpipool_map(pool, square_rec, NULL, sizeof(int32_t), NULL, sizeof(rec), 0, NULL),
              MPIPOOL_OK);
    int32_t in[1] = {5};
    rec out[1];
    memset(out, 0xAB, sizeof out);
    assert_rc(pool, mpipool_map(pool, square_rec, in, sizeof *in, out, sizeof *out, 0, NULL),
              MPIPOOL_OK);
    unsigned char *c = (unsigned char *)out;
    for (size_t i = 0; i < sizeof out; i++) assert_int_equal(c[i], 0xAB);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.schedule = MPIPOOL_SCHEDULE_STATIC;
    assert_rc(pool, mpipool_map(pool, square_rec, NULL, sizeof(int32_t), NULL, sizeof(rec), 0, &o),
              MPIPOOL_OK);
}

static void test_one(void **state) {
    (void)state;
    map_and_check(1, MPIPOOL_SCHEDULE_DYNAMIC, 0);
    map_and_check(1, MPIPOOL_SCHEDULE_STATIC, 0);
}

static void test_fewer_than_workers(void **state) {
    (void)state;
    for (size_t n = 1; n <= (size_t)workers() + 1; n++) {
        map_and_check(n, MPIPOOL_SCHEDULE_DYNAMIC, 0);
        map_and_check(n, MPIPOOL_SCHEDULE_STATIC, 0);
        map_and_check(n, MPIPOOL_SCHEDULE_DYNAMIC, 1);
    }
}

static void test_1000(void **state) {
    (void)state;
    map_and_check(1000, MPIPOOL_SCHEDULE_DYNAMIC, 0);
    map_and_check(1000, MPIPOOL_SCHEDULE_STATIC, 0);
}

static void test_100003(void **state) {
    (void)state;
    map_and_check(100003, MPIPOOL_SCHEDULE_DYNAMIC, 0);
    map_and_check(100003, MPIPOOL_SCHEDULE_DYNAMIC, 7);
    map_and_check(100003, MPIPOOL_SCHEDULE_STATIC, 0);
}

static void test_chunk_sizes(void **state) {
    (void)state;
    const size_t n = 1000;
    const size_t chunks[] = {1, 7, 1000, n + 5, 0, SIZE_MAX};
    for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
        map_and_check(n, MPIPOOL_SCHEDULE_DYNAMIC, chunks[k]);
        /* chunk_size means nothing in static mode, but is allowed. */
        map_and_check(n, MPIPOOL_SCHEDULE_STATIC, chunks[k]);
    }
}

static void test_static_equals_dynamic(void **state) {
    (void)state;
    const size_t sizes[] = {3, 1000, 10007};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        int32_t *in = make_ints(n);
        rec *d = make_recs(n), *s = make_recs(n);
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        assert_rc(pool, mpipool_map(pool, cube_rec, in, sizeof *in, d, sizeof *d, n, &o), MPIPOOL_OK);
        o.schedule = MPIPOOL_SCHEDULE_STATIC;
        assert_rc(pool, mpipool_map(pool, cube_rec, in, sizeof *in, s, sizeof *s, n, &o), MPIPOOL_OK);
        check_recs(in, d, n, 1);
        check_recs(in, s, n, 1);
        for (size_t i = 0; i < n; i++) {
            assert_true(d[i].value == s[i].value);
            assert_true(d[i].index == s[i].index);
        }
        /* Static mode is equal shares: with n >= workers every worker runs
         * some items, and the per-rank counts differ by at most one. */
        if (n >= (size_t)workers()) {
            size_t *per = calloc((size_t)world_size, sizeof *per);
            assert_non_null(per);
            for (size_t i = 0; i < n; i++) per[s[i].rank]++;
            size_t lo = SIZE_MAX, hi = 0;
            for (int r = world_size > 1 ? 1 : 0; r < world_size; r++) {
                if (per[r] < lo) lo = per[r];
                if (per[r] > hi) hi = per[r];
            }
            if (lo == 0 || hi - lo > 1)
                fail_msg("static shares over %d workers for n = %zu: min %zu, max %zu",
                         workers(), n, lo, hi);
            free(per);
        }
        free(in);
        free(d);
        free(s);
    }
}

static void test_struct_items(void **state) {
    (void)state;
    const size_t n = 777;
    pair_in *in = malloc(n * sizeof *in);
    pair_out *out = malloc(n * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    const size_t chunks[] = {0, 5};
    for (int sched = 0; sched < 2; sched++) {
        for (size_t k = 0; k < 2; k++) {
            for (size_t i = 0; i < n; i++) {
                in[i].a = (double)i + 0.5;
                in[i].b = (int)i - 300;
            }
            memset(out, 0xCD, n * sizeof *out);
            mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
            o.schedule = sched ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
            o.chunk_size = chunks[k];
            assert_rc(pool, mpipool_map(pool, pair_task, in, sizeof *in, out, sizeof *out, n, &o),
                      MPIPOOL_OK);
            for (size_t i = 0; i < n; i++) {
                if (out[i].prod != in[i].a * in[i].b || out[i].neg_b != -(int64_t)in[i].b ||
                    memcmp(out[i].tag, "ok!", 4) != 0 ||
                    !harness_worker_rank_ok(out[i].rank, world_size))
                    fail_msg("pair item %zu: prod %g neg_b %lld rank %d", i, out[i].prod,
                             (long long)out[i].neg_b, out[i].rank);
            }
        }
    }
    free(in);
    free(out);
}

static void test_odd_sizes(void **state) {
    (void)state;
    const size_t n = 1001;
    unsigned char *in = malloc(3 * n), *out = malloc(5 * n);
    assert_non_null(in);
    assert_non_null(out);
    for (size_t i = 0; i < 3 * n; i++) in[i] = (unsigned char)(i * 13 + 1);
    for (int sched = 0; sched < 2; sched++) {
        memset(out, 0xEE, 5 * n);
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.schedule = sched ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
        o.chunk_size = sched ? 0 : 3;
        assert_rc(pool, mpipool_map(pool, rev3, in, 3, out, 5, n, &o), MPIPOOL_OK);
        for (size_t i = 0; i < n; i++) {
            const unsigned char *a = in + 3 * i, *b = out + 5 * i;
            if (b[0] != a[2] || b[1] != a[1] || b[2] != a[0] || b[3] != i % 251 ||
                !harness_worker_rank_ok(b[4], world_size))
                fail_msg("rev3 item %zu wrong (schedule %d)", i, sched);
        }
    }
    free(in);
    free(out);
}

static void test_big_items(void **state) {
    (void)state;
    const size_t n = 97;
    unsigned char *in = malloc(n * BIG_ITEM);
    uint64_t *out = malloc(n * sizeof *out), *want = malloc(n * sizeof *want);
    assert_non_null(in);
    assert_non_null(out);
    assert_non_null(want);
    for (size_t i = 0; i < n * BIG_ITEM; i++) in[i] = (unsigned char)((i * 2654435761u) >> 13);
    for (size_t i = 0; i < n; i++) {
        uint64_t s = 0;
        for (size_t j = 0; j < BIG_ITEM; j++) s = s * 31 + in[i * BIG_ITEM + j];
        want[i] = s;
    }
    for (int sched = 0; sched < 2; sched++) {
        memset(out, 0, n * sizeof *out);
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.schedule = sched ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
        assert_rc(pool, mpipool_map(pool, checksum, in, BIG_ITEM, out, sizeof *out, n, &o),
                  MPIPOOL_OK);
        for (size_t i = 0; i < n; i++)
            if (out[i] != want[i]) fail_msg("checksum of item %zu wrong (schedule %d)", i, sched);
    }
    free(in);
    free(out);
    free(want);
}

static void test_apply(void **state) {
    (void)state;
    int32_t x = -12;
    rec r;
    memset(&r, 0xAB, sizeof r);
    assert_rc(pool, mpipool_apply(pool, square_rec, &x, sizeof x, &r, sizeof r), MPIPOOL_OK);
    check_recs(&x, &r, 1, 0);

    pair_in p = {2.5, 4};
    pair_out q;
    memset(&q, 0, sizeof q);
    assert_rc(pool, mpipool_apply(pool, pair_task, &p, sizeof p, &q, sizeof q), MPIPOOL_OK);
    assert_true(q.prod == 10.0);
    assert_true(q.neg_b == -4);
    assert_true(harness_worker_rank_ok(q.rank, world_size));
}

static void test_several_maps(void **state) {
    (void)state;
    /* Interleave functions, item types, schedules and apply on one pool. */
    for (int round = 0; round < 3; round++) {
        map_and_check(500, MPIPOOL_SCHEDULE_DYNAMIC, 0);
        test_apply(state);
        map_and_check(33, MPIPOOL_SCHEDULE_STATIC, 0);
        int32_t *in = make_ints(250);
        rec *out = make_recs(250);
        assert_rc(pool, mpipool_map(pool, cube_rec, in, sizeof *in, out, sizeof *out, 250, NULL),
                  MPIPOOL_OK);
        check_recs(in, out, 250, 1);
        free(in);
        free(out);
        test_struct_items(state);
        map_and_check(0, MPIPOOL_SCHEDULE_DYNAMIC, 0);
    }
}

/* The caller keeps ownership: the map neither frees nor modifies `in`. */
static void test_input_untouched(void **state) {
    (void)state;
    const size_t n = 5000;
    int32_t *in = make_ints(n), *copy = make_ints(n);
    rec *out = make_recs(n);
    for (int sched = 0; sched < 2; sched++) {
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.schedule = sched ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
        assert_rc(pool, mpipool_map(pool, square_rec, in, sizeof *in, out, sizeof *out, n, &o),
                  MPIPOOL_OK);
        assert_memory_equal(in, copy, n * sizeof *in);
    }
    free(in);
    free(copy);
    free(out);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    int wrank = harness_world_rank();

    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "[rank %d] open: %s\n", wrank, mpipool_last_error(NULL));
        return harness_finish("test_map");
    }
    /* Identity queries work on every rank. */
    CHECK(mpipool_rank(pool) == wrank);
    CHECK(mpipool_is_master(pool) == (wrank == 0));
    CHECK(mpipool_size(pool) == (world_size > 1 ? world_size - 1 : 1));

    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_identity),
            cmocka_unit_test(test_empty),
            cmocka_unit_test(test_one),
            cmocka_unit_test(test_fewer_than_workers),
            cmocka_unit_test(test_1000),
            cmocka_unit_test(test_100003),
            cmocka_unit_test(test_chunk_sizes),
            cmocka_unit_test(test_static_equals_dynamic),
            cmocka_unit_test(test_struct_items),
            cmocka_unit_test(test_odd_sizes),
            cmocka_unit_test(test_big_items),
            cmocka_unit_test(test_apply),
            cmocka_unit_test(test_several_maps),
            cmocka_unit_test(test_input_untouched),
        };
        if (cmocka_run_group_tests_name("map", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish("test_map");
}
