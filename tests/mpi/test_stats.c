/*
 * test_stats.c — mpipool_stats: after maps of every kind (dynamic with a
 * fixed chunk size, static, failing items, variable sizes, imap, apply,
 * async with a look while it runs) the per-worker items add up to exactly
 * the items run, chunks to the chunks sent, busy + idle to the wall time;
 * the ranks are the workers' (rank 0 alone in a one-rank pool); the
 * MPIPOOL_MAP_PROGRESS flag is accepted and an undefined flag refused; and
 * the misuse cases (NULL, a worker, a closed pool).
 */
#include <math.h>
#include "harness.h"

static mpipool *pool;
static int world_size;

/* Work of a few microseconds per item, so busy time is measurable. */
static int spin(mpipool_task *t) {
    volatile double x = 0;
    for (int i = 0; i < 2000; i++) x += i * 0.5;
    *(int64_t *)t->out = *(const int64_t *)t->in * 3;
    return 0;
}
MPIPOOL_TASK(spin);

static int fail_odd(mpipool_task *t) {
    *(int64_t *)t->out = 1;
    return t->index % 2 ? mpipool_task_fail(t, "odd") : 0;
}
MPIPOOL_TASK(fail_odd);

static int echo_var(mpipool_task *t) {
    void *o = mpipool_task_output(t, t->in_size);
    if (o == NULL) return 1;
    if (t->in_size) memcpy(o, t->in, t->in_size);
    return 0;
}
MPIPOOL_TASK(echo_var);

typedef struct {
    size_t n;
    char item[4];
} src_ctx;
static int src_next(void *ctx, size_t index, mpipool_buf *item) {
    src_ctx *c = ctx;
    if (index >= c->n) return 0;
    item->data = c->item;
    item->size = sizeof c->item;
    return 1;
}
static int sink_put(void *ctx, size_t index, const void *r, size_t size, int status, const char *msg) {
    (void)index, (void)r, (void)size, (void)status, (void)msg;
    (*(size_t *)ctx)++;
    return 0;
}

/* Every invariant of a snapshot; `items` and `chunks` are what it must add up to. */
static void check_stats(const mpipool_pool_stats *st, uint64_t items, uint64_t chunks) {
    int want_n = world_size > 1 ? world_size - 1 : 1;
    assert_int_equal(st->nworkers, want_n);
    assert_non_null(st->workers);
    if (st->items != items || st->chunks != chunks)
        fail_msg("stats say %llu items in %llu chunks, expected %llu in %llu", (unsigned long long)st->items,
                 (unsigned long long)st->chunks, (unsigned long long)items, (unsigned long long)chunks);
    uint64_t si = 0, sc = 0;
    double max = 0, sum = 0;
    for (int i = 0; i < st->nworkers; i++) {
        const mpipool_worker_stats *w = &st->workers[i];
        assert_int_equal(w->rank, world_size > 1 ? i + 1 : 0);
        si += w->items;
        sc += w->chunks;
        assert_true(w->busy_seconds >= 0 && w->idle_seconds >= 0);
        if (w->items > 0) {
            assert_true(w->chunks > 0);
            assert_true(w->busy_seconds > 0);
            if (world_size > 1) {
                /* at least the 8-byte items and results, plus headers */
                assert_true(w->bytes_in > w->items * 4);
                assert_true(w->bytes_out > w->items * 4);
            }
        }
        /* idle is the wall time less busy, unless rounding made busy larger */
        if (w->busy_seconds <= st->wall_seconds)
            assert_true(fabs(w->busy_seconds + w->idle_seconds - st->wall_seconds) < 1e-6);
        if (w->busy_seconds > max) max = w->busy_seconds;
        sum += w->busy_seconds;
    }
    assert_true(si == st->items);
    assert_true(sc == st->chunks);
    if (items > 0) {
        assert_true(st->wall_seconds > 0);
        assert_true(fabs(st->imbalance - max / (sum / st->nworkers)) < 1e-9);
        assert_true(st->imbalance >= 1.0 - 1e-12);
        if (st->nworkers == 1) assert_true(fabs(st->imbalance - 1.0) < 1e-12);
    }
    assert_true(st->master_cpu_seconds > 0);
}

