/*
 * test_imap_window.c — issue 21, item 2: an ordered mpipool_imap with a huge
 * window (SIZE_MAX, the natural "unbounded", and SIZE_MAX - 10), with and
 * without a journal.  Every result must reach the sink exactly once, in
 * input order, with the right value.  A window test written as
 * `next >= emitted + window` overflows for these windows and stops handing
 * out items after a few results: the map then hangs (the CTest TIMEOUT
 * ends it).  Chunks of 4 items, so a run cannot dodge that by handing out
 * all 600 items before the first result arrives (MPICH at 3 ranks did, with
 * automatic chunks).  Also an unordered imap with window SIZE_MAX (the
 * window means nothing there, but must not break it).
 */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>
#include "harness.h"

enum { N = 600 };

static mpipool *pool;

/* result = index * 3 + 1, as 8 bytes */
static int triple(mpipool_task *t) {
    uint64_t v;
    if (t->in_size != sizeof v) return mpipool_task_fail(t, "item %zu has %zu bytes", t->index, t->in_size);
    memcpy(&v, t->in, sizeof v);
    void *out = mpipool_task_output(t, sizeof v);
    if (out == NULL) return mpipool_task_fail(t, "no room");
    v = v * 3 + 1;
    memcpy(out, &v, sizeof v);
    return 0;
}
MPIPOOL_TASK(triple);

typedef struct {
    uint64_t item;
} source_state;

static int next_item(void *ctx, size_t index, mpipool_buf *item) {
    source_state *s = ctx;
    if (index >= N) return 0;
    s->item = index;
    item->data = &s->item;
    item->size = sizeof s->item;
    return 1;
}

typedef struct {
    int unordered;
    size_t expect;            /* ordered: the next index due          */
    unsigned char seen[N];    /* deliveries per index                  */
    size_t calls, errors;
    char first_error[200];
} sink_state;

static void sink_error(sink_state *k, const char *what, size_t index) {
    if (k->errors++ == 0) snprintf(k->first_error, sizeof k->first_error, "%s (index %zu)", what, index);
}

static int put_result(void *ctx, size_t index, const void *result, size_t size, int status, const char *msg) {
    sink_state *k = ctx;
    (void)msg;
    k->calls++;
    if (index >= N) {
        sink_error(k, "index out of range", index);
        return 0;
    }
    if (!k->unordered && index != k->expect) sink_error(k, "out of order", index);
    k->expect = index + 1;
    if (k->seen[index]++) sink_error(k, "delivered twice", index);
    uint64_t v = 0;
    if (status != MPIPOOL_OK) sink_error(k, "failed", index);
    else if (size != sizeof v) sink_error(k, "wrong size", index);
    else {
        memcpy(&v, result, sizeof v);
        if (v != (uint64_t)index * 3 + 1) sink_error(k, "wrong value", index);
    }
    return 0;
}

static void run_case(size_t window, int unordered, int journalled) {
    char dir[] = "/tmp/mpipool_imap_window_XXXXXX";
    char path[sizeof dir + 16] = "";
    if (journalled) {
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/journal", dir);
    }
    source_state s = {0};
    static sink_state k;
    memset(&k, 0, sizeof k);
    k.unordered = unordered;
    mpipool_source src = {next_item, &s};
    mpipool_sink snk = {put_result, &k};
    mpipool_imap_options o = MPIPOOL_IMAP_OPTIONS_INIT;
    o.window = window;
    o.unordered = unordered;
    o.journal = path; /* "" = no journal, whatever the environment says */
    /* Small chunks: at most 2 per worker in flight, so the stream cannot be
     * handed out whole before the first result comes back (the overflowing
     * window test bites only after a result was delivered). */
    o.chunk_size = 4;
    int rc = mpipool_imap(pool, triple, &src, &snk, &o);
    if (journalled) {
        unlink(path);
        rmdir(dir);
    }
    if (rc != MPIPOOL_OK)
        fail_msg("window %zu, %s, %s: mpipool_imap returned %s (%s)", window, unordered ? "unordered" : "ordered",
                 journalled ? "journal" : "no journal", mpipool_err_name(rc), mpipool_last_error(pool));
    size_t missing = 0;
    for (size_t i = 0; i < N; i++) missing += k.seen[i] == 0;
    if (k.errors || missing || k.calls != N)
        fail_msg("window %zu, %s, %s: %zu errors (first: %s), %zu results missing, %zu sink calls for %d items",
                 window, unordered ? "unordered" : "ordered", journalled ? "journal" : "no journal", k.errors,
                 k.first_error, missing, k.calls, N);
}

static void test_window_max_ordered(void **st) { (void)st; run_case(SIZE_MAX, 0, 0); }
static void test_window_max_ordered_journal(void **st) { (void)st; run_case(SIZE_MAX, 0, 1); }
static void test_window_max_minus_10_ordered(void **st) { (void)st; run_case(SIZE_MAX - 10, 0, 0); }
static void test_window_max_minus_10_ordered_journal(void **st) { (void)st; run_case(SIZE_MAX - 10, 0, 1); }
static void test_window_max_unordered(void **st) { (void)st; run_case(SIZE_MAX, 1, 0); }
/* The plain window still works after the huge ones (the pool is intact). */
static void test_window_small_after(void **st) { (void)st; run_case(16, 0, 0); }

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_imap_window");
    if (!mpipool_is_master(pool)) {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
        return harness_finish("test_imap_window");
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_max_ordered),
        cmocka_unit_test(test_window_max_ordered_journal),
        cmocka_unit_test(test_window_max_minus_10_ordered),
        cmocka_unit_test(test_window_max_minus_10_ordered_journal),
        cmocka_unit_test(test_window_max_unordered),
        cmocka_unit_test(test_window_small_after),
    };
    if (cmocka_run_group_tests_name("imap_window", tests, NULL, NULL) != 0) harness_failed = 1;
    CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    return harness_finish("test_imap_window");
}
