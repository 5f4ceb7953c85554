/*
 * test_waitplan.c — how a waiting rank paces its polls (src/waitplan.c):
 * poll, then yield, then sleep 1, 2, 4 ... up to a millisecond; poll
 * without yielding while an answer is due, and only then; sleeps end when
 * an answer's polling window opens; a late answer past its window does not
 * keep the waiter polling; in the window, the core is given up once per
 * WAIT_HOT_YIELD unless something else ran meanwhile; a rank waiting for
 * answers sleeps at most a quarter of an item (within 250 us and 1 ms).
 * Pure arithmetic on given clock readings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pure.h"

#define US 1e-6

/* One step with only the sleep state given (the pace of the window is
 * tested on its own below). */
static int step(double now, double start, double due, int hot, unsigned *backoff, unsigned *sleep) {
    mpipool__wait_state st = {*backoff, 0, 0, 0, 0};
    int r = mpipool__wait_plan(now, start, due, hot, &st, sleep);
    *backoff = st.backoff_us;
    return r;
}

/* Nothing due: poll, yield, then sleeps that double up to the cap. */
static void test_ladder_without_due(void **state) {
    (void)state;
    for (int hot = 0; hot <= 1; hot++) {
        unsigned b = 0, s = 99;
        assert_int_equal(step(100.0, 100.0, 0, hot, &b, &s), MPIPOOL__WAIT_POLL);
        assert_int_equal(s, 0);
        assert_int_equal(step(100.0 + 19 * US, 100.0, 0, hot, &b, &s), MPIPOOL__WAIT_POLL);
        assert_int_equal(step(100.0 + 21 * US, 100.0, 0, hot, &b, &s), MPIPOOL__WAIT_YIELD_STEP);
        assert_int_equal(step(100.0 + 249 * US, 100.0, 0, hot, &b, &s), MPIPOOL__WAIT_YIELD_STEP);
        unsigned want = 1;
        /* (8 ms into the wait: the share of the wait so far, below, allows 1 ms.) */
        for (int k = 0; k < 14; k++) {
            assert_int_equal(step(100.0 + 8e-3 + k * US, 100.0, 0, hot, &b, &s), MPIPOOL__WAIT_SLEEP);
            assert_int_equal(s, want);
            want = want * 2 > MPIPOOL__WAIT_SLEEP_MAX_US ? MPIPOOL__WAIT_SLEEP_MAX_US : want * 2;
        }
        assert_int_equal(s, MPIPOOL__WAIT_SLEEP_MAX_US);
    }
}

/* A sleep is never longer than an eighth of the wait so far, wherever the
 * ladder is: a wait that ends after 1 ms is noticed within 125 us. */
static void test_sleep_share_of_wait(void **state) {
    (void)state;
    for (int hot = 0; hot <= 1; hot++) {
        unsigned b = MPIPOOL__WAIT_SLEEP_MAX_US, s = 0;
        assert_int_equal(step(100.0 + 300 * US, 100.0, 0, hot, &b, &s), MPIPOOL__WAIT_SLEEP);
        assert_true(s >= 37 && s <= 38);
        assert_int_equal(b, MPIPOOL__WAIT_SLEEP_MAX_US); /* the ladder keeps its place */
        assert_int_equal(step(100.0 + 1e-3, 100.0, 0, hot, &b, &s), MPIPOOL__WAIT_SLEEP);
        assert_true(s >= 124 && s <= 125);
        assert_int_equal(step(100.0 + 4e-3, 100.0, 0, hot, &b, &s), MPIPOOL__WAIT_SLEEP);
        assert_true(s >= 499 && s <= 500);
        assert_int_equal(step(100.0 + 20e-3, 100.0, 0, hot, &b, &s), MPIPOOL__WAIT_SLEEP);
        assert_int_equal(s, MPIPOOL__WAIT_SLEEP_MAX_US);
        /* Early in the ladder, the ladder is the shorter. */
        b = 2;
        assert_int_equal(step(100.0 + 1e-3, 100.0, 0, hot, &b, &s), MPIPOOL__WAIT_SLEEP);
        assert_int_equal(s, 4);
    }
}

/* A worker waiting for its next chunk (st.share = WAIT_IDLE_SHARE): a
 * sleep is at most a 64th of the wait so far, so the next map after a few
 * ms of the master's own work is noticed within tens of us; a long idle
 * spell still reaches the 1 ms sleeps. */
