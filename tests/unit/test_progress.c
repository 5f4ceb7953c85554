/*
 * test_progress.c — the progress display (src/progress.c) driven with a
 * made-up clock: the mode and interval from the environment's values, a
 * bar that redraws in place at most once per interval and ends at 100% with
 * a newline, log lines that are whole lines at the interval, a stream with
 * no total, and a job that stopped early.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "observe.h"

static char text[16384];

/* Everything written to f so far. */
static const char *contents(FILE *f) {
    fflush(f);
    long end = ftell(f);
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fseek(f, end, SEEK_SET);
    return text;
}

static size_t count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void test_mode_and_interval(void **state) {
    (void)state;
    assert_int_equal(mpipool__progress_mode(NULL, 1), MPIPOOL__PROGRESS_OFF);
    assert_int_equal(mpipool__progress_mode("", 1), MPIPOOL__PROGRESS_OFF);
    assert_int_equal(mpipool__progress_mode("0", 1), MPIPOOL__PROGRESS_OFF);
    assert_int_equal(mpipool__progress_mode("1", 1), MPIPOOL__PROGRESS_BAR);
    assert_int_equal(mpipool__progress_mode("1", 0), MPIPOOL__PROGRESS_LOG);
    assert_int_equal(mpipool__progress_mode("bar", 0), MPIPOOL__PROGRESS_BAR);
    assert_int_equal(mpipool__progress_mode("log", 1), MPIPOOL__PROGRESS_LOG);
    assert_true(mpipool__progress_interval(NULL, MPIPOOL__PROGRESS_BAR) == MPIPOOL__PROGRESS_BAR_INTERVAL);
    assert_true(mpipool__progress_interval(NULL, MPIPOOL__PROGRESS_LOG) == MPIPOOL__PROGRESS_LOG_INTERVAL);
    assert_true(mpipool__progress_interval("2.5", MPIPOOL__PROGRESS_LOG) == 2.5);
    /* 0 would draw a line per item: the floor applies. */
    assert_true(mpipool__progress_interval("0", MPIPOOL__PROGRESS_BAR) == MPIPOOL__PROGRESS_MIN_INTERVAL);
    /* Garbage is refused (-1), not taken as the default. */
    assert_true(mpipool__progress_interval("-1", MPIPOOL__PROGRESS_LOG) < 0);
    assert_true(mpipool__progress_interval("soon", MPIPOOL__PROGRESS_BAR) < 0);
    assert_int_equal(mpipool__progress_mode("garbage", 1), MPIPOOL__PROGRESS_INVALID);
    assert_int_equal(mpipool__progress_mode("-1", 0), MPIPOOL__PROGRESS_INVALID);
}

static void test_bar_rate_limited(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    mpipool__progress p;
    mpipool__progress_init(&p, f, MPIPOOL__PROGRESS_BAR, 0.2, "mpipool: job 1", 100.0);
    /* 1000 updates over 2 simulated seconds: the first draws, then one per 0.2 s */
    int drawn = 0;
    for (int i = 1; i <= 1000; i++) drawn += mpipool__progress_update(&p, (size_t)i, 1000, 100.0 + i * 0.002);
    assert_true(drawn >= 9 && drawn <= 11);
    mpipool__progress_finish(&p, 1000, 1000, 102.0, NULL);
    const char *s = contents(f);
    assert_int_equal(count(s, "\r"), (size_t)drawn + 1);  /* each draw starts over in place */
    assert_int_equal(count(s, "\n"), 1);                    /* only the final line ends */
    assert_int_equal(s[strlen(s) - 1], '\n');
    assert_non_null(strstr(s, "100% 1000/1000 items"));
    assert_non_null(strstr(s, "[########################]"));
    assert_non_null(strstr(s, "done in 2.0 s"));
    assert_non_null(strstr(s, "items/s, ETA "));
    /* the last redraw before the end shows a partly filled bar */
    const char *last = strrchr(s, '\r');
    assert_non_null(strstr(last, "100%"));
    fclose(f);
}

static void test_log_lines(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    mpipool__progress p;
    mpipool__progress_init(&p, f, MPIPOOL__PROGRESS_LOG, 10.0, "mpipool: job 2", 0.0);
    /* 45 simulated seconds: lines at 10, 20, 30, 40 s — not on the first update */
    int drawn = 0;
    for (int t = 1; t <= 45; t++) drawn += mpipool__progress_update(&p, (size_t)t * 10, 450, (double)t);
    assert_int_equal(drawn, 4);
    mpipool__progress_finish(&p, 450, 450, 45.0, NULL);
    const char *s = contents(f);
    assert_int_equal(count(s, "\n"), 5);
    assert_null(strchr(s, '\r'));
    assert_null(strchr(s, '\033'));
    assert_non_null(strstr(s, "mpipool: job 2:  22% 100/450 items, 10.0 items/s, ETA 35.0 s\n"));
    assert_non_null(strstr(s, "mpipool: job 2: 100% 450/450 items, 10.0 items/s, done in 45.0 s\n"));
    fclose(f);
}

static void test_unknown_total_and_failure(void **state) {
    (void)state;
    char line[256];
    mpipool__progress p;
    mpipool__progress_init(&p, stdout, MPIPOOL__PROGRESS_BAR, 0.2, "mpipool: job 3", 0.0);
    mpipool__progress_format(line, sizeof line, &p, 500, MPIPOOL__PROGRESS_UNKNOWN, 2.0, NULL, 0);
    assert_string_equal(line, "mpipool: job 3: 500 items, 250.0 items/s, 2.0 s so far");
    mpipool__progress_format(line, sizeof line, &p, 40, 100, 4.0, "MPIPOOL_ETASK", 1);
    assert_non_null(strstr(line, " 40% 40/100 items"));
    assert_non_null(strstr(line, "MPIPOOL_ETASK in 4.0 s"));
    mpipool__progress_format(line, sizeof line, &p, 0, 0, 0.0, NULL, 1); /* an empty map */
    assert_non_null(strstr(line, "100% 0/0 items"));
    mpipool__progress_format(line, sizeof line, &p, 50, 100, 3725.0, NULL, 0);
    assert_non_null(strstr(line, "ETA 1:02:05"));
    /* off draws nothing */
    mpipool__progress_init(&p, stdout, MPIPOOL__PROGRESS_OFF, 0, "x", 0.0);
    assert_int_equal(mpipool__progress_update(&p, 1, 2, 100.0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_and_interval),
        cmocka_unit_test(test_bar_rate_limited),
        cmocka_unit_test(test_log_lines),
        cmocka_unit_test(test_unknown_total_and_failure),
    };
    return cmocka_run_group_tests_name("progress", tests, NULL, NULL);
}
