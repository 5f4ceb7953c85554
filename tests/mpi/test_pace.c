/*
 * test_pace.c — pace.c, a worker's looks for a TAG_RECLAIM while it runs a
 * chunk: asked back, it stops before its next item, except when that item
 * is the chunk's last, which it runs (once per request); a chunk queued
 * behind is given back whole; a later request gets its own item; a
 * one-item chunk runs without a look; the master's and the leader's
 * requests are apart.  The requests arrive as
 * real TAG_RECLAIM messages sent to this rank on MPI_COMM_SELF (rank 0
 * there stands for the master).  One rank.
 */
#include "harness.h"
#include "pace.h"
#include "wire.h"

/* Send "up to `upto`" to ourselves, as the master would.  The send may
 * complete only once received (MPICH does not buffer a send to self), so
 * settle() waits for them after the pacer has taken them. */
static uint64_t asked[4];
static MPI_Request asks[4];
static int nasks;

static void ask_self(uint64_t upto) {
    asked[nasks] = upto;
    MPI_Isend(&asked[nasks], 8, MPI_BYTE, 0, MPIPOOL__TAG_RECLAIM, MPI_COMM_SELF, &asks[nasks]);
    nasks++;
}

static void settle(void) {
    MPI_Waitall(nasks, asks, MPI_STATUSES_IGNORE);
    nasks = 0;
}

static mpipool__pacer pacer_for(mpipool__reclaims *r, int from, uint64_t number, uint64_t count) {
    mpipool__pacer p = {r, MPI_COMM_SELF, from, number, count, 0.0, 0, 0.0};
    return p;
}

static void test_last_item_kept(void **state) {
    (void)state;
    mpipool__reclaims r = {{0, 0}, {0, 0}, 1, 0, MPI_SUCCESS};
    /* Chunk 3 (4 items) runs, chunks 4 (1 item) and 5 (3 items) wait. */
    mpipool__pacer run = pacer_for(&r, 0, 3, 4), one = pacer_for(&r, 0, 4, 1), three = pacer_for(&r, 0, 5, 3);
    assert_true(mpipool__pace_next(&run, 0) >= 1); /* nothing asked: it runs on */
    ask_self(4);                                    /* chunks 3 and 4 back */
    assert_int_equal(mpipool__pace_next(&run, 2), 0);   /* two items left: both go back */
    assert_int_equal(mpipool__pace_next(&one, 0), 1);   /* its one item: run here */
    assert_int_equal(mpipool__pace_next(&one, 1), 0);
    assert_true(mpipool__pace_next(&three, 0) >= 1);    /* chunk 5 was not asked for */
    ask_self(5);
    assert_int_equal(mpipool__pace_next(&three, 2), 1); /* its last item */
    assert_int_equal(r.rc, MPI_SUCCESS);
    assert_true(r.upto[0] == 5 && r.upto[1] == 0);
    settle();
}

static void test_once_per_request(void **state) {
    (void)state;
    mpipool__reclaims r = {{0, 0}, {0, 0}, 1, 0, MPI_SUCCESS};
    mpipool__pacer a = pacer_for(&r, 0, 1, 1), b = pacer_for(&r, 0, 2, 1);
    /* The request is known (an earlier look took it): no look needed. */
    mpipool__reclaims_note(&r, 0, 2);
    assert_int_equal(mpipool__pace_next(&a, 0), 1);
    assert_int_equal(mpipool__pace_next(&b, 0), 0); /* the one item of this request was a's */
    assert_true(r.kept[0] == 2);
}

/* No look (no MPI_Iprobe, which may yield the core) before a one-item
 * chunk's item: a request on its way stays there until a chunk of more
 * items looks, and that one then goes back whole. */
static void test_one_item_no_look(void **state) {
    (void)state;
    mpipool__reclaims r = {{0, 0}, {0, 0}, 1, 0, MPI_SUCCESS};
    mpipool__pacer a = pacer_for(&r, 0, 1, 1), c = pacer_for(&r, 0, 2, 3);
    ask_self(2);
    assert_int_equal(mpipool__pace_next(&a, 0), 1);
    assert_true(r.upto[0] == 0 && a.looked == 0.0); /* not taken: no look */
    assert_int_equal(mpipool__pace_next(&c, 0), 0); /* taken now: chunk 2's three items go back */
    assert_true(r.upto[0] == 2 && r.kept[0] == 0);
    assert_int_equal(r.rc, MPI_SUCCESS);
    settle();
}

static void test_leader_apart(void **state) {
    (void)state;
    mpipool__reclaims r = {{0, 0}, {0, 0}, 1, 0, MPI_SUCCESS};
    /* A leader is any rank but 0; MPI_ANY_SOURCE stands for it here (one rank). */
    mpipool__pacer from_leader = pacer_for(&r, MPI_ANY_SOURCE, 2, 1), from_master = pacer_for(&r, 0, 2, 1);
    mpipool__reclaims_note(&r, 7, 2); /* the leader asks for its chunks up to 2 */
    assert_true(mpipool__pace_next(&from_master, 0) >= 1);
    assert_int_equal(mpipool__pace_next(&from_leader, 0), 1);
    assert_int_equal(mpipool__pace_next(&from_leader, 1), 0);
    mpipool__reclaims_note(&r, 7, 1); /* an older request lowers nothing */
    assert_true(r.upto[1] == 2);
    mpipool__reclaims_note(&r, 0, 2);
    mpipool__pacer again = pacer_for(&r, 0, 2, 1);
    assert_int_equal(mpipool__pace_next(&again, 0), 1);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_last_item_kept),
        cmocka_unit_test(test_once_per_request),
        cmocka_unit_test(test_one_item_no_look),
        cmocka_unit_test(test_leader_apart),
    };
    if (cmocka_run_group_tests_name("pace", tests, NULL, NULL) != 0) harness_failed = 1;
    return harness_finish("test_pace");
}
