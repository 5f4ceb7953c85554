/*
 * test_close_busy.c — issue 21, item 6: mpipool_close / mpipool_terminate
 * from another thread while the main thread is blocked in a call on the
 * same pool.  They must return MPIPOOL_EBUSY and change nothing: the
 * blocked call then completes with every result right, and the pool closes
 * normally afterwards.  (Today close frees the engine under the waiting
 * call: a use-after-free under ASan, or a hang.)
 *
 * No sleeps: the item-0 task tells the closing thread that it is running
 * (so the master is surely inside the call, which cannot return before
 * item 0's result), over a side communicator duplicated before the pool is
 * opened, and waits for the closing thread's "go" before it returns.  In a
 * one-rank pool the task runs on the master's main thread and the messages
 * go to rank 0 itself; MPI_THREAD_MULTIPLE makes that legal.
 * Only mpipool_map: for mpipool_wait there is no message-only way to know
 * that the main thread is already inside the call and not just before it.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "harness.h"

enum { N = 64, TAG_STARTED = 1, TAG_GO = 2 };

static mpipool *pool;
static MPI_Comm side = MPI_COMM_NULL;

static int slow_square(mpipool_task *t) {
    int64_t x = *(const int64_t *)t->in;
    if (t->index == 0) {
        int dummy = 0;
        MPI_Send(&dummy, 1, MPI_INT, 0, TAG_STARTED, side);
        MPI_Recv(&dummy, 1, MPI_INT, 0, TAG_GO, side, MPI_STATUS_IGNORE);
    }
    *(int64_t *)t->out = x * x;
    return 0;
}
MPIPOOL_TASK(slow_square);

typedef struct {
    int close_rc, terminate_rc;
} closer_result;

/* The other thread: wait until item 0 runs, try to close and to
 * terminate, then let item 0 finish. */
static void *closer(void *arg) {
    closer_result *r = arg;
    int dummy = 0;
    MPI_Status st;
    MPI_Recv(&dummy, 1, MPI_INT, MPI_ANY_SOURCE, TAG_STARTED, side, &st);
    /* Only the codes: the pool's error text belongs to the thread inside
     * the map, and reading it from here would itself be a race. */
    r->close_rc = mpipool_close(pool);
    r->terminate_rc = mpipool_terminate(pool);
    MPI_Send(&dummy, 1, MPI_INT, st.MPI_SOURCE, TAG_GO, side);
    return NULL;
}

static void check_closer(const closer_result *r, const char *where) {
    if (r->close_rc != MPIPOOL_EBUSY || r->terminate_rc != MPIPOOL_EBUSY)
        fail_msg("%s: close from another thread returned %s, terminate %s; expected MPIPOOL_EBUSY", where,
                 mpipool_err_name(r->close_rc), mpipool_err_name(r->terminate_rc));
}

static void check_results(const int64_t *out) {
    for (int i = 0; i < N; i++)
        if (out[i] != (int64_t)i * i) fail_msg("item %d: got %lld, want %d", i, (long long)out[i], i * i);
}

static void test_close_while_in_map(void **state) {
    (void)state;
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i, out[i] = -1;
    closer_result r = {0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, closer, &r), 0);
    int rc = mpipool_map(pool, slow_square, in, sizeof *in, out, sizeof *out, N, NULL);
    pthread_join(th, NULL);
    check_closer(&r, "map");
    assert_rc(pool, rc, MPIPOOL_OK);
    check_results(out);
}

int main(int argc, char **argv) {
    int provided = MPI_THREAD_SINGLE;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    if (provided < MPI_THREAD_MULTIPLE) {
        /* The test's own side messages need it; both MPIs we use give it. */
        if (harness_world_rank() == 0) fprintf(stderr, "test_close_busy: MPI lacks MPI_THREAD_MULTIPLE\n");
        harness_failed = 1;
        return harness_finish("test_close_busy");
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &side);
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc == MPIPOOL_OK && !mpipool_is_master(pool)) {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    } else if (rc == MPIPOOL_OK) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_close_while_in_map),
        };
        if (cmocka_run_group_tests_name("close_busy", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    }
    MPI_Comm_free(&side);
    return harness_finish("test_close_busy");
}
