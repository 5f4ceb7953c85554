/*
 * test_validate.c — mpipool__check_map_args (src/validate.c): every refusal
 * of a fixed-size map's arguments, with its code and a message naming the
 * offending argument, and the boundary cases that must pass.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pure.h"

static int in_buf[64];
static long out_buf[64];
static char msg[MPIPOOL__MSG_MAX];

/* Run the check with a fresh message buffer. */
static int check(const void *in, size_t in_size, const void *out, size_t out_size,
                 size_t n, const mpipool_map_options *opts) {
    memset(msg, 0, sizeof msg);
    return mpipool__check_map_args(in, in_size, out, out_size, n, opts, msg, sizeof msg);
}

/* The refusal names `what`, without the "mpipool_map: " prefix the caller adds. */
static void expect(int rc, int code, const char *what) {
    if (rc != code)
        fail_msg("got %s, want %s (msg: %s)", mpipool_err_name(rc), mpipool_err_name(code), msg);
    if (strstr(msg, what) == NULL) fail_msg("message \"%s\" does not name \"%s\"", msg, what);
    assert_null(strstr(msg, "mpipool_map:"));
}

static void test_ok(void **state) {
    (void)state;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    assert_int_equal(check(in_buf, sizeof *in_buf, out_buf, sizeof *out_buf, 64, NULL), MPIPOOL_OK);
    assert_int_equal(check(in_buf, sizeof *in_buf, out_buf, sizeof *out_buf, 64, &o), MPIPOOL_OK);
    o.schedule = MPIPOOL_SCHEDULE_STATIC;
    o.chunk_size = 1000000; /* larger than n is fine: it is capped */
    assert_int_equal(check(in_buf, sizeof *in_buf, out_buf, sizeof *out_buf, 64, &o), MPIPOOL_OK);
    assert_int_equal(check(in_buf, 1, out_buf, 1, 1, NULL), MPIPOOL_OK);
}

static void test_null_with_zero_n(void **state) {
    (void)state;
    assert_int_equal(check(NULL, 4, NULL, 4, 0, NULL), MPIPOOL_OK);
    assert_int_equal(check(in_buf, 4, NULL, 4, 0, NULL), MPIPOOL_OK);
    assert_int_equal(check(NULL, 4, out_buf, 4, 0, NULL), MPIPOOL_OK);
    /* n == 0 with the same pointer for both: nothing is written, so no overlap. */
    assert_int_equal(check(in_buf, 4, in_buf, 4, 0, NULL), MPIPOOL_OK);
}

static void test_null_pointers(void **state) {
    (void)state;
    expect(check(NULL, 4, out_buf, 8, 5, NULL), MPIPOOL_EINVAL, "in is NULL");
    expect(check(in_buf, 4, NULL, 8, 5, NULL), MPIPOOL_EINVAL, "out is NULL");
    expect(check(NULL, 4, NULL, 8, 1, NULL), MPIPOOL_EINVAL, "is NULL");
}

static void test_zero_sizes(void **state) {
    (void)state;
    /* Items or results of size 0 (Process(target=f) with no arguments, a
     * task with no result) are allowed, and need no memory. */
    assert_int_equal(check(in_buf, 0, out_buf, 8, 5, NULL), MPIPOOL_OK);
    assert_int_equal(check(in_buf, 4, out_buf, 0, 5, NULL), MPIPOOL_OK);
    assert_int_equal(check(NULL, 0, out_buf, 8, 5, NULL), MPIPOOL_OK);
    assert_int_equal(check(in_buf, 4, NULL, 0, 5, NULL), MPIPOOL_OK);
    assert_int_equal(check(NULL, 0, NULL, 0, 5, NULL), MPIPOOL_OK);
    /* ... but a non-zero size still needs its array. */
    expect(check(NULL, 4, out_buf, 0, 5, NULL), MPIPOOL_EINVAL, "in is NULL");
    expect(check(in_buf, 0, NULL, 4, 5, NULL), MPIPOOL_EINVAL, "out is NULL");
}

static void test_bad_schedule(void **state) {
    (void)state;
    mpipool_map_options o;
    mpipool_map_options_init(&o);
    o.schedule = (mpipool_schedule)7;
    expect(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_EINVAL, "schedule");
    o.schedule = (mpipool_schedule)-1;
    expect(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_EINVAL, "schedule");
    /* Options are checked even with n == 0. */
    expect(check(NULL, 4, NULL, 8, 0, &o), MPIPOOL_EINVAL, "schedule");
}

