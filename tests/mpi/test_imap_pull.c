/*
 * test_imap_pull.c — imap as a pull iterator (mpipool_imap_start,
 * mpipool_imap_next), as Python's `it = pool.imap(f, xs); it.next(timeout)`.
 *
 * What is checked: results come back in input order (or, unordered, each
 * exactly once), with the right bytes; a failed item is MPIPOOL_ETASK with
 * its message and the stream goes on; the end is MPIPOOL_EOF, again and
 * again, and mpipool_wait then gives the verdict; on_error STOP ends with
 * MPIPOOL_ECANCELED; a timeout returns MPIPOOL_ETIMEDOUT while a slow task
 * still runs (at > 1 rank) and the result comes after; memory is bounded
 * by the window: at every step the source has handed out at most
 * `window` items more than the caller has released (checked while a slow
 * reader lets the workers run ahead), and an endless source with a small
 * window works (a one-rank pool, which runs the items itself, would never
 * return from mpipool_imap_start otherwise); freeing a job mid-stream
 * cancels it; closing the pool under an unread stream gives what was
 * queued, then MPIPOOL_ECANCELED; bad arguments are refused.
 *
 * With the argument "single" MPI has no threads (no progress thread):
 * the stream moves only inside mpipool calls; the same checks hold.
 * About 1.5 s per rank count; the only sleeps are tasks' work.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdatomic.h>
#include <time.h>
#include "harness.h"

static mpipool *pool;
static int world_size;

static void nap_ms(long ms) { /* a task's work */
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

static int put_u64(mpipool_task *t, uint64_t v) {
    void *out = mpipool_task_output(t, sizeof v);
    if (out == NULL) return mpipool_task_fail(t, "no room");
    memcpy(out, &v, sizeof v);
    return 0;
}

static uint64_t item_of(const mpipool_task *t) {
    uint64_t v = 0;
    memcpy(&v, t->in, sizeof v);
    return v;
}

/* 3x+1; every fifth item takes 1 ms, so workers finish out of order. */
static int triple(mpipool_task *t) {
    uint64_t v = item_of(t);
    if (v % 5 == 0) nap_ms(1);
    return put_u64(t, 3 * v + 1);
}
MPIPOOL_TASK(triple);

static int triple_fail17(mpipool_task *t) {
    uint64_t v = item_of(t);
    if (v == 17) return mpipool_task_fail(t, "bad item %llu", (unsigned long long)v);
    return put_u64(t, 3 * v + 1);
}
MPIPOOL_TASK(triple_fail17);

/* Item 0 takes 400 ms. */
static int slow_first(mpipool_task *t) {
    uint64_t v = item_of(t);
    if (v == 0) nap_ms(400);
    return put_u64(t, 3 * v + 1);
}
MPIPOOL_TASK(slow_first);

/* Items 0..n-1 (n == SIZE_MAX: endless); counts what it handed out. */
typedef struct {
    size_t n;
    _Atomic size_t taken; /* read by the test while the engine calls next */
    uint64_t buf;
} source_state;

static int source_next(void *ctx, size_t index, mpipool_buf *item) {
    source_state *s = ctx;
    if (index >= s->n) return 0;
    s->buf = index;
    *item = (mpipool_buf){&s->buf, sizeof s->buf};
    atomic_store(&s->taken, index + 1);
    return 1;
}

static uint64_t value_of(const mpipool_imap_result *r) {
    uint64_t v = UINT64_MAX;
    if (r->size == sizeof v && r->data) memcpy(&v, r->data, sizeof v);
    return v;
}

/* A slow reader: the workers may run ahead, as far as the window lets them. */
static void read_slowly(double seconds) {
    volatile uint64_t h = 1;
    double t0 = MPI_Wtime();
    while (MPI_Wtime() - t0 < seconds) h = h * 6364136223846793005ULL + 1;
}

static void run_stream(int unordered) {
    enum { N = 300, W = 16 };
    source_state src = {.n = N};
    mpipool_source so = {source_next, &src};
    mpipool_imap_options o = MPIPOOL_IMAP_OPTIONS_INIT;
    o.window = W;
    o.chunk_size = 2;
    o.unordered = unordered;
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_imap_start(pool, triple, &so, &o, &job), MPIPOOL_OK);
    static int got[N];
    memset(got, 0, sizeof got);
    mpipool_imap_result r;
    for (size_t k = 0; k < N; k++) {
        assert_rc(pool, mpipool_imap_next(job, &r, -1), MPIPOOL_OK);
        /* k results were released before this call; this one is held. */
        size_t taken = atomic_load(&src.taken);
        if (taken > k + W) fail_msg("after %zu results released the source handed out %zu items (window %d)", k, taken, W);
        if (!unordered) assert_int_equal(r.index, k);
        assert_true(r.index < N);
        assert_int_equal(r.status, MPIPOOL_OK);
        assert_null(r.message);
        assert_int_equal(value_of(&r), 3 * r.index + 1);
        got[r.index]++;
        read_slowly(300e-6);
    }
    for (size_t i = 0; i < N; i++) assert_int_equal(got[i], 1);
    assert_rc(pool, mpipool_imap_next(job, &r, -1), MPIPOOL_EOF);
    assert_rc(pool, mpipool_imap_next(job, &r, 0), MPIPOOL_EOF);
    assert_rc(pool, mpipool_wait(job, 0), MPIPOOL_OK);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
}

