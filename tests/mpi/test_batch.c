/*
 * test_batch.c — batch tasks (mpipool_register_batch / MPIPOOL_BATCH_TASK):
 * one call for a run of consecutive items.
 *
 *  - the results equal those of the per-item task, in dynamic mode (with
 *    automatic and odd chunk sizes) and static mode, for n = 0, 1, fewer
 *    than the workers, and large;
 *  - every call sees consistent count/index/in/out (the task checks them
 *    and fails loudly otherwise), and the calls cover every item once;
 *  - a failing call fails exactly its own items (status, message, zeros)
 *    while the other items keep their results;
 *  - variable sizes and imap refuse batch tasks with MPIPOOL_EINVAL;
 *  - max_tasks_per_worker cuts calls at renewals: no call spans one.
 * With "mismatch": ranks register one name as batch and as plain task;
 * every rank's open must fail with MPIPOOL_EMISMATCH naming it.
 */
#include "harness.h"
#include "batch_calls.h"

static mpipool *pool;
static int world_size;

static int square_one(mpipool_task *t) {
    int64_t x = *(const int64_t *)t->in;
    *(int64_t *)t->out = x * x + (int64_t)t->index;
    return 0;
}
MPIPOOL_TASK(square_one);

static int square_many(mpipool_task *t) {
    const int64_t *in = t->in;
    int64_t *out = t->out;
    if (t->count == 0 || t->in_size != sizeof *in || t->out_size != sizeof *out)
        return mpipool_task_fail(t, "bad call: count %zu, sizes %zu/%zu", t->count, t->in_size, t->out_size);
    for (size_t i = 0; i < t->count; i++) out[i] = in[i] * in[i] + (int64_t)(t->index + i);
    return 0;
}
MPIPOOL_BATCH_TASK(square_many);

/* Fails a call when it holds an item whose value is negative. */
static int picky_many(mpipool_task *t) {
    const int64_t *in = t->in;
    int64_t *out = t->out;
    for (size_t i = 0; i < t->count; i++) {
        out[i] = in[i] + 1;
        if (in[i] < 0) return mpipool_task_fail(t, "negative value at item %zu", t->index + i);
    }
    return 0;
}
MPIPOOL_BATCH_TASK(picky_many);

static int64_t *make_in(size_t n) {
    int64_t *in = malloc((n ? n : 1) * sizeof *in);
    for (size_t i = 0; i < n; i++) in[i] = (int64_t)i * 3 - 7;
    return in;
}

static void test_same_as_per_item(void **state) {
    (void)state;
    size_t ns[] = {0, 1, 2, 3, 5, 1000, 100003};
    size_t chunks[] = {0, 1, 7, 4096};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        size_t n = ns[a];
        int64_t *in = make_in(n), *want = malloc((n + 1) * sizeof *want), *got = malloc((n + 1) * sizeof *got);
        assert_rc(pool, mpipool_map(pool, square_one, in, sizeof *in, want, sizeof *want, n, NULL), MPIPOOL_OK);
        for (int sched = 0; sched < 2; sched++) {
            for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
                mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
                o.schedule = sched ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
                o.chunk_size = chunks[c];
                for (size_t i = 0; i <= n; i++) got[i] = -1;
                assert_rc(pool, mpipool_map(pool, square_many, in, sizeof *in, got, sizeof *got, n, &o), MPIPOOL_OK);
                for (size_t i = 0; i < n; i++)
                    if (got[i] != want[i])
                        fail_msg("n %zu, %s, chunk %zu: item %zu is %lld, want %lld", n, sched ? "static" : "dynamic",
                                 chunks[c], i, (long long)got[i], (long long)want[i]);
                assert_true(got[n] == -1); /* nothing written past the end */
            }
        }
        free(in);
        free(want);
        free(got);
    }
}

static void test_calls_cover_items_once(void **state) {
    (void)state;
    enum { N = 50000 };
    int64_t *in = make_in(N), *out = malloc(2 * N * sizeof *out);
    for (int sched = 0; sched < 2; sched++) {
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.schedule = sched ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
        assert_rc(pool, mpipool_map(pool, span_many, in, sizeof *in, out, 2 * sizeof *out, N, &o), MPIPOOL_OK);
        size_t calls = batch_calls(out, N, sched ? "static" : "dynamic");
        /* Far fewer calls than items: that is the point of a batch. */
        assert_true(calls < N / 10);
    }
    free(in);
    free(out);
}

