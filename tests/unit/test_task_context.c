/*
 * test_task_context.c — issue 15, defect 4: the task helpers on a task the
 * library did not create.
 *
 * A user unit-testing their own task function builds an mpipool_task on
 * the stack and calls it; the helpers it calls (mpipool_task_fail,
 * mpipool_task_output, mpipool_task_shared) must then refuse (EINVAL /
 * NULL / NULL) and write nothing, not compute a context from the task's
 * address and write past it.  The task sits between guard bytes in one
 * struct (so the layout is fixed), and the guards must come back intact.
 * No MPI call is made: the program runs without mpiexec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mpipool.h"

enum { GUARD = 0xA5, PRE = 64, POST = 1024 };

typedef struct {
    unsigned char pre[PRE];
    mpipool_task t;
    unsigned char post[POST];
} guarded;

static void guard_init(guarded *g) {
    memset(g, GUARD, sizeof *g);
    memset(&g->t, 0, sizeof g->t); /* what a user writes: mpipool_task t = {0} */
}

static void assert_guards_intact(const guarded *g) {
    for (size_t i = 0; i < PRE; i++)
        if (g->pre[i] != GUARD) fail_msg("guard byte %zu before the task was overwritten", i);
    for (size_t i = 0; i < POST; i++)
        if (g->post[i] != GUARD) fail_msg("guard byte %zu after the task was overwritten", i);
}

static void test_task_fail_refuses(void **state) {
    (void)state;
    guarded g;
    guard_init(&g);
    char msg[600];
    memset(msg, 'm', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    int rc = mpipool_task_fail(&g.t, "%s", msg);
    if (rc != MPIPOOL_EINVAL)
        fail_msg("mpipool_task_fail on a user-built task returned %s, expected MPIPOOL_EINVAL",
                 mpipool_err_name(rc));
    assert_guards_intact(&g);
}

static void test_task_output_refuses(void **state) {
    (void)state;
    guarded g;
    guard_init(&g);
    void *p = mpipool_task_output(&g.t, 8);
    assert_null(p);
    assert_null(g.t.out);
    assert_int_equal(g.t.out_size, 0);
    assert_guards_intact(&g);
}

static void test_task_shared_refuses(void **state) {
    (void)state;
    guarded g;
    guard_init(&g);
    assert_null(mpipool_task_shared(&g.t, "x", NULL));
    size_t size = 12345;
    assert_null(mpipool_task_shared(&g.t, "x", &size));
    assert_guards_intact(&g);
}

/* All three in a row on one task, as a task function under test would. */
static void test_all_in_a_row(void **state) {
    (void)state;
    guarded g;
    guard_init(&g);
    assert_int_equal(mpipool_task_fail(&g.t, "%s", "short"), MPIPOOL_EINVAL);
    assert_null(mpipool_task_output(&g.t, 8));
    assert_null(mpipool_task_shared(&g.t, "x", NULL));
    assert_guards_intact(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_fail_refuses),
        cmocka_unit_test(test_task_output_refuses),
        cmocka_unit_test(test_task_shared_refuses),
        cmocka_unit_test(test_all_in_a_row),
    };
    return cmocka_run_group_tests_name("task_context", tests, NULL, NULL);
}