static void test_ordered(void **st) { (void)st; run_stream(0); }
static void test_unordered(void **st) { (void)st; run_stream(1); }

static void test_failures(void **st) {
    (void)st;
    enum { N = 60 };
    for (int stop = 0; stop <= 1; stop++) {
        source_state src = {.n = N};
        mpipool_source so = {source_next, &src};
        mpipool_imap_options o = MPIPOOL_IMAP_OPTIONS_INIT;
        o.window = 8;
        o.on_error = stop ? MPIPOOL_ON_ERROR_STOP : MPIPOOL_ON_ERROR_CONTINUE;
        mpipool_job *job = NULL;
        assert_rc(pool, mpipool_imap_start(pool, triple_fail17, &so, &o, &job), MPIPOOL_OK);
        mpipool_imap_result r;
        size_t k = 0;
        int rc, failed = 0;
        while ((rc = mpipool_imap_next(job, &r, -1)) == MPIPOOL_OK || rc == MPIPOOL_ETASK) {
            assert_int_equal(r.index, k);
            if (k == 17) {
                assert_int_equal(rc, MPIPOOL_ETASK);
                assert_int_equal(r.status, MPIPOOL_ETASK);
                assert_string_equal(r.message, "bad item 17");
                assert_contains(mpipool_last_error(pool), "item 17");
                failed++;
            } else {
                assert_int_equal(rc, MPIPOOL_OK);
                assert_int_equal(value_of(&r), 3 * k + 1);
            }
            k++;
        }
        assert_int_equal(failed, 1);
        if (stop) {
            assert_rc(pool, rc, MPIPOOL_ECANCELED);
            assert_true(k < N);
            assert_rc(pool, mpipool_imap_next(job, &r, 0), MPIPOOL_ECANCELED);
        } else {
            assert_rc(pool, rc, MPIPOOL_EOF);
            assert_int_equal(k, N);
            assert_rc(pool, mpipool_wait(job, 0), MPIPOOL_ETASK);
        }
        assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    }
}

static void test_timeout(void **st) {
    (void)st;
    source_state src = {.n = 4};
    mpipool_source so = {source_next, &src};
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_imap_start(pool, slow_first, &so, NULL, &job), MPIPOOL_OK);
    mpipool_imap_result r;
    if (world_size > 1) {
        /* Item 0 runs for 400 ms on a worker. */
        assert_rc(pool, mpipool_imap_next(job, &r, 0), MPIPOOL_ETIMEDOUT);
        double t0 = MPI_Wtime();
        assert_rc(pool, mpipool_imap_next(job, &r, 0.05), MPIPOOL_ETIMEDOUT);
        assert_true(MPI_Wtime() - t0 >= 0.049);
        assert_contains(mpipool_last_error(pool), "no result within");
    }
    /* Nothing was lost; one rank ran the items inside the calls. */
    for (size_t k = 0; k < 4; k++) {
        assert_rc(pool, mpipool_imap_next(job, &r, -1), MPIPOOL_OK);
        assert_int_equal(r.index, k);
        assert_int_equal(value_of(&r), 3 * k + 1);
    }
    assert_rc(pool, mpipool_imap_next(job, &r, 10), MPIPOOL_EOF);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
}

/* An endless source, window 8: read 50, then free the job mid-stream. */
static void test_endless(void **st) {
    (void)st;
    for (int unordered = 0; unordered <= 1; unordered++) {
        source_state src = {.n = SIZE_MAX};
        mpipool_source so = {source_next, &src};
        mpipool_imap_options o = MPIPOOL_IMAP_OPTIONS_INIT;
        o.window = 8;
        o.unordered = unordered;
        mpipool_job *job = NULL;
        assert_rc(pool, mpipool_imap_start(pool, triple, &so, &o, &job), MPIPOOL_OK);
        mpipool_imap_result r;
        for (size_t k = 0; k < 50; k++) {
            assert_rc(pool, mpipool_imap_next(job, &r, -1), MPIPOOL_OK);
            if (!unordered) assert_int_equal(r.index, k);
            assert_int_equal(value_of(&r), 3 * r.index + 1);
            size_t taken = atomic_load(&src.taken);
            if (taken > k + 8) fail_msg("%zu items taken with %zu released (window 8)", taken, k);
            read_slowly(2e-3); /* the workers could run hundreds of items ahead meanwhile */
        }
        assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
        assert_true(atomic_load(&src.taken) <= 50 + 8);
    }
}

