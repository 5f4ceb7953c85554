/*
 * test_error.c — the error codes generated from MPIPOOL_ERRNO_MAP
 * (mpipool_err_name, mpipool_strerror) and the version calls: the header a
 * program was compiled with must agree with the library it links.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pure.h"

typedef struct {
    int code;
    const char *name; /* "MPIPOOL_<X>", from the header's list */
    const char *text;
} code_info;

static const code_info codes[] = {
#define XX(name, value, text) {MPIPOOL_##name, "MPIPOOL_" #name, text},
    MPIPOOL_ERRNO_MAP(XX)
#undef XX
};
#define NCODES (sizeof codes / sizeof codes[0])

static void test_every_code(void **state) {
    (void)state;
    assert_true(NCODES >= 13);
    for (size_t i = 0; i < NCODES; i++) {
        /* Negative, as the contract says. */
        assert_true(codes[i].code < 0);
        assert_string_equal(mpipool_err_name(codes[i].code), codes[i].name);
        const char *d = mpipool_strerror(codes[i].code);
        assert_non_null(d);
        assert_true(strlen(d) > 0);
        assert_string_equal(d, codes[i].text);
        assert_string_not_equal(d, "unknown error");
        for (size_t j = 0; j < i; j++) {
            assert_true(codes[i].code != codes[j].code);
            assert_string_not_equal(mpipool_err_name(codes[i].code),
                                    mpipool_err_name(codes[j].code));
            assert_string_not_equal(mpipool_strerror(codes[i].code),
                                    mpipool_strerror(codes[j].code));
        }
    }
}

static void test_known_names(void **state) {
    (void)state;
    /* Spot checks against the literal names users grep for. */
    assert_string_equal(mpipool_err_name(MPIPOOL_ETASK), "MPIPOOL_ETASK");
    assert_string_equal(mpipool_err_name(MPIPOOL_EMISMATCH), "MPIPOOL_EMISMATCH");
    assert_string_equal(mpipool_err_name(MPIPOOL_ECLOSED), "MPIPOOL_ECLOSED");
    assert_string_equal(mpipool_strerror(MPIPOOL_ETASK), "a task failed");
    assert_int_equal(MPIPOOL_EINVAL, -1);
    assert_int_equal(MPIPOOL_EPROTO, -13);
}

static void test_ok(void **state) {
    (void)state;
    assert_int_equal(MPIPOOL_OK, 0);
    assert_string_equal(mpipool_err_name(MPIPOOL_OK), "MPIPOOL_OK");
    const char *d = mpipool_strerror(MPIPOOL_OK);
    assert_non_null(d);
    assert_true(strlen(d) > 0);
    assert_string_not_equal(d, "unknown error");
}

static void test_unknown(void **state) {
    (void)state;
    /* One past the most negative code in the list, whatever it grows to. */
    int lowest = 0;
#define XX(name, value, text) if ((value) < lowest) lowest = (value);
    MPIPOOL_ERRNO_MAP(XX)
#undef XX
    const int unknown[] = {1, 2, lowest - 1, -100, 12345, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        assert_string_equal(mpipool_err_name(unknown[i]), "MPIPOOL_UNKNOWN");
        assert_string_equal(mpipool_strerror(unknown[i]), "unknown error");
    }
}

static void test_version(void **state) {
    (void)state;
    assert_int_equal(mpipool_version(), MPIPOOL_VERSION_HEX);
    assert_int_equal(mpipool_version(),
                     ((unsigned)MPIPOOL_VERSION_MAJOR << 16) |
                         ((unsigned)MPIPOOL_VERSION_MINOR << 8) | MPIPOOL_VERSION_PATCH);
    assert_non_null(mpipool_version_string());
    assert_string_equal(mpipool_version_string(), MPIPOOL_VERSION_STRING);
    char buf[64];
    snprintf(buf, sizeof buf, "%d.%d.%d", MPIPOOL_VERSION_MAJOR, MPIPOOL_VERSION_MINOR,
             MPIPOOL_VERSION_PATCH);
    assert_string_equal(buf, MPIPOOL_VERSION_STRING);
    /* The hex form orders versions. */
    assert_true(MPIPOOL_VERSION_HEX < ((MPIPOOL_VERSION_MAJOR + 1) << 16));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code),
        cmocka_unit_test(test_known_names),
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
