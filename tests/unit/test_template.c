/*
 * test_template.c — tools/template.c: GNU parallel's placeholders and
 * quoting.  The expected strings are what parallel 20221122 runs (checked
 * by hand with `parallel --dry-run`); tests/tools/run.sh compares whole
 * runs with parallel itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "template.h"

static void expect_expand(const char *tmpl, const char *arg, unsigned long long seq,
                          const char *want) {
    char *one[] = {(char *)(uintptr_t)arg};
    char *got = mr_template_expand(tmpl, one, 1, seq);
    assert_non_null(got);
    if (strcmp(got, want) != 0) fail_msg("'%s' with '%s': got <%s>, want <%s>", tmpl ? tmpl : "(null)", arg ? arg : "(null)", got ? got : "(null)", want);
    free(got);
}

static void expect_expand_n(const char *tmpl, char *const *args, size_t n, const char *want) {
    char *got = mr_template_expand(tmpl, args, n, 5);
    assert_non_null(got);
    if (strcmp(got, want) != 0) fail_msg("'%s' with %zu args: got <%s>, want <%s>", tmpl ? tmpl : "(null)", n, got ? got : "(null)", want);
    free(got);
}

static void expect_quote(const char *s, const char *want) {
    char *got = mr_shell_quote(s, strlen(s));
    assert_non_null(got);
    if (strcmp(got, want) != 0) fail_msg("quote <%s>: got <%s>, want <%s>", s, got ? got : "(null)", want);
    free(got);
}

static void test_quote(void **state) {
    (void)state;
    expect_quote("plain-_.+/09AZaz", "plain-_.+/09AZaz");
    expect_quote("", "''");
    expect_quote("a b", "'a b'");
    expect_quote("$HOME", "'$HOME'");
    expect_quote("it's", "'it'\"'\"'s'");
    expect_quote("'lead", "\"'\"'lead'");   /* no empty '' in front */
    expect_quote("trail'", "'trail'\"'\"");  /* nor at the end      */
    expect_quote("'", "\"'\"");
    expect_quote("x;rm -rf /", "'x;rm -rf /'");
    /* NUL bytes and non-ASCII are quoted, not dropped */
    char *q = mr_shell_quote("a\0b", 3);
    assert_non_null(q);
    assert_int_equal(q[0], '\'');
    assert_memory_equal(q, "'a\0b'", 5);
    free(q);
    expect_quote("\xc3\xbc", "'\xc3\xbc'");
}

static void test_placeholders(void **state) {
    (void)state;
    expect_expand("echo {}", "dir/file.txt", 1, "echo dir/file.txt");
    expect_expand("echo {.}", "dir/file.txt", 1, "echo dir/file");
    expect_expand("echo {.}", "a.tar.gz", 1, "echo a.tar");
    expect_expand("echo {.}", "dir.d/noext", 1, "echo dir.d/noext");
    expect_expand("echo {/}", "/abs/path/f.c", 1, "echo f.c");
    expect_expand("echo {/}", "trailing/", 1, "echo ''");
    expect_expand("echo {//}", "/abs/path/f.c", 1, "echo /abs/path");
    expect_expand("echo {//}", "f.c", 1, "echo .");
    expect_expand("echo {//}", "/f.c", 1, "echo /");
    expect_expand("echo {//}", "a/b/", 1, "echo a");
    expect_expand("echo {//}", "/", 1, "echo /");
    expect_expand("echo {/.}", "/abs/path/f.tar.gz", 1, "echo f.tar");
    expect_expand("echo {/.}", ".hidden", 1, "echo ''");
    expect_expand("echo {#}", "x", 42, "echo 42");
    expect_expand("cp {} {.}.bak #{#}", "a b.txt", 7, "cp 'a b.txt' 'a b'.bak #7");
}