static int dummy_source(void *ctx, size_t index, mpipool_buf *item) {
    (void)ctx, (void)index, (void)item;
    return 0;
}

static void test_bad_arguments(void **st) {
    (void)st;
    mpipool_source so = {dummy_source, NULL};
    mpipool_imap_result r;
    mpipool_job *job = (mpipool_job *)(void *)&r;
    assert_rc(pool, mpipool_imap_start(pool, NULL, &so, NULL, &job), MPIPOOL_EINVAL);
    assert_null(job);
    assert_rc(pool, mpipool_imap_start(pool, triple, NULL, NULL, &job), MPIPOOL_EINVAL);
    assert_rc(pool, mpipool_imap_start(pool, triple, &so, NULL, NULL), MPIPOOL_EINVAL);
    mpipool_imap_options o = MPIPOOL_IMAP_OPTIONS_INIT;
    o.journal = "pull.journal";
    assert_rc(pool, mpipool_imap_start(pool, triple, &so, &o, &job), MPIPOOL_EINVAL);
    assert_contains(mpipool_last_error(pool), "not journalled");
    assert_null(job);
    assert_rc(pool, mpipool_imap_next(NULL, &r, 0), MPIPOOL_EINVAL);
    /* A map job is not an imap. */
    int64_t in = 1, out = 0;
    assert_rc(pool, mpipool_apply_async(pool, triple, &in, 0, &out, 0, &job), MPIPOOL_OK);
    assert_rc(pool, mpipool_imap_next(job, &r, 0), MPIPOOL_EINVAL);
    assert_contains(mpipool_last_error(pool), "not made by mpipool_imap_start");
    mpipool_job_free(job);
    source_state src = {.n = SIZE_MAX};
    mpipool_source endless = {source_next, &src};
    o.journal = NULL;
    o.window = 8; /* a one-rank pool runs a window's worth inside the call */
    assert_rc(pool, mpipool_imap_start(pool, triple, &endless, &o, &job), MPIPOOL_OK);
    assert_rc(pool, mpipool_imap_next(job, NULL, 0), MPIPOOL_EINVAL);
    assert_rc(pool, mpipool_imap_next(job, &r, NAN), MPIPOOL_EINVAL);
    assert_rc(pool, mpipool_wait(job, -1), MPIPOOL_EINVAL); /* would wait for ever */
    assert_rc(pool, mpipool_imap_next(job, &r, -1), MPIPOOL_OK);
    assert_int_equal(r.index, 0);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
}

int main(int argc, char **argv) {
    int single = harness_init_maybe_single(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    const char *name = single ? "test_imap_pull single" : "test_imap_pull";
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish(name);
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ordered),
            cmocka_unit_test(test_unordered),
            cmocka_unit_test(test_failures),
            cmocka_unit_test(test_timeout),
            cmocka_unit_test(test_endless),
            cmocka_unit_test(test_bad_arguments),
        };
        if (cmocka_run_group_tests_name("imap_pull", tests, NULL, NULL) != 0) harness_failed = 1;
        /* Closing under an unread endless stream: it ends; what was queued
         * can still be read, then MPIPOOL_ECANCELED. */
        source_state src = {.n = SIZE_MAX};
        mpipool_source so = {source_next, &src};
        mpipool_imap_options o = MPIPOOL_IMAP_OPTIONS_INIT;
        o.window = 8;
        mpipool_job *job = NULL;
        mpipool_imap_result r;
        CHECK_RC(mpipool_imap_start(pool, triple, &so, &o, &job), MPIPOOL_OK);
        CHECK_RC(mpipool_imap_next(job, &r, -1), MPIPOOL_OK);
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
        size_t k = 1;
        while ((rc = mpipool_imap_next(job, &r, -1)) == MPIPOOL_OK) {
            CHECK(r.index == k && value_of(&r) == 3 * k + 1);
            k++;
        }
        CHECK(k <= 1 + 8);
        CHECK_RC(rc, MPIPOOL_ECANCELED);
        CHECK_RC(mpipool_imap_next(job, &r, -1), MPIPOOL_ECANCELED);
        CHECK_RC(mpipool_job_free(job), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish(name);
}
