/*
 * test_registry.c — the process-wide task table (src/registry.c): adding and
 * finding tasks, the errors of mpipool_register(), freezing (sorted,
 * read-only while a pool is open), the digest and serialised list that
 * mpipool_open compares between ranks, and the mismatch message.
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

static int task_a(mpipool_task *t) { (void)t; return 0; }
static int task_b(mpipool_task *t) { (void)t; return 1; }
static int task_c(mpipool_task *t) { (void)t; return 2; }

static int reset(void **state) {
    (void)state;
    mpipool__registry_reset();
    return 0;
}

static void test_add_and_find(void **state) {
    (void)state;
    size_t i = 99;
    assert_int_equal(mpipool__registry_count(), 0);
    assert_int_equal(mpipool__registry_find_name("alpha", &i), MPIPOOL_ENOTREG);
    assert_int_equal(mpipool__registry_find_fn(task_a, &i), MPIPOOL_ENOTREG);

    assert_int_equal(mpipool__registry_add("alpha", task_a), MPIPOOL_OK);
    assert_int_equal(mpipool_register("beta", task_b), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_count(), 2);

    assert_int_equal(mpipool__registry_find_name("alpha", &i), MPIPOOL_OK);
    assert_string_equal(mpipool__registry_name(i), "alpha");
    assert_ptr_equal(mpipool__registry_fn(i), task_a);
    assert_int_equal(mpipool__registry_find_fn(task_b, &i), MPIPOOL_OK);
    assert_string_equal(mpipool__registry_name(i), "beta");
    assert_ptr_equal(mpipool__registry_fn(i), task_b);

    /* A NULL index pointer is allowed. */
    assert_int_equal(mpipool__registry_find_name("beta", NULL), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_find_fn(task_a, NULL), MPIPOOL_OK);

    /* Not registered, or NULL. */
    assert_int_equal(mpipool__registry_find_fn(task_c, &i), MPIPOOL_ENOTREG);
    assert_int_equal(mpipool__registry_find_fn(NULL, &i), MPIPOOL_ENOTREG);
    assert_int_equal(mpipool__registry_find_name("gamma", &i), MPIPOOL_ENOTREG);
    assert_int_equal(mpipool__registry_find_name("alph", &i), MPIPOOL_ENOTREG);
    assert_int_equal(mpipool__registry_find_name(NULL, &i), MPIPOOL_ENOTREG);

    /* Out of range indices. */
    assert_null(mpipool__registry_name(2));
    assert_null(mpipool__registry_fn(2));
    assert_null(mpipool__registry_name(SIZE_MAX));
}

static void test_name_is_copied(void **state) {
    (void)state;
    char name[16];
    strcpy(name, "volatile");
    assert_int_equal(mpipool_register(name, task_a), MPIPOOL_OK);
    strcpy(name, "changed!");
    assert_int_equal(mpipool__registry_find_name("volatile", NULL), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_find_name("changed!", NULL), MPIPOOL_ENOTREG);
}

static void test_duplicates(void **state) {
    (void)state;
    assert_int_equal(mpipool_register("alpha", task_a), MPIPOOL_OK);
    /* The same (name, fn) again is harmless and does not add an entry. */
    assert_int_equal(mpipool_register("alpha", task_a), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_count(), 1);
    /* The same name for another function is refused. */
    assert_int_equal(mpipool_register("alpha", task_b), MPIPOOL_EEXIST);
    assert_int_equal(mpipool__registry_count(), 1);
    size_t i;
    assert_int_equal(mpipool__registry_find_name("alpha", &i), MPIPOOL_OK);
    assert_ptr_equal(mpipool__registry_fn(i), task_a);
    /* One function under two names is fine (an alias). */
    assert_int_equal(mpipool_register("alias", task_a), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_count(), 2);
}

static void test_bad_names(void **state) {
    (void)state;
    assert_int_equal(mpipool_register(NULL, task_a), MPIPOOL_EINVAL);
    assert_int_equal(mpipool_register("", task_a), MPIPOOL_EINVAL);
    assert_int_equal(mpipool_register("two\nlines", task_a), MPIPOOL_EINVAL);
    assert_int_equal(mpipool_register("trailing\n", task_a), MPIPOOL_EINVAL);
    assert_int_equal(mpipool_register("\n", task_a), MPIPOOL_EINVAL);
    assert_int_equal(mpipool_register("nofn", NULL), MPIPOOL_EINVAL);
    assert_int_equal(mpipool__registry_count(), 0);
}

