/*
 * test_stream.c — where variable-size results go (src/stream.c), with no
 * MPI: an ordered imap's reorder list, and what happens when there is no
 * memory for it (issue 15, defect 6) or for a variable-size result.
 *
 * How an allocation is made to fail: this executable is linked with
 * -Wl,--wrap=malloc, so every call to malloc from its own objects
 * (stream.c's among them; cmocka and libc are shared libraries and keep
 * theirs) goes to __wrap_malloc below, which fails the Nth call after
 * fail_after() and passes the others to the real malloc.  Nothing in the
 * library knows about it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine.h"

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

static int countdown; /* > 0: the countdown-th malloc from now fails */
static int failed;    /* mallocs failed so far */

void *__wrap_malloc(size_t size) {
    if (countdown > 0 && --countdown == 0) {
        failed++;
        return NULL;
    }
    return __real_malloc(size);
}

static void fail_after(int calls) {
    countdown = calls;
    failed = 0;
}

/* A sink that records the items it is given, in order. */
typedef struct {
    size_t idx[16];
    char first_byte[16];
    int n;
} sink_log;

static int log_put(void *ctx, size_t index, const void *result, size_t size, int status, const char *msg) {
    sink_log *l = ctx;
    (void)msg;
    assert_int_equal(status, MPIPOOL_OK);
    if (l->n < 16) {
        l->idx[l->n] = index;
        l->first_byte[l->n] = size > 0 ? *(const char *)result : 0;
        l->n++;
    }
    return 0;
}

/* Items [first, first+count) of one byte each, 'a' + index, laid out as a
 * received VRESULT is: the sizes, then the bytes, in one buffer (`owner`)
 * that the delivery frees or keeps with a chunk it holds for later. */
typedef struct {
    const uint64_t *sizes;
    const char *data;
    char *owner;
} chunk;

static void make_chunk(chunk *c, uint64_t first, uint64_t count) {
    c->owner = __real_malloc(count * (sizeof(uint64_t) + 1));
    assert_non_null(c->owner);
    uint64_t *sizes = (uint64_t *)(void *)c->owner;
    char *data = c->owner + count * sizeof(uint64_t);
    for (uint64_t i = 0; i < count; i++) {
        sizes[i] = 1;
        data[i] = (char)('a' + first + i);
    }
    c->sizes = sizes;
    c->data = data;
}

static void deliver(mpipool_job *j, uint64_t first, uint64_t count) {
    chunk c;
    make_chunk(&c, first, count);
    mpipool__deliver_var(j, first, count, c.sizes, c.data, NULL, 0, 1, c.owner);
}

static void ordered_job(mpipool_job *j, mpipool_sink *sink, sink_log *l) {
    memset(l, 0, sizeof *l);
    *sink = (mpipool_sink){log_put, l};
    memset(j, 0, sizeof *j);
    j->func = "mpipool_imap";
    j->sink = sink;
    j->window = 16;
}

static void expect_items(const sink_log *l, int n, size_t first) {
    if (l->n != n)
        fail_msg("the sink got %d items (the first: item %zu); want %d from item %zu", l->n,
                 l->n ? l->idx[0] : (size_t)0, n, first);
    for (int k = 0; k < n; k++) {
        if (l->idx[k] != first + (size_t)k)
            fail_msg("the sink's item %d is item %zu, not %zu: delivered out of order", k, l->idx[k],
                     first + (size_t)k);
        assert_int_equal(l->first_byte[k], 'a' + (int)(first + (size_t)k));
    }
}

/* With memory: a chunk that comes early waits for the one before it. */
static void test_early_chunk_waits(void **state) {
    (void)state;
    mpipool_job j;
    mpipool_sink sink;
    sink_log l;
    ordered_job(&j, &sink, &l);
    deliver(&j, 2, 2);
    assert_int_equal(l.n, 0);
    assert_non_null(j.pending);
    deliver(&j, 0, 2);
    expect_items(&l, 4, 0);
    assert_int_equal(j.emitted, 4);
    assert_null(j.pending);
    assert_int_equal(j.stream_rc, MPIPOOL_OK);
}

