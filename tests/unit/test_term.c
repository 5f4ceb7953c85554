/*
 * test_term.c — the terminal rules shared by the library's progress
 * display and mpipool-run's (src/term.c): which style a stream gets (a
 * terminal redraws, anything else gets plain lines; "bar" and "log" force
 * one), the width a redrawn line is cut to, the interval of each style,
 * what a redrawn, a final and a plain line look like, that erasing leaves
 * plain lines alone; and that the library's MPIPOOL_PROGRESS modes follow
 * the same rules.
 */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "observe.h"
#include "term.h"

static char text[4096];

/* Everything written to f since it was opened. */
static const char *contents(FILE *f) {
    fflush(f);
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    return text;
}

static void test_style(void **state) {
    (void)state;
    assert_int_equal(mpipool__term_style(1, NULL), MPIPOOL__TERM_REDRAW);
    assert_int_equal(mpipool__term_style(0, NULL), MPIPOOL__TERM_LINES); /* a pipe, a file, a CI log */
    assert_int_equal(mpipool__term_style(1, "1"), MPIPOOL__TERM_REDRAW);
    assert_int_equal(mpipool__term_style(0, "1"), MPIPOOL__TERM_LINES);
    assert_int_equal(mpipool__term_style(0, "bar"), MPIPOOL__TERM_REDRAW);
    assert_int_equal(mpipool__term_style(1, "log"), MPIPOOL__TERM_LINES);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(mpipool__term_style_fd(fileno(f), NULL), MPIPOOL__TERM_LINES); /* a regular file */
    assert_int_equal(mpipool__term_style_fd(fileno(f), "bar"), MPIPOOL__TERM_REDRAW);
    assert_int_equal(mpipool__term_width_fd(fileno(f)), 0); /* not a terminal: no width */
    fclose(f);
    /* The library's modes are the same rules. */
    assert_int_equal(mpipool__progress_mode("1", 1), MPIPOOL__PROGRESS_BAR);
    assert_int_equal(mpipool__progress_mode("1", 0), MPIPOOL__PROGRESS_LOG);
    assert_int_equal(mpipool__progress_mode("bar", 0), MPIPOOL__PROGRESS_BAR);
    assert_int_equal(mpipool__progress_mode("log", 1), MPIPOOL__PROGRESS_LOG);
    assert_int_equal(mpipool__progress_mode("yes", 1), MPIPOOL__PROGRESS_INVALID);
}

static void test_width_and_interval(void **state) {
    (void)state;
    assert_int_equal(mpipool__term_width(132, "40"), 132); /* the terminal's own size first */
    assert_int_equal(mpipool__term_width(0, "40"), 40);
    assert_int_equal(mpipool__term_width(0, NULL), 0);
    assert_int_equal(mpipool__term_width(0, ""), 0);
    assert_int_equal(mpipool__term_width(0, "40x"), 0);
    assert_int_equal(mpipool__term_width(0, "5"), 0);     /* too narrow to mean it */
    assert_int_equal(mpipool__term_width(0, "100000"), 0);
    assert_true(mpipool__term_interval(MPIPOOL__TERM_REDRAW) == 0.2);
    assert_true(mpipool__term_interval(MPIPOOL__TERM_LINES) == 10.0);
    assert_true(mpipool__progress_interval(NULL, MPIPOOL__PROGRESS_BAR) == 0.2);
    assert_true(mpipool__progress_interval(NULL, MPIPOOL__PROGRESS_LOG) == 10.0);
}

static void test_redraw(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    mpipool__term_draw(f, MPIPOOL__TERM_REDRAW, 0, "first", 0);
    mpipool__term_draw(f, MPIPOOL__TERM_REDRAW, 0, "second", 1);
    assert_string_equal(contents(f), "\rfirst\033[K\rsecond\033[K\n"); /* in place; the last line stays */
    fclose(f);
    /* Cut to width - 1 columns, so the line never wraps. */
    f = tmpfile();
    assert_non_null(f);
    mpipool__term_draw(f, MPIPOOL__TERM_REDRAW, 8, "0123456789", 0);
    mpipool__term_erase(f, MPIPOOL__TERM_REDRAW);
    assert_string_equal(contents(f), "\r0123456\033[K\r\033[K");
    fclose(f);
}

static void test_lines(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    mpipool__term_draw(f, MPIPOOL__TERM_LINES, 8, "0123456789", 0); /* whole, whatever the width */
    mpipool__term_draw(f, MPIPOOL__TERM_LINES, 0, "last", 1);
    mpipool__term_erase(f, MPIPOOL__TERM_LINES);                    /* a written line stays */
    assert_string_equal(contents(f), "0123456789\nlast\n");
    fclose(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_style),
        cmocka_unit_test(test_width_and_interval),
        cmocka_unit_test(test_redraw),
        cmocka_unit_test(test_lines),
    };
    return cmocka_run_group_tests_name("term", tests, NULL, NULL);
}