static void test_stats_add_up(void **state) {
    (void)state;
    enum { N = 1000 };
    static int64_t in[N], out[N];
    mpipool_pool_stats st;
    uint64_t items = 0, chunks = 0;
    int workers = world_size > 1 ? world_size - 1 : 1;
    for (int i = 0; i < N; i++) in[i] = i;

    assert_rc(pool, mpipool_stats(pool, &st), MPIPOOL_OK);
    check_stats(&st, 0, 0);
    assert_true(st.wall_seconds == 0 && st.imbalance == 0);

    /* dynamic, 7 items a chunk: 143 chunks of 1000 items, one-rank pools too */
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 7;
    assert_rc(pool, mpipool_map(pool, spin, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    for (int i = 0; i < N; i++) assert_true(out[i] == 3 * i);
    items += N;
    chunks += (N + 6) / 7;
    assert_rc(pool, mpipool_stats(pool, &st), MPIPOOL_OK);
    check_stats(&st, items, chunks);
    const mpipool_worker_stats *first_array = st.workers;

    /* static: one share per worker (a one-rank pool runs it in one piece) */
    o = (mpipool_map_options)MPIPOOL_MAP_OPTIONS_INIT;
    o.schedule = MPIPOOL_SCHEDULE_STATIC;
    assert_rc(pool, mpipool_map(pool, spin, in, sizeof *in, out, sizeof *out, 300, &o), MPIPOOL_OK);
    items += 300;
    chunks += (uint64_t)workers;
    assert_rc(pool, mpipool_stats(pool, &st), MPIPOOL_OK);
    check_stats(&st, items, chunks);
    assert_ptr_equal(st.workers, first_array); /* the pool's array, reused */

    /* failed items are run items; the progress flag is accepted */
    o = (mpipool_map_options)MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 10;
    o.flags = MPIPOOL_MAP_PROGRESS;
    assert_rc(pool, mpipool_map(pool, fail_odd, in, sizeof *in, out, sizeof *out, 100, &o), MPIPOOL_ETASK);
    items += 100;
    chunks += 10;
    o.flags = 0x80u; /* no such flag */
    assert_rc(pool, mpipool_map(pool, spin, in, sizeof *in, out, sizeof *out, 100, &o), MPIPOOL_EINVAL);
    assert_contains(mpipool_last_error(pool), "flags");

    /* variable sizes, an apply, an imap */
    mpipool_buf vin[50], vout[50];
    for (int i = 0; i < 50; i++) vin[i] = (mpipool_buf){&in[i], (size_t)(i % 8)};
    o = (mpipool_map_options)MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 5;
    assert_rc(pool, mpipool_map(pool, echo_var, vin, MPIPOOL_VARIABLE, vout, MPIPOOL_VARIABLE, 50, &o),
              MPIPOOL_OK);
    for (int i = 0; i < 50; i++) free(vout[i].data);
    items += 50;
    chunks += 10;
    int64_t x = 5, y = 0;
    assert_rc(pool, mpipool_apply(pool, spin, &x, sizeof x, &y, sizeof y), MPIPOOL_OK);
    items += 1;
    chunks += 1;
    src_ctx sc = {200, "abc"};
    size_t got = 0;
    mpipool_source src = {src_next, &sc};
    mpipool_sink sink = {sink_put, &got};
    mpipool_imap_options io = MPIPOOL_IMAP_OPTIONS_INIT;
    io.chunk_size = 20;
    io.flags = MPIPOOL_MAP_PROGRESS;
    assert_rc(pool, mpipool_imap(pool, echo_var, &src, &sink, &io), MPIPOOL_OK);
    assert_int_equal(got, 200);
    items += 200;
    chunks += 10;
    assert_rc(pool, mpipool_stats(pool, &st), MPIPOOL_OK);
    check_stats(&st, items, chunks);

    /* a look while an async job runs, then the final count */
    mpipool_job *job = NULL;
    o = (mpipool_map_options)MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1;
    assert_rc(pool, mpipool_map_async(pool, spin, in, sizeof *in, out, sizeof *out, N, &o, &job), MPIPOOL_OK);
    assert_rc(pool, mpipool_stats(pool, &st), MPIPOOL_OK);
    assert_true(st.items >= items && st.items <= items + N);
    assert_rc(pool, mpipool_wait(job, -1.0), MPIPOOL_OK);
    mpipool_job_free(job);
    items += N;
    chunks += N;
    assert_rc(pool, mpipool_stats(pool, &st), MPIPOOL_OK);
    check_stats(&st, items, chunks);
    if (world_size > 1) {
        /* dynamic chunks reach every worker of a 1000-item map */
        for (int i = 0; i < st.nworkers; i++) assert_true(st.workers[i].items > 0);
    }
}

static void test_stats_misuse(void **state) {
    (void)state;
    mpipool_pool_stats st;
    assert_int_equal(mpipool_stats(NULL, &st), MPIPOOL_EINVAL);
    assert_rc(pool, mpipool_stats(pool, NULL), MPIPOOL_EINVAL);
    assert_contains(mpipool_last_error(pool), "mpipool_stats");
}

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided); /* a progress thread if we may */
    world_size = harness_world_size();
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_stats");
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_stats_add_up),
            cmocka_unit_test(test_stats_misuse),
        };
        if (cmocka_run_group_tests_name("stats", tests, NULL, NULL) != 0) harness_failed = 1;
        mpipool *closed = pool;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
        mpipool_pool_stats st;
        CHECK_RC(mpipool_stats(closed, &st), MPIPOOL_ECLOSED);
    } else {
        mpipool_pool_stats st;
        CHECK_RC(mpipool_stats(pool, &st), MPIPOOL_ENOTMASTER);
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish("test_stats");
}