static void test_flags(void **state) {
    (void)state;
    mpipool_map_options o;
    mpipool_map_options_init(&o);
    o.flags = MPIPOOL_MAP_PROGRESS;
    assert_int_equal(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_OK);
    o.flags = 0x80; /* not defined */
    expect(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_EINVAL, "flags");
    o.flags = MPIPOOL_MAP_PROGRESS | 0x80;
    expect(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_EINVAL, "flags");
    o.flags = MPIPOOL_MAP_PROGRESS | MPIPOOL_MAP_HIERARCHY;
    assert_int_equal(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_OK);
    o.flags = MPIPOOL_MAP_FLAT;
    assert_int_equal(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_OK);
    o.flags = MPIPOOL_MAP_HIERARCHY | MPIPOOL_MAP_FLAT;
    expect(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_EINVAL, "MPIPOOL_MAP_FLAT");
    o.flags = 0x80000000u;
    expect(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_EINVAL, "flags");
}

static void test_reserved(void **state) {
    (void)state;
    mpipool_map_options proto;
    for (size_t i = 0; i < sizeof proto.reserved / sizeof proto.reserved[0]; i++) {
        mpipool_map_options o;
        mpipool_map_options_init(&o);
        o.reserved[i] = &o;
        expect(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_EINVAL, "reserved");
        char idx[16];
        snprintf(idx, sizeof idx, "[%zu]", i);
        assert_non_null(strstr(msg, idx));
    }
}

static void test_journal_option(void **state) {
    (void)state;
    static char long_path[5000];
    mpipool_map_options o;
    mpipool_map_options_init(&o);
    assert_null(o.journal);
    o.journal = "run.journal";
    assert_int_equal(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_OK);
    o.journal = ""; /* "no journal, whatever MPIPOOL_JOURNAL says" */
    assert_int_equal(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_OK);
    memset(long_path, 'a', 4095);
    o.journal = long_path;
    assert_int_equal(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_OK);
    memset(long_path, 'a', 4096);
    expect(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_EINVAL, "journal");
    /* The journal and task_timeout took reserved slots; two remain. */
    assert_int_equal(sizeof o.reserved / sizeof o.reserved[0], 2);
}

static void test_task_timeout_option(void **state) {
    (void)state;
    mpipool_map_options o;
    mpipool_map_options_init(&o);
    assert_true(o.task_timeout == 0.0);
    o.task_timeout = 2.5;
    assert_int_equal(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_OK);
    o.task_timeout = -1;
    expect(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_EINVAL, "task_timeout");
    o.task_timeout = 0.0 / 0.0;
    expect(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_EINVAL, "task_timeout");
}

static void test_huge_items(void **state) {
    (void)state;
    /* Items of any size are allowed (messages over the piece size are sent
     * in pieces); only n * size overflowing the address space is refused. */
    const size_t big = (size_t)1 << 33; /* 8 GiB: over any MPI int count */
    assert_int_equal(check(NULL, big, NULL, 4, 0, NULL), MPIPOOL_OK);
    assert_int_equal(check(NULL, 4, NULL, big, 0, NULL), MPIPOOL_OK);
    expect(check(in_buf, SIZE_MAX / 2, out_buf, 4, 3, NULL), MPIPOOL_EOVERFLOW, "n =");
    expect(check(in_buf, 4, out_buf, SIZE_MAX - 1, 2, NULL), MPIPOOL_EOVERFLOW, "n =");
    /* SIZE_MAX is MPIPOOL_VARIABLE: arrays of mpipool_buf, accepted. */
    mpipool_buf bufs_in[2] = {{NULL, 0}, {NULL, 0}}, bufs_out[2];
    assert_int_equal(check(bufs_in, MPIPOOL_VARIABLE, bufs_out, MPIPOOL_VARIABLE, 2, NULL), MPIPOOL_OK);
    assert_int_equal(check(bufs_in, MPIPOOL_VARIABLE, out_buf, 4, 2, NULL), MPIPOOL_OK);
}

static void test_overflow(void **state) {
    (void)state;
    expect(check(in_buf, 4, out_buf, 8, SIZE_MAX / 4 + 1, NULL), MPIPOOL_EOVERFLOW, "n =");
    expect(check(in_buf, 8, out_buf, 4, SIZE_MAX / 4 + 1, NULL), MPIPOOL_EOVERFLOW, "n =");
    expect(check(in_buf, 1, out_buf, 1000, SIZE_MAX / 2, NULL), MPIPOOL_EOVERFLOW, "n =");
    expect(check(in_buf, 4, out_buf, 4, SIZE_MAX, NULL), MPIPOOL_EOVERFLOW, "n =");
}