static void test_idle_share(void **state) {
    (void)state;
    mpipool__wait_state st = {MPIPOOL__WAIT_SLEEP_MAX_US, 0, 0, MPIPOOL__WAIT_IDLE_SHARE, 0};
    unsigned s = 0;
    assert_int_equal(mpipool__wait_plan(100.0 + 5e-3, 100.0, 0, 0, &st, &s), MPIPOOL__WAIT_SLEEP);
    assert_true(s >= 77 && s <= 78); /* 5000 / 64 = 78.1: an eighth would be 625 */
    assert_int_equal(mpipool__wait_plan(100.0 + 20e-3, 100.0, 0, 0, &st, &s), MPIPOOL__WAIT_SLEEP);
    assert_true(s >= 312 && s <= 313);
    assert_int_equal(mpipool__wait_plan(100.0 + 70e-3, 100.0, 0, 0, &st, &s), MPIPOOL__WAIT_SLEEP);
    assert_int_equal(s, MPIPOOL__WAIT_SLEEP_MAX_US);
    /* 0 is the default share, an eighth. */
    st.share = 0;
    assert_int_equal(mpipool__wait_plan(100.0 + 5e-3, 100.0, 0, 0, &st, &s), MPIPOOL__WAIT_SLEEP);
    assert_true(s >= 624 && s <= 625);
}

/* An answer due: polls without yielding or sleeping all through its
 * window, however long the wait has lasted, and restarts the sleeps short. */
static void test_hot_window(void **state) {
    (void)state;
    double start = 50.0, due = 100.0;
    unsigned b = 512, s = 7;
    double at[] = {due - MPIPOOL__WAIT_HOT_AHEAD, due - 1 * US, due, due + 500 * US, due + MPIPOOL__WAIT_HOT_AFTER};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        assert_int_equal(step(at[i], start, due, 1, &b, &s), MPIPOOL__WAIT_POLL);
        assert_int_equal(s, 0);
    }
    assert_int_equal(b, 0);
    /* Without the window (SimGrid), the same wait sleeps. */
    assert_int_equal(step(due + 500 * US, start, due, 0, &b, &s), MPIPOOL__WAIT_SLEEP);
}

/* Before the window: a sleep never runs past its opening. */
static void test_sleep_ends_at_window(void **state) {
    (void)state;
    double start = 0.0, due = 10.0;
    unsigned b = MPIPOOL__WAIT_SLEEP_MAX_US, s = 0;
    double now = due - MPIPOOL__WAIT_HOT_AHEAD - 300 * US; /* window opens in 300 us */
    assert_int_equal(step(now, start, due, 1, &b, &s), MPIPOOL__WAIT_SLEEP);
    assert_true(s >= 299 && s <= 300);
    now = due - MPIPOOL__WAIT_HOT_AHEAD - 5 * US;
    assert_int_equal(step(now, start, due, 1, &b, &s), MPIPOOL__WAIT_SLEEP);
    assert_true(s >= 4 && s <= 5);
    /* Far ahead: the usual cap. */
    b = MPIPOOL__WAIT_SLEEP_MAX_US;
    assert_int_equal(step(due - 1.0, start, due, 1, &b, &s), MPIPOOL__WAIT_SLEEP);
    assert_int_equal(s, MPIPOOL__WAIT_SLEEP_MAX_US);
}

/* Past its window, a late answer is a wrong estimate: the sleeps grow as if
 * nothing were due (so a long item does not keep the master polling), where
 * the window-less plan keeps to 1 us sleeps until the master drops it. */
static void test_late_answer(void **state) {
    (void)state;
    double start = 0.0, due = 1.0, now = due + MPIPOOL__WAIT_HOT_AFTER + 10 * US;
    unsigned b = 0, s = 0, last = 0;
    for (int k = 0; k < 12; k++) {
        assert_int_equal(step(now + k * 1e-3, start, due, 1, &b, &s), MPIPOOL__WAIT_SLEEP);
        assert_true(s > last || s == MPIPOOL__WAIT_SLEEP_MAX_US);
        last = s;
    }
    assert_int_equal(s, MPIPOOL__WAIT_SLEEP_MAX_US);
    b = 64;
    assert_int_equal(step(now, start, due, 0, &b, &s), MPIPOOL__WAIT_SLEEP);
    assert_int_equal(s, 1);
}

/* A fresh wait with an answer due in the past, beyond its window: the
 * first microseconds are still spent polling, then yielding. */
static void test_fresh_wait_late_answer(void **state) {
    (void)state;
    unsigned b = 0, s = 0;
    double due = 5.0, now = due + 2e-3;
    assert_int_equal(step(now, now, due, 1, &b, &s), MPIPOOL__WAIT_POLL);
    assert_int_equal(step(now + 30 * US, now, due, 1, &b, &s), MPIPOOL__WAIT_YIELD_STEP);
}