static void test_frozen(void **state) {
    (void)state;
    assert_int_equal(mpipool_register("alpha", task_a), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_freeze(), MPIPOOL_OK);
    assert_int_equal(mpipool_register("beta", task_b), MPIPOOL_EBUSY);
    /* Even re-registering an existing pair is refused while frozen. */
    assert_int_equal(mpipool_register("alpha", task_a), MPIPOOL_EBUSY);
    assert_int_equal(mpipool__registry_count(), 1);

    /* Nested freezes count: one thaw is not enough after two freezes. */
    assert_int_equal(mpipool__registry_freeze(), MPIPOOL_OK);
    mpipool__registry_thaw();
    assert_int_equal(mpipool_register("beta", task_b), MPIPOOL_EBUSY);
    mpipool__registry_thaw();
    assert_int_equal(mpipool_register("beta", task_b), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_count(), 2);

    /* Thawing an unfrozen registry is harmless and does not go negative. */
    mpipool__registry_thaw();
    assert_int_equal(mpipool__registry_freeze(), MPIPOOL_OK);
    assert_int_equal(mpipool_register("gamma", task_c), MPIPOOL_EBUSY);
    mpipool__registry_thaw();
    assert_int_equal(mpipool_register("gamma", task_c), MPIPOOL_OK);
}

static void test_sorted_after_freeze(void **state) {
    (void)state;
    assert_int_equal(mpipool_register("zeta", task_c), MPIPOOL_OK);
    assert_int_equal(mpipool_register("alpha", task_a), MPIPOOL_OK);
    assert_int_equal(mpipool_register("mid", task_b), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_freeze(), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_count(), 3);
    assert_string_equal(mpipool__registry_name(0), "alpha");
    assert_string_equal(mpipool__registry_name(1), "mid");
    assert_string_equal(mpipool__registry_name(2), "zeta");
    /* Functions moved with their names. */
    assert_ptr_equal(mpipool__registry_fn(0), task_a);
    assert_ptr_equal(mpipool__registry_fn(1), task_b);
    assert_ptr_equal(mpipool__registry_fn(2), task_c);
    size_t i;
    assert_int_equal(mpipool__registry_find_fn(task_c, &i), MPIPOOL_OK);
    assert_int_equal(i, 2);
    assert_int_equal(mpipool__registry_find_name("mid", &i), MPIPOOL_OK);
    assert_int_equal(i, 1);
    mpipool__registry_thaw();
}

static uint64_t digest_of(const char *const *names, const mpipool_fn *fns, size_t n) {
    mpipool__registry_reset();
    for (size_t k = 0; k < n; k++)
        assert_int_equal(mpipool_register(names[k], fns[k]), MPIPOOL_OK);
    return mpipool__registry_digest();
}

static void test_digest(void **state) {
    (void)state;
    const char *abc[] = {"alpha", "beta", "gamma"};
    const char *cab[] = {"gamma", "alpha", "beta"};
    const mpipool_fn f3[] = {task_a, task_b, task_c};
    uint64_t empty = digest_of(NULL, NULL, 0);
    uint64_t d1 = digest_of(abc, f3, 3);
    /* Same names in another order (and bound to other addresses, as on
     * another rank): same digest. */
    uint64_t d2 = digest_of(cab, f3, 3);
    assert_true(d1 == d2);
    assert_true(d1 != empty);

    /* Digest does not depend on freezing (sorting) either. */
    digest_of(cab, f3, 3);
    assert_int_equal(mpipool__registry_freeze(), MPIPOOL_OK);
    assert_true(mpipool__registry_digest() == d1);
    mpipool__registry_thaw();

    /* Different sets differ. */
    const char *ab[] = {"alpha", "beta"};
    const char *abd[] = {"alpha", "beta", "delta"};
    const char *joined[] = {"alphabeta", "gamma"};
    const char *split[] = {"alph", "abeta", "gamma"};
    assert_true(digest_of(ab, f3, 2) != d1);
    assert_true(digest_of(abd, f3, 3) != d1);
    assert_true(digest_of(ab, f3, 2) != digest_of(abd, f3, 3));
    /* The name separator matters: "alphabeta" is not "alph"+"abeta". */
    const mpipool_fn f2[] = {task_a, task_b};
    assert_true(digest_of(joined, f2, 2) != digest_of(split, f3, 3));
    const char *one_a[] = {"alphabeta"};
    const char *two_a[] = {"alpha", "beta"};
    assert_true(digest_of(one_a, f3, 1) != digest_of(two_a, f3, 2));
}