/* Items of 64 KiB: a dynamic map without a chunk_size sends a worker at
 * most 256 KiB of items a chunk (dispatch.h, PLAIN_CHUNK_BYTES), so no call
 * holds more than 4 items; with a chunk_size of 16, the calls are as asked.
 * (One rank: the master runs the map itself, in calls of its own size.) */
static void test_big_items_chunk_bytes(void **state) {
    (void)state;
    enum { N = 512, BIG = 64 << 10 };
    char *in = malloc((size_t)N * BIG);
    int64_t *out = malloc(2 * N * sizeof *out);
    for (size_t i = 0; i < (size_t)N * BIG; i++) in[i] = (char)(i * 13);
    for (int asked = 0; asked < 2; asked++) {
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.chunk_size = asked ? 16 : 0;
        assert_rc(pool, mpipool_map(pool, span_many, in, BIG, out, 2 * sizeof *out, N, &o), MPIPOOL_OK);
        size_t calls = batch_calls(out, N, asked ? "chunk_size 16" : "automatic");
        int64_t most = 0;
        for (size_t i = 0; i < N; i++) most = out[2 * i + 1] > most ? out[2 * i + 1] : most;
        if (world_size < 2) continue;
        if (asked) {
            assert_int_equal(most, 16);
            assert_int_equal(calls, N / 16);
        } else if (most > 4) {
            fail_msg("a call of %lld items of 64 KiB: more than 256 KiB in one chunk", (long long)most);
        }
    }
    free(in);
    free(out);
}