static void test_append_and_launcher(void **state) {
    (void)state;
    /* no placeholder: " {}" is appended, as parallel does */
    expect_expand("echo", "a b", 1, "echo 'a b'");
    expect_expand("echo", "", 1, "echo ''");
    /* {#} alone counts as a placeholder: nothing appended */
    expect_expand("echo {#}", "a", 3, "echo 3");
    /* launcher style: the line is the command, untouched */
    expect_expand(NULL, "echo 'a b' | wc -c", 1, "echo 'a b' | wc -c");
    expect_expand(NULL, "", 1, "");
    /* other braces are text */
    expect_expand("awk '{print $1}' {}", "f", 1, "awk '{print $1}' f");
    expect_expand("echo ${HOME} {a,b}", "f", 1, "echo ${HOME} {a,b} f");
}

/* Several arguments (::: a ::: b, --colsep): as `parallel --dry-run` gives. */
static void test_several_args(void **state) {
    (void)state;
    char *two[] = {"a b", "c'd"};
    expect_expand_n("echo {}", two, 2, "echo 'a b' 'c'\"'\"'d'");
    expect_expand_n("echo", two, 2, "echo 'a b' 'c'\"'\"'d'");
    expect_expand_n("echo {2} {1}", two, 2, "echo 'c'\"'\"'d' 'a b'");
    char *paths[] = {"d/x.c", "/e/y.tar.gz"};
    expect_expand_n("{1.} {2/} {2//} {2/.} {1/.} {.}", paths, 2,
                    "d/x y.tar.gz /e y.tar x d/x /e/y.tar");
    expect_expand_n("echo {3}", paths, 2, "echo ");   /* a missing column: nothing */
    expect_expand_n(NULL, two, 2, "a b c'd");          /* launcher style: joined, unquoted */
    expect_expand_n("echo {}", two, 0, "echo ''");
    expect_expand_n("echo {12}x", paths, 2, "echo x");
}

static void expect_bad(const char *tmpl, const char *needle) {
    char err[256] = "";
    int has = -1;
    if (mr_template_check(tmpl, 2, &has, err, sizeof err) != -1) fail_msg("'%s' was accepted", tmpl);
    if (strstr(err, needle) == NULL) fail_msg("'%s': message <%s> lacks <%s>", tmpl, err, needle);
}

static void test_check(void **state) {
    (void)state;
    char err[256];
    int has = -1;
    assert_int_equal(mr_template_check(NULL, 1, &has, err, sizeof err), 0);
    assert_int_equal(has, 0);
    assert_int_equal(mr_template_check("echo", 1, &has, err, sizeof err), 0);
    assert_int_equal(has, 0);
    assert_int_equal(mr_template_check("echo {/.} {#}", 1, &has, err, sizeof err), 0);
    assert_int_equal(has, 1);
    assert_int_equal(mr_template_check("awk '{print}' ${X} {a,b} {x.y}", 1, &has, err, sizeof err), 0);
    assert_int_equal(has, 0);
    expect_bad("echo {..}", "unknown replacement string '{..}'");
    expect_bad("echo {///}", "unknown replacement string '{///}'");
    expect_bad("echo {##}", "unknown replacement string '{##}'");
    expect_bad("echo {%}", "job slot {%} is not offered");
    expect_bad("echo {+.}", "unknown replacement string '{+.}'");
    expect_bad("echo {-1}", "unknown replacement string '{-1}'");
    expect_bad("echo {0}", "unknown replacement string '{0}'");
    expect_bad("echo {= s/a/b/ =} x", "perl expressions are not offered");
    expect_bad("echo {/.", "unterminated replacement string '{/.'");
    /* positional strings, within range or not (past the arguments: empty, as parallel) */
    assert_int_equal(mr_template_check("echo {1} {2.} {2//}", 2, &has, err, sizeof err), 0);
    assert_int_equal(has, 1);
    assert_int_equal(mr_template_check("echo {9}", 0, &has, err, sizeof err), 0);
    assert_int_equal(mr_template_check("echo {3}", 2, &has, err, sizeof err), 0);
    /* a lone brace is text, as in shell code */
    assert_int_equal(mr_template_check("f() {", 1, &has, err, sizeof err), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_append_and_launcher),
        cmocka_unit_test(test_several_args),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