static void test_serialize(void **state) {
    (void)state;
    size_t len = 12345;
    char *s = mpipool__registry_serialize(&len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);

    assert_int_equal(mpipool_register("zeta", task_c), MPIPOOL_OK);
    assert_int_equal(mpipool_register("alpha", task_a), MPIPOOL_OK);
    assert_int_equal(mpipool_register("mid", task_b), MPIPOOL_OK);
    s = mpipool__registry_serialize(&len);
    assert_non_null(s);
    assert_string_equal(s, "alpha\nmid\nzeta\n");
    assert_int_equal(len, strlen("alpha\nmid\nzeta\n"));
    free(s);
    /* len may be NULL. */
    s = mpipool__registry_serialize(NULL);
    assert_non_null(s);
    assert_string_equal(s, "alpha\nmid\nzeta\n");
    free(s);
}

/* What MPIPOOL_TASK does when a constructor's registration fails: nothing
 * to return to, so the error is kept and reported by the next freeze. */
static void test_deferred(void **state) {
    (void)state;
    assert_string_equal(mpipool__registry_deferred_message(), "");
    mpipool__register_deferred("dupe", task_a);
    assert_int_equal(mpipool__registry_freeze(), MPIPOOL_OK);
    mpipool__registry_thaw();
    mpipool__register_deferred("dupe", task_b);
    mpipool__register_deferred("", task_c); /* a second error: the first is kept */
    assert_int_equal(mpipool__registry_freeze(), MPIPOOL_EEXIST);
    mpipool__registry_thaw();
    assert_non_null(strstr(mpipool__registry_deferred_message(), "dupe"));
    mpipool__registry_reset();
    assert_string_equal(mpipool__registry_deferred_message(), "");
    assert_int_equal(mpipool__registry_freeze(), MPIPOOL_OK);
    mpipool__registry_thaw();
}

static void test_describe_diff_none(void **state) {
    (void)state;
    const char *lists[] = {"a\nb\n", "a\nb\n", "a\nb\n"};
    char msg[256];
    strcpy(msg, "garbage");
    assert_int_equal(mpipool__registry_describe_diff(lists, 3, msg, sizeof msg), 0);
    assert_string_equal(msg, "");
    const char *empty[] = {"", ""};
    assert_int_equal(mpipool__registry_describe_diff(empty, 2, msg, sizeof msg), 0);
    assert_string_equal(msg, "");
}

static void test_describe_diff_one(void **state) {
    (void)state;
    const char *lists[] = {"alpha\nbeta\n", "alpha\n", "alpha\nbeta\n", "alpha\n"};
    char msg[512];
    assert_int_equal(mpipool__registry_describe_diff(lists, 4, msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "'beta'"));
    assert_null(strstr(msg, "'alpha'"));
    assert_non_null(strstr(msg, "registered on ranks 0,2"));
    assert_non_null(strstr(msg, "not on ranks 1,3"));
}

static void test_describe_diff_prefix_names(void **state) {
    (void)state;
    /* "sq" is a prefix of "square": the check must compare whole lines. */
    const char *lists[] = {"sq\nsquare\n", "square\n"};
    char msg[512];
    assert_int_equal(mpipool__registry_describe_diff(lists, 2, msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "'sq'"));
    assert_null(strstr(msg, "'square'"));
    assert_non_null(strstr(msg, "registered on ranks 0 "));
    assert_non_null(strstr(msg, "not on ranks 1"));
}

static void test_describe_diff_several(void **state) {
    (void)state;
    /* Rank 1 lacks cube, rank 0 lacks extra_on_rank1. */
    const char *lists[] = {"cube\nsquare\n", "extra_on_rank1\nsquare\n", "cube\nsquare\n"};
    char msg[512];
    assert_int_equal(mpipool__registry_describe_diff(lists, 3, msg, sizeof msg), 2);
    const char *c = strstr(msg, "'cube' is registered on ranks 0,2 but not on ranks 1");
    const char *e = strstr(msg, "'extra_on_rank1' is registered on ranks 1 but not on ranks 0,2");
    assert_non_null(c);
    assert_non_null(e);
    assert_null(strstr(msg, "'square'"));
}

static void test_describe_diff_many_ranks(void **state) {
    (void)state;
    enum { N = 40 };
    const char *lists[N];
    for (int r = 0; r < N; r++) lists[r] = (r == 5) ? "a\n" : "a\nb\n";
    char msg[512];
    assert_int_equal(mpipool__registry_describe_diff(lists, N, msg, sizeof msg), 1);
    /* 39 ranks have 'b': the list is elided but the count is given. */
    assert_non_null(strstr(msg, "(39 ranks)"));
    assert_non_null(strstr(msg, "not on ranks 5"));
    assert_true(strlen(msg) < 200);
}