static void test_overlap(void **state) {
    (void)state;
    static int buf[100];
    /* out starts inside in. */
    expect(check(buf, sizeof *buf, buf + 5, sizeof *buf, 10, NULL), MPIPOOL_EINVAL, "overlap");
    /* in starts inside out. */
    expect(check(buf + 5, sizeof *buf, buf, sizeof *buf, 10, NULL), MPIPOOL_EINVAL, "overlap");
    /* In place. */
    expect(check(buf, sizeof *buf, buf, sizeof *buf, 10, NULL), MPIPOOL_EINVAL, "overlap");
    /* out's last byte is in's first: one out item is 9 bytes. */
    expect(check(buf + 2, sizeof *buf, buf, 2 * sizeof *buf + 1, 1, NULL), MPIPOOL_EINVAL,
           "overlap");
    /* Adjacent but disjoint, in either order. */
    assert_int_equal(check(buf, sizeof *buf, buf + 10, sizeof *buf, 10, NULL), MPIPOOL_OK);
    assert_int_equal(check(buf + 10, sizeof *buf, buf, sizeof *buf, 10, NULL), MPIPOOL_OK);
    /* Sizes differ: out items are twice as large. */
    assert_int_equal(check(buf + 20, sizeof *buf, buf, 2 * sizeof *buf, 10, NULL), MPIPOOL_OK);
    expect(check(buf + 19, sizeof *buf, buf, 2 * sizeof *buf, 10, NULL), MPIPOOL_EINVAL,
           "overlap");
}

/* Issue 15, defect 7: in and out are unrelated objects, so the overlap
 * check compares their addresses as integers.  Pointer arithmetic on them
 * (`(const char *)out + n * out_size`) is undefined once it leaves the
 * object, here by wrapping past the top of the address space, which the
 * ASan+UBSan stage reports (pointer-overflow) and fails.  The addresses are
 * never dereferenced. */
static void test_unrelated_addresses(void **state) {
    (void)state;
    const void *top = (const void *)(UINTPTR_MAX - 15), *low = (const void *)(uintptr_t)4096;
    assert_int_equal(check(low, 8, top, 8, 4, NULL), MPIPOOL_OK);
    assert_int_equal(check(top, 8, low, 8, 4, NULL), MPIPOOL_OK);
    /* Two separate allocations: disjoint whatever their order in memory. */
    long *a = malloc(8 * sizeof *a), *b = malloc(8 * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(check(a, sizeof *a, b, sizeof *b, 8, NULL), MPIPOOL_OK);
    assert_int_equal(check(b, sizeof *b, a, sizeof *a, 8, NULL), MPIPOOL_OK);
    free(a);
    free(b);
}

static void test_message_truncated(void **state) {
    (void)state;
    char small[8];
    memset(small, 'x', sizeof small);
    int rc = mpipool__check_map_args(NULL, 4, out_buf, 8, 5, NULL, small, 6);
    assert_int_equal(rc, MPIPOOL_EINVAL);
    assert_true(strlen(small) < 6);
    assert_int_equal(small[6], 'x');
}

static void test_options_init(void **state) {
    (void)state;
    mpipool_map_options o;
    memset(&o, 0xff, sizeof o);
    mpipool_map_options_init(&o);
    assert_int_equal(o.schedule, MPIPOOL_SCHEDULE_DYNAMIC);
    assert_int_equal(o.chunk_size, 0);
    assert_int_equal(o.flags, 0);
    assert_null(o.journal);
    for (size_t i = 0; i < sizeof o.reserved / sizeof o.reserved[0]; i++) assert_null(o.reserved[i]);
    mpipool_map_options_init(NULL); /* no crash */
    mpipool_map_options s = MPIPOOL_MAP_OPTIONS_INIT;
    assert_int_equal(s.schedule, MPIPOOL_SCHEDULE_DYNAMIC);
    assert_int_equal(s.chunk_size, 0);
    assert_int_equal(s.flags, 0);
    assert_null(s.journal);
    for (size_t i = 0; i < sizeof o.reserved / sizeof o.reserved[0]; i++) assert_null(s.reserved[i]);
    assert_int_equal(check(in_buf, 4, out_buf, 8, 5, &o), MPIPOOL_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_null_with_zero_n),
        cmocka_unit_test(test_null_pointers),
        cmocka_unit_test(test_zero_sizes),
        cmocka_unit_test(test_bad_schedule),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_reserved),
        cmocka_unit_test(test_journal_option),
        cmocka_unit_test(test_task_timeout_option),
        cmocka_unit_test(test_huge_items),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_unrelated_addresses),
        cmocka_unit_test(test_message_truncated),
        cmocka_unit_test(test_options_init),
    };
    return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