static void test_failure_is_per_call(void **state) {
    (void)state;
    enum { N = 4000, CHUNK = 100, BAD = 1234 };
    int64_t *in = make_in(N), *out = malloc(N * sizeof *out);
    int *status = malloc(N * sizeof *status);
    char **msgs = malloc(N * sizeof *msgs);
    for (size_t i = 0; i < N; i++) in[i] = (int64_t)i;
    in[BAD] = -5;
    for (int sched = 0; sched < 2; sched++) {
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.schedule = sched ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
        o.chunk_size = CHUNK; /* dynamic: calls are the chunks [k*100, k*100+100) */
        o.status = status;
        o.messages = msgs;
        memset(out, 0x55, N * sizeof *out);
        assert_rc(pool, mpipool_map(pool, picky_many, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_ETASK);
        assert_contains(mpipool_last_error(pool), "picky_many");
        assert_contains(mpipool_last_error(pool), "negative value at item 1234");
        size_t failed = 0;
        for (size_t i = 0; i < N; i++) {
            if (status[i] == MPIPOOL_ETASK) {
                failed++;
                assert_true(out[i] == 0); /* a failed call's slots are zeros */
                assert_non_null(msgs[i]);
                assert_contains(msgs[i], "negative value at item 1234");
            } else {
                assert_int_equal(status[i], MPIPOOL_OK);
                assert_true(out[i] == in[i] + 1);
                assert_null(msgs[i]);
            }
            free(msgs[i]);
        }
        assert_int_equal(status[BAD], MPIPOOL_ETASK);
        /* The failed items are one run around the bad one: its call. */
        size_t lo = BAD, hi = BAD;
        while (lo > 0 && status[lo - 1] == MPIPOOL_ETASK) lo--;
        while (hi + 1 < N && status[hi + 1] == MPIPOOL_ETASK) hi++;
        assert_int_equal(hi - lo + 1, failed);
        /* Dynamic: exactly the chunk holding the bad item (in a one-rank
         * pool, the piece of at most CHUNK items holding it). */
        if (sched == 0) assert_true(failed <= CHUNK && lo / CHUNK == BAD / CHUNK && hi / CHUNK == BAD / CHUNK);
    }
    /* The pool is still usable. */
    in[BAD] = 1;
    assert_rc(pool, mpipool_map(pool, picky_many, in, sizeof *in, out, sizeof *out, N, NULL), MPIPOOL_OK);
    free(in);
    free(out);
    free(status);
    free(msgs);
}

static int src_next(void *ctx, size_t index, mpipool_buf *item) {
    (void)ctx;
    (void)index;
    (void)item;
    return 0;
}
static int sink_put(void *ctx, size_t index, const void *r, size_t size, int status, const char *m) {
    (void)ctx; (void)index; (void)r; (void)size; (void)status; (void)m;
    return 0;
}

static void test_refused_where_sizes_vary(void **state) {
    (void)state;
    int64_t x = 3;
    mpipool_buf bin = {&x, sizeof x}, bout = {NULL, 0};
    int64_t y;
    assert_rc(pool, mpipool_map(pool, square_many, &bin, MPIPOOL_VARIABLE, &y, sizeof y, 1, NULL), MPIPOOL_EINVAL);
    assert_contains(mpipool_last_error(pool), "square_many");
    assert_rc(pool, mpipool_map(pool, square_many, &x, sizeof x, &bout, MPIPOOL_VARIABLE, 1, NULL), MPIPOOL_EINVAL);
    mpipool_source src = {src_next, NULL};
    mpipool_sink snk = {sink_put, NULL};
    assert_rc(pool, mpipool_imap(pool, square_many, &src, &snk, NULL), MPIPOOL_EINVAL);
    assert_contains(mpipool_last_error(pool), "batch task");
    /* A batch apply is a call of one item. */
    assert_rc(pool, mpipool_apply(pool, square_many, &x, sizeof x, &y, sizeof y), MPIPOOL_OK);
    assert_true(y == 9);
}

static void test_registration(void **state) {
    (void)state;
    /* The registry is frozen while the pool is open. */
    assert_int_equal(mpipool_register_batch("late", square_many), MPIPOOL_EBUSY);
    assert_int_equal(mpipool_register_batch(NULL, square_many), MPIPOOL_EINVAL);
}

/* ---- renewal: max_tasks_per_worker counts items, cuts calls -------------- */

enum { RENEW = 37 };
static int renew_init(mpipool *p, void *arg, void **st) {
    (void)p; (void)arg;
    *st = calloc(1, sizeof(size_t));
    return *st ? 0 : 1;
}
static void renew_fini(mpipool *p, void *arg, void *st) {
    (void)p; (void)arg;
    free(st);
}
/* Each call adds its count to the state; out = items seen by this state
 * after the call (must never exceed RENEW). */
static int count_many(mpipool_task *t) {
    size_t *seen = t->state;
    if (seen == NULL) return mpipool_task_fail(t, "no state");
    *seen += t->count;
    for (size_t i = 0; i < t->count; i++) ((int64_t *)t->out)[i] = (int64_t)*seen;
    return 0;
}
MPIPOOL_BATCH_TASK(count_many);

static void check_renewal(void) {
    enum { N = 5000 };
    int64_t *in = make_in(N), *out = malloc(N * sizeof *out);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 100;
    int rc = mpipool_map(pool, count_many, in, sizeof *in, out, sizeof *out, N, &o);
    CHECK_RC(rc, MPIPOOL_OK);
    for (size_t i = 0; rc == MPIPOOL_OK && i < N; i++) {
        if (out[i] < 1 || out[i] > RENEW) {
            fprintf(stderr, "item %zu: state saw %lld items (renewal every %d)\n", i, (long long)out[i], RENEW);
            CHECK(0);
            break;
        }
    }
    free(in);
    free(out);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    int rank = harness_world_rank();
    if (argc > 1 && strcmp(argv[1], "mismatch") == 0) {
        /* Odd ranks say "twice" is a batch task, the others a plain one. */
        int rc = rank % 2 ? mpipool_register_batch("twice", square_many) : mpipool_register("twice", square_one);
        CHECK_RC(rc, MPIPOOL_OK);
        rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
        if (world_size == 1) {
            CHECK_RC(rc, MPIPOOL_OK);
            if (rc == MPIPOOL_OK) CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
        } else {
            CHECK_RC(rc, MPIPOOL_EMISMATCH);
            CHECK(strstr(mpipool_last_error(NULL), "twice") != NULL);
        }
        return harness_finish("test_batch mismatch");
    }
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_batch");
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_same_as_per_item),
            cmocka_unit_test(test_calls_cover_items_once),
            cmocka_unit_test(test_big_items_chunk_bytes),
            cmocka_unit_test(test_failure_is_per_call),
            cmocka_unit_test(test_refused_where_sizes_vary),
            cmocka_unit_test(test_registration),
        };
        if (cmocka_run_group_tests_name("batch", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    /* A second pool with renewing hooks. */
    rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_batch");
    mpipool_hooks h = MPIPOOL_HOOKS_INIT;
    h.init = renew_init;
    h.fini = renew_fini;
    h.max_tasks_per_worker = RENEW;
    CHECK_RC(mpipool_set_hooks(pool, &h), MPIPOOL_OK);
    if (mpipool_is_master(pool)) {
        check_renewal();
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish("test_batch");
}