static void test_describe_diff_small_buffer(void **state) {
    (void)state;
    const char *lists[] = {"averyveryverylongtaskname\n", ""};
    char msg[24];
    memset(msg, 'x', sizeof msg);
    assert_int_equal(mpipool__registry_describe_diff(lists, 2, msg, 16), 1);
    assert_true(strlen(msg) < 16);
    assert_int_equal(msg[16], 'x'); /* nothing written past msgsz */
    /* msgsz == 0: nothing written at all. */
    memset(msg, 'x', sizeof msg);
    assert_int_equal(mpipool__registry_describe_diff(lists, 2, msg, 0), 0);
    assert_int_equal(msg[0], 'x');
}

/* Batch tasks: a kind of their own in lookups, digest and serialised list. */
static void test_batch_kind(void **state) {
    (void)state;
    assert_int_equal(mpipool__registry_add("plain", task_a), MPIPOOL_OK);
    uint64_t plain_only = mpipool__registry_digest();
    assert_int_equal(mpipool__registry_add_batch("many", task_b), MPIPOOL_OK);
    assert_int_equal(mpipool_register_batch("many", task_b), MPIPOOL_OK); /* same again: harmless */
    /* The other kind, for the same name or the same function: refused. */
    assert_int_equal(mpipool__registry_add("many", task_b), MPIPOOL_EEXIST);
    assert_int_equal(mpipool__registry_add_batch("plain", task_a), MPIPOOL_EEXIST);
    assert_int_equal(mpipool__registry_add("other", task_b), MPIPOOL_EEXIST);
    assert_int_equal(mpipool__registry_add_batch("other", task_a), MPIPOOL_EEXIST);
    assert_int_equal(mpipool_register_batch(NULL, task_c), MPIPOOL_EINVAL);
    assert_int_equal(mpipool_register_batch("x", NULL), MPIPOOL_EINVAL);
    assert_int_equal(mpipool__registry_count(), 2);
    size_t i;
    assert_int_equal(mpipool__registry_find_name("many", &i), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_is_batch(i), 1);
    assert_int_equal(mpipool__registry_find_name("plain", &i), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_is_batch(i), 0);
    assert_int_equal(mpipool__registry_is_batch(SIZE_MAX), 0);
    assert_int_equal(mpipool__registry_fn_is_batch(task_b), 1);
    assert_int_equal(mpipool__registry_fn_is_batch(task_a), 0);
    assert_int_equal(mpipool__registry_fn_is_batch(task_c), 0);
    size_t len = 0;
    char *list = mpipool__registry_serialize(&len);
    assert_non_null(list);
    assert_string_equal(list, "many [batch]\nplain\n");
    assert_int_equal(len, strlen(list));
    free(list);
    uint64_t with_batch = mpipool__registry_digest();
    assert_true(with_batch != plain_only);
    /* The same name as a plain task gives another digest. */
    mpipool__registry_reset();
    assert_int_equal(mpipool__registry_add("plain", task_a), MPIPOOL_OK);
    assert_int_equal(mpipool__registry_add("many", task_b), MPIPOOL_OK);
    assert_true(mpipool__registry_digest() != with_batch);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_and_find, reset, reset),
        cmocka_unit_test_setup_teardown(test_name_is_copied, reset, reset),
        cmocka_unit_test_setup_teardown(test_duplicates, reset, reset),
        cmocka_unit_test_setup_teardown(test_bad_names, reset, reset),
        cmocka_unit_test_setup_teardown(test_frozen, reset, reset),
        cmocka_unit_test_setup_teardown(test_sorted_after_freeze, reset, reset),
        cmocka_unit_test_setup_teardown(test_digest, reset, reset),
        cmocka_unit_test_setup_teardown(test_serialize, reset, reset),
        cmocka_unit_test_setup_teardown(test_deferred, reset, reset),
        cmocka_unit_test_setup_teardown(test_batch_kind, reset, reset),
        cmocka_unit_test(test_describe_diff_none),
        cmocka_unit_test(test_describe_diff_one),
        cmocka_unit_test(test_describe_diff_prefix_names),
        cmocka_unit_test(test_describe_diff_several),
        cmocka_unit_test(test_describe_diff_many_ranks),
        cmocka_unit_test(test_describe_diff_small_buffer),
    };
    return cmocka_run_group_tests_name("registry", tests, NULL, reset);
}
