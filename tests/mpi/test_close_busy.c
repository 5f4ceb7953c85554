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
 * opened (or, in a one-rank pool, where the task runs on the master's main
 * thread, a condition variable), and waits for the closing thread's "go"
 * before it returns.
 * Only mpipool_map: for mpipool_wait there is no message-only way to know
 * that the main thread is already inside the call and not just before it.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "harness.h"

enum { N = 64, TAG_STARTED = 1, TAG_GO = 2 };

static mpipool *pool;
static MPI_Comm side = MPI_COMM_NULL;

/* Item 0's handshake with the closing thread.  Across ranks: messages on
 * the side communicator.  In a one-rank pool the task runs on the master's
 * main thread, in the closing thread's own process: a mutex and condition
 * variable (MPICH 4.0 with UCX hangs on messages a process sends itself
 * between two threads, even in a plain MPI program). */
static pthread_mutex_t hs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hs_cond = PTHREAD_COND_INITIALIZER;
static int hs_started, hs_go;

static void task_says_started_and_waits(void) {
    int dummy = 0;
    if (harness_world_size() > 1) {
        MPI_Send(&dummy, 1, MPI_INT, 0, TAG_STARTED, side);
        MPI_Recv(&dummy, 1, MPI_INT, 0, TAG_GO, side, MPI_STATUS_IGNORE);
        return;
    }
    pthread_mutex_lock(&hs_lock);
    hs_started = 1;
    pthread_cond_broadcast(&hs_cond);
    while (!hs_go) pthread_cond_wait(&hs_cond, &hs_lock);
    pthread_mutex_unlock(&hs_lock);
}

/* The closing thread's side: wait for "started" (returns the rank that
 * runs item 0), and later say "go" to it. */
static int closer_waits_for_start(void) {
    int dummy = 0;
    if (harness_world_size() > 1) {
        MPI_Status st;
        MPI_Recv(&dummy, 1, MPI_INT, MPI_ANY_SOURCE, TAG_STARTED, side, &st);
        return st.MPI_SOURCE;
    }
    pthread_mutex_lock(&hs_lock);
    while (!hs_started) pthread_cond_wait(&hs_cond, &hs_lock);
    pthread_mutex_unlock(&hs_lock);
    return 0;
}

static void closer_says_go(int to) {
    int dummy = 0;
    if (harness_world_size() > 1) {
        MPI_Send(&dummy, 1, MPI_INT, to, TAG_GO, side);
        return;
    }
    pthread_mutex_lock(&hs_lock);
    hs_go = 1;
    pthread_cond_broadcast(&hs_cond);
    pthread_mutex_unlock(&hs_lock);
}

static int slow_square(mpipool_task *t) {
    int64_t x = *(const int64_t *)t->in;
    if (t->index == 0) task_says_started_and_waits();
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
    int runner = closer_waits_for_start();
    /* Only the codes: the pool's error text belongs to the thread inside
     * the map, and reading it from here would itself be a race. */
    r->close_rc = mpipool_close(pool);
    r->terminate_rc = mpipool_terminate(pool);
    closer_says_go(runner);
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