/* In the window: polls back to back (each step 1 us after the last) give
 * the core up once per WAIT_HOT_YIELD; with a gap between steps (the MPI
 * poll yielded, or the rank was preempted) they do not. */
static void test_window_pace(void **state) {
    (void)state;
    double due = 100.0, t = due;
    mpipool__wait_state st = {0, 0, 0, 0, 0};
    unsigned s = 0;
    int yields = 0;
    for (int k = 0; k < 200; k++, t += 1 * US) /* 200 us of fast polls */
        yields += mpipool__wait_plan(t, 0.0, due, 1, &st, &s) == MPIPOOL__WAIT_YIELD_STEP;
    assert_true(yields >= 9 && yields <= 10);
    yields = 0;
    for (int k = 0; k < 200; k++, t += 10 * US) /* each poll gave the core away */
        yields += mpipool__wait_plan(t, 0.0, due, 1, &st, &s) == MPIPOOL__WAIT_YIELD_STEP;
    assert_int_equal(yields, 0);
    /* Without the window (SimGrid) or outside it, the pace plays no part. */
    st = (mpipool__wait_state){0, 0, 0, 0, 0};
    assert_int_equal(mpipool__wait_plan(due + 5 * US, due, due, 0, &st, &s), MPIPOOL__WAIT_POLL);
}

/* A rank waiting for answers sleeps at most a quarter of an item
 * (WAIT_ITEM_SHARE), within 250 us and 1 ms: after a long wait (the last
 * item of a map is long) it notices the answer within that, and the
 * ladder climbs no higher; the share of the wait so far still comes first. */
static void test_item_cap(void **state) {
    (void)state;
    assert_int_equal(mpipool__wait_most_us(0), MPIPOOL__WAIT_SLEEP_MAX_US); /* unknown */
    assert_int_equal(mpipool__wait_most_us(-1.0), MPIPOOL__WAIT_SLEEP_MAX_US);
    assert_int_equal(mpipool__wait_most_us(2.0), MPIPOOL__WAIT_SLEEP_MAX_US); /* 2 s items */
    assert_int_equal(mpipool__wait_most_us(4e-3), MPIPOOL__WAIT_SLEEP_MAX_US);
    assert_int_equal(mpipool__wait_most_us(2e-3), 500);
    assert_int_equal(mpipool__wait_most_us(1e-3), 250);
    assert_int_equal(mpipool__wait_most_us(100e-6), MPIPOOL__WAIT_SLEEP_LEAST_US);
    assert_int_equal(mpipool__wait_most_us(1e-9), MPIPOOL__WAIT_SLEEP_LEAST_US);
    mpipool__wait_state st = {0, 0, 0, 0, 250};
    unsigned s = 0, last = 0;
    for (int k = 0; k < 20; k++) { /* 170 ms into a wait for one long item */
        assert_int_equal(mpipool__wait_plan(100.170 + k * 1e-3, 100.0, 0, 1, &st, &s), MPIPOOL__WAIT_SLEEP);
        assert_true(s <= 250 && (s > last || s == 250));
        last = s;
    }
    assert_int_equal(s, 250);
    assert_int_equal(st.backoff_us, 250);
    /* Early in a wait, the share of the wait so far is the shorter. */
    st = (mpipool__wait_state){250, 0, 0, 0, 250};
    assert_int_equal(mpipool__wait_plan(100.0 + 1e-3, 100.0, 0, 1, &st, &s), MPIPOOL__WAIT_SLEEP);
    assert_true(s >= 124 && s <= 125);
    /* 0: the usual cap. */
    st = (mpipool__wait_state){MPIPOOL__WAIT_SLEEP_MAX_US, 0, 0, 0, 0};
    assert_int_equal(mpipool__wait_plan(100.170, 100.0, 0, 1, &st, &s), MPIPOOL__WAIT_SLEEP);
    assert_int_equal(s, MPIPOOL__WAIT_SLEEP_MAX_US);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ladder_without_due),
        cmocka_unit_test(test_sleep_share_of_wait),
        cmocka_unit_test(test_idle_share),
        cmocka_unit_test(test_hot_window),
        cmocka_unit_test(test_sleep_ends_at_window),
        cmocka_unit_test(test_late_answer),
        cmocka_unit_test(test_fresh_wait_late_answer),
        cmocka_unit_test(test_window_pace),
        cmocka_unit_test(test_item_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