/* Issue 15, defect 6: no memory to hold an early chunk.  The stream stops
 * with ENOMEM naming the items; nothing reaches the sink out of order, and
 * the chunk that was due still goes out and moves `emitted` on (the window
 * counts from it).  The old code gave items 2 and 3 to the sink before
 * item 0 and never counted them in `emitted`, so the window stayed shut. */
static void test_early_chunk_no_memory(void **state) {
    (void)state;
    mpipool_job j;
    mpipool_sink sink;
    sink_log l;
    ordered_job(&j, &sink, &l);
    chunk c;
    make_chunk(&c, 2, 2);
    fail_after(1);
    mpipool__deliver_var(&j, 2, 2, c.sizes, c.data, NULL, 0, 1, c.owner); /* owner freed or kept */
    assert_int_equal(failed, 1);
    expect_items(&l, 0, 0);
    assert_null(j.pending);
    assert_int_equal(j.stream_rc, MPIPOOL_ENOMEM);
    assert_true(j.cancelled);
    if (strstr(j.err, "items 2+2") == NULL || strstr(j.err, "item 0") == NULL)
        fail_msg("the message names neither the chunk nor the item awaited: %s", j.err);
    assert_int_equal(j.emitted, 0);
    deliver(&j, 0, 2);
    expect_items(&l, 2, 0);
    assert_int_equal(j.emitted, 2);
    /* The first error stays the one reported. */
    assert_int_equal(j.stream_rc, MPIPOOL_ENOMEM);
    mpipool__pending_free(&j);
}

/* The second early chunk finds no memory: the first stays held, and is
 * delivered (then freed) when its turn comes. */
static void test_second_early_chunk_no_memory(void **state) {
    (void)state;
    mpipool_job j;
    mpipool_sink sink;
    sink_log l;
    ordered_job(&j, &sink, &l);
    deliver(&j, 2, 1);
    chunk c;
    make_chunk(&c, 4, 1);
    fail_after(1);
    mpipool__deliver_var(&j, 4, 1, c.sizes, c.data, NULL, 0, 1, c.owner);
    assert_int_equal(failed, 1);
    assert_int_equal(j.stream_rc, MPIPOOL_ENOMEM);
    expect_items(&l, 0, 0);
    deliver(&j, 0, 2);
    expect_items(&l, 3, 0);
    assert_int_equal(j.emitted, 3);
    assert_null(j.pending);
}

/* mpipool_map with MPIPOOL_VARIABLE results: no memory for one result
 * leaves that result empty, keeps the others, and fails the map with
 * ENOMEM naming the item and its size. */
static void test_variable_result_no_memory(void **state) {
    (void)state;
    mpipool_buf out[3];
    memset(out, 0x55, sizeof out);
    mpipool_job j;
    memset(&j, 0, sizeof j);
    j.func = "mpipool_map";
    j.out_var = 1;
    j.out = (char *)out;
    j.n = 3;
    chunk c;
    make_chunk(&c, 0, 3);
    fail_after(2); /* item 0's copy, then item 1's fails */
    mpipool__deliver_var(&j, 0, 3, c.sizes, c.data, NULL, 0, 1, c.owner);
    assert_int_equal(failed, 1);
    assert_int_equal(j.stream_rc, MPIPOOL_ENOMEM);
    if (strstr(j.err, "1-byte result of item 1") == NULL) fail_msg("message: %s", j.err);
    assert_int_equal(out[0].size, 1);
    assert_int_equal(((char *)out[0].data)[0], 'a');
    assert_null(out[1].data);
    assert_int_equal(out[1].size, 0);
    assert_int_equal(out[2].size, 1);
    assert_int_equal(((char *)out[2].data)[0], 'c');
    free(out[0].data);
    free(out[2].data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_early_chunk_waits),
        cmocka_unit_test(test_early_chunk_no_memory),
        cmocka_unit_test(test_second_early_chunk_no_memory),
        cmocka_unit_test(test_variable_result_no_memory),
    };
    return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
