/*
 * test_parse.c — the checks of outside input (src/parse.c):
 * MPIPOOL_PIECE_BYTES as mpipool_open reads it, a received chunk's layout,
 * and the failure-record walker.  tests/fuzz/ throws random bytes at the
 * same functions; these are the cases we know by name.
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

static void expect_piece(const char *value, int rc, size_t piece) {
    size_t got = 12345;
    int r = mpipool__piece_parse(value, &got);
    if (r != rc || got != piece)
        fail_msg("piece_parse(\"%s\") = %s, %zu; want %s, %zu", value ? value : "(null)", mpipool_err_name(r),
                 got, mpipool_err_name(rc), piece);
}

static void test_piece_parse(void **state) {
    (void)state;
    expect_piece(NULL, MPIPOOL_OK, MPIPOOL__DEFAULT_PIECE);
    expect_piece("", MPIPOOL_OK, MPIPOOL__DEFAULT_PIECE);
    expect_piece("1000", MPIPOOL_OK, 1000);
    expect_piece("256", MPIPOOL_OK, 256);
    expect_piece("0", MPIPOOL_OK, MPIPOOL__MIN_PIECE);
    expect_piece("255", MPIPOOL_OK, MPIPOOL__MIN_PIECE);
    expect_piece("1073741824", MPIPOOL_OK, MPIPOOL__DEFAULT_PIECE);
    expect_piece("1073741825", MPIPOOL_OK, MPIPOOL__DEFAULT_PIECE);
    expect_piece("999999999999999999999999999999", MPIPOOL_OK, MPIPOOL__DEFAULT_PIECE);
    const char *bad[] = {"abc", "-5", "+5", "1e9", " 1000", "1000 ", "0x100", "64k", "1.5", "\t", "١٢"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) expect_piece(bad[i], MPIPOOL_EINVAL, MPIPOOL__DEFAULT_PIECE);
}

/* A message buffer: header + payload, 8-byte aligned as malloc gives. */
static char *message(const mpipool__work_hdr *h, const void *payload, size_t len) {
    char *m = malloc(sizeof *h + len + 1);
    assert_non_null(m);
    memcpy(m, h, sizeof *h);
    if (len) memcpy(m + sizeof *h, payload, len);
    return m;
}

static void test_chunk_fixed(void **state) {
    (void)state;
    mpipool__work_hdr h = {MPIPOOL__KIND_CHUNK, 0, 1, 10, 3, 4, 4, 0, 0, 0, 0.0, 0, 0, 0, 0};
    char items[12] = "abcdefghijk";
    char *m = message(&h, items, 12);
    const uint64_t *sizes;
    const char *data;
    assert_int_equal(mpipool__chunk_layout(&h, m, sizeof h + 12, &sizes, &data), 0);
    assert_null(sizes);
    assert_ptr_equal(data, m + sizeof h);
    /* One byte short or long is refused. */
    assert_int_equal(mpipool__chunk_layout(&h, m, sizeof h + 11, &sizes, &data), -1);
    assert_int_equal(mpipool__chunk_layout(&h, m, sizeof h + 13, &sizes, &data), -1);
    /* Shorter than a header. */
    assert_int_equal(mpipool__chunk_layout(&h, m, sizeof h - 1, &sizes, &data), -1);
    /* count * in_size wraps to exactly the payload (here 0 bytes). */
    h.count = 2;
    h.in_size = (uint64_t)1 << 63;
    assert_int_equal(mpipool__chunk_layout(&h, m, sizeof h, &sizes, &data), -1);
    /* Items of size 0 (allowed since issue 16): a header alone holds them,
     * and any payload byte is one too many. */
    h.in_size = 0;
    assert_int_equal(mpipool__chunk_layout(&h, m, sizeof h, &sizes, &data), 0);
    assert_int_equal(mpipool__chunk_layout(&h, m, sizeof h + 1, &sizes, &data), -1);
    free(m);
}

static void test_chunk_variable(void **state) {
    (void)state;
    mpipool__work_hdr h = {MPIPOOL__KIND_CHUNK, 0, 1, 0, 2, MPIPOOL__VAR, MPIPOOL__VAR, 0, 0, 0, 0.0, 0, 0, 0, 0};
    struct {
        uint64_t sizes[2];
        char data[8];
    } p = {{3, 5}, "abcdefgh"};
    char *m = message(&h, &p, sizeof p);
    const uint64_t *sizes;
    const char *data;
    assert_int_equal(mpipool__chunk_layout(&h, m, sizeof h + sizeof p, &sizes, &data), 0);
    assert_ptr_equal(sizes, (const void *)(m + sizeof h));
    assert_ptr_equal(data, m + sizeof h + 16);
    free(m);
    /* Sizes that add up (mod 2^64) to the payload must not pass. */
    p.sizes[0] = UINT64_MAX;
    p.sizes[1] = 9;
    m = message(&h, &p, sizeof p);
    assert_int_equal(mpipool__chunk_layout(&h, m, sizeof h + sizeof p, &sizes, &data), -1);
    free(m);
    /* More sizes announced than the message holds. */
    h.count = 1000;
    m = message(&h, &p, sizeof p);
    assert_int_equal(mpipool__chunk_layout(&h, m, sizeof h + sizeof p, &sizes, &data), -1);
    free(m);
}

static void test_fails_next(void **state) {
    (void)state;
    char buf[64];
    uint64_t idx = 17;
    uint32_t len = 5;
    memcpy(buf, &idx, 8);
    memcpy(buf + 8, &len, 4);
    memcpy(buf + 12, "hello", 5);
    size_t off = 0;
    uint64_t got;
    const char *msg;
    uint32_t mlen;
    assert_int_equal(mpipool__fails_next(buf, 17, &off, &got, &msg, &mlen), 1);
    assert_int_equal(got, 17);
    assert_int_equal(mlen, 5);
    assert_memory_equal(msg, "hello", 5);
    assert_int_equal(off, 17);
    assert_int_equal(mpipool__fails_next(buf, 17, &off, &got, &msg, &mlen), 0);
    /* A length past the end, an offset past the end, no buffer. */
    off = 0;
    assert_int_equal(mpipool__fails_next(buf, 16, &off, &got, &msg, &mlen), 0);
    off = 100;
    assert_int_equal(mpipool__fails_next(buf, 17, &off, &got, &msg, &mlen), 0);
    off = 0;
    assert_int_equal(mpipool__fails_next(NULL, 0, &off, &got, &msg, &mlen), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_piece_parse),
        cmocka_unit_test(test_chunk_fixed),
        cmocka_unit_test(test_chunk_variable),
        cmocka_unit_test(test_fails_next),
    };
    return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
