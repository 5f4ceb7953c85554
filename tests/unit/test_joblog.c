/*
 * test_joblog.c — tools/joblog.c: GNU parallel's joblog lines, written and
 * read back.  The sample lines are copied from a joblog parallel 20221122
 * wrote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "joblog.h"

static void test_format(void **state) {
    (void)state;
    mr_joblog_entry e = {0};
    e.seq = 3;
    e.host = "node7";
    e.start = 1796153742.2734;
    e.runtime = 0.0025;
    e.receive = 9;
    e.exitval = -1;
    e.signal = 15;
    e.command = "echo /x 'y z'";
    e.command_len = strlen(e.command);
    size_t len = 0;
    char *line = mr_joblog_format(&e, &len);
    assert_non_null(line);
    assert_string_equal(line, "3\tnode7\t1796153742.273\t     0.003\t0\t9\t-1\t15\techo /x 'y z'\n");
    assert_int_equal(len, strlen(line));
    free(line);
    /* no host: parallel's ":" (local) */
    e.host = "";
    e.command = "a\nb";
    e.command_len = 3;
    line = mr_joblog_format(&e, &len);
    assert_non_null(line);
    assert_memory_equal(line, "3\t:\t", 4);
    /* a newline in the command is written as NUL, as parallel does */
    assert_memory_equal(line + len - 4, "a\0b\n", 4);
    free(line);
}

static void test_parse_parallel_lines(void **state) {
    (void)state;
    const char *l = "6\t:\t1796153742.280\t     0.002\t0\t7\t0\t0\techo . 'it'\"'\"'s'";
    mr_joblog_entry e;
    size_t hl = 0;
    assert_int_equal(mr_joblog_parse(l, strlen(l), &e, &hl), 0);
    assert_int_equal(e.seq, 6);
    assert_int_equal(hl, 1);
    assert_memory_equal(e.host, ":", 1);
    assert_true(e.start > 1796153742.27 && e.start < 1796153742.29);
    assert_true(e.runtime > 0.0015 && e.runtime < 0.0025);
    assert_int_equal(e.send, 0);
    assert_int_equal(e.receive, 7);
    assert_int_equal(e.exitval, 0);
    assert_int_equal(e.signal, 0);
    assert_int_equal(e.command_len, strlen("echo . 'it'\"'\"'s'"));
    assert_memory_equal(e.command, "echo . 'it'\"'\"'s'", e.command_len);
    assert_true(mr_joblog_succeeded(&e));

    const char *t = "1\t:\t1796153742.367\t     1.754\t0\t0\t-1\t15\tsleep 5";
    assert_int_equal(mr_joblog_parse(t, strlen(t), &e, NULL), 0);
    assert_int_equal(e.exitval, -1);
    assert_int_equal(e.signal, 15);
    assert_false(mr_joblog_succeeded(&e));

    /* a command with tabs: everything after the eighth tab */
    const char *tab = "2\th\t1.000\t 1.000\t0\t0\t1\t0\tprintf 'a\tb'";
    assert_int_equal(mr_joblog_parse(tab, strlen(tab), &e, NULL), 0);
    assert_int_equal(e.command_len, strlen("printf 'a\tb'"));
    assert_int_equal(e.exitval, 1);
    assert_false(mr_joblog_succeeded(&e));
    /* an empty command (an empty input line, launcher style) */
    const char *empty = "2\t:\t1.000\t 0.000\t0\t0\t0\t0\t";
    assert_int_equal(mr_joblog_parse(empty, strlen(empty), &e, NULL), 0);
    assert_int_equal(e.command_len, 0);
}

static void test_roundtrip(void **state) {
    (void)state;
    mr_joblog_entry e = {0}, back;
    e.seq = 123456;
    e.host = "n1";
    e.start = 1700000000.5;
    e.runtime = 12345.678;
    e.send = 1;
    e.receive = 1ull << 40;
    e.exitval = 255;
    e.signal = 0;
    e.command = "x\ty";
    e.command_len = 3;
    size_t len;
    char *line = mr_joblog_format(&e, &len);
    assert_non_null(line);
    assert_int_equal(mr_joblog_parse(line, len - 1, &back, NULL), 0);
    assert_int_equal(back.seq, e.seq);
    assert_int_equal(back.receive, e.receive);
    assert_int_equal(back.exitval, 255);
    assert_true(back.runtime > 12345.677 && back.runtime < 12345.679);
    assert_int_equal(back.command_len, 3);
    assert_memory_equal(back.command, "x\ty", 3);
    free(line);
}

static void test_reject(void **state) {
    (void)state;
    const char *bad[] = {
        "",
        "garbage",
        "0\t:\t1.0\t1.0\t0\t0\t0\t0\tcmd",          /* seq 0              */
        "x\t:\t1.0\t1.0\t0\t0\t0\t0\tcmd",          /* seq not a number   */
        "1\t\t1.0\t1.0\t0\t0\t0\t0\tcmd",           /* empty host         */
        "1\ta b\t1.0\t1.0\t0\t0\t0\t0\tcmd",        /* host with a space  */
        "1\t:\tnow\t1.0\t0\t0\t0\t0\tcmd",          /* start not a number */
        "1\t:\t1.0\t1.0\t0\t0\t0\tcmd",             /* a field missing    */
        "1\t:\t1.0\t1.0\t0\t0\tx\t0\tcmd",          /* exitval            */
        "3\tvm\t17",                                /* a torn line        */
    };
    mr_joblog_entry e;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (mr_joblog_parse(bad[i], strlen(bad[i]), &e, NULL) == 0) fail_msg("accepted <%s>", bad[i]);
}

static void test_header(void **state) {
    (void)state;
    const char *h = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand";
    assert_true(mr_joblog_is_header(h, strlen(h)));
    assert_false(mr_joblog_is_header(h, strlen(h) - 1));
    assert_false(mr_joblog_is_header("1\t:\t", 4));
    assert_int_equal(strlen(MR_JOBLOG_HEADER), strlen(h) + 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse_parallel_lines),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
