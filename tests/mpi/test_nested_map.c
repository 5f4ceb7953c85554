/*
 * test_nested_map.c — issue 21, item 8: a map called from inside a task.
 *
 * In a one-rank pool the master runs the tasks itself, so a task can reach
 * the pool (here through a global) and start a map inside a map.  A
 * journalled one shifts the numbering of the program's journalled maps, so
 * a resumed run refuses a later map; the library refuses any map from
 * inside a task with MPIPOOL_EINVAL ("called from inside a task"), and the
 * inner task never runs.  The outer map itself completes normally.
 * At 2 and 4 ranks the tasks run on workers, where the same call must be
 * refused too: MPIPOOL_EINVAL, or MPIPOOL_ENOTMASTER (a map on a worker,
 * refused before the library looks further); either way nothing runs.
 */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>
#include "harness.h"

enum { N = 6 };

static mpipool *pool;
static char journal_path[64];
static long inner_runs;

static int inner(mpipool_task *t) {
    inner_runs++;
    *(int32_t *)t->out = *(const int32_t *)t->in;
    return 0;
}
MPIPOOL_TASK(inner);

/* One nested call: refused with the right code (and, on a one-rank pool,
 * the message), nothing run.  0 = as wanted. */
static int nested_refused(mpipool_task *t, const char *journal, int async) {
    int32_t in[3] = {1, 2, 3}, out[3] = {0, 0, 0};
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = journal;
    long before = inner_runs;
    int rc;
    mpipool_job *job = NULL;
    if (async) {
        rc = mpipool_map_async(pool, inner, in, sizeof *in, out, sizeof *out, 3, &o, &job);
        if (rc == MPIPOOL_OK) {
            mpipool_wait(job, -1.0);
            mpipool_job_free(job);
        }
    } else {
        rc = mpipool_map(pool, inner, in, sizeof *in, out, sizeof *out, 3, &o);
    }
    const char *what = async ? "mpipool_map_async" : "mpipool_map";
    const char *kind = journal[0] ? "journalled" : "plain";
    int one_rank = t->rank == 0;
    if (rc != MPIPOOL_EINVAL && (one_rank || rc != MPIPOOL_ENOTMASTER))
        return mpipool_task_fail(t, "%s %s from inside a task returned %s, expected MPIPOOL_EINVAL", kind, what,
                                 mpipool_err_name(rc));
    if (inner_runs != before || out[0] || out[1] || out[2])
        return mpipool_task_fail(t, "%s %s from inside a task ran its task", kind, what);
    if (one_rank && !strstr(mpipool_last_error(pool), "inside a task"))
        return mpipool_task_fail(t, "%s %s from inside a task: message \"%s\" does not say why", kind, what,
                                 mpipool_last_error(pool));
    return 0;
}

static int outer(mpipool_task *t) {
    *(int32_t *)t->out = -1;
    /* Item i tries one kind of nested call. */
    int rc = 0;
    switch (t->index % 3) {
    case 0: rc = nested_refused(t, journal_path, 0); break;
    case 1: rc = nested_refused(t, "", 0); break;
    default: rc = nested_refused(t, journal_path, 1); break;
    }
    if (rc == 0) *(int32_t *)t->out = *(const int32_t *)t->in * 2;
    return rc;
}
MPIPOOL_TASK(outer);

static void test_map_inside_task(void **state) {
    (void)state;
    int32_t in[N], out[N];
    int status[N];
    char *messages[N];
    for (int i = 0; i < N; i++) in[i] = i + 1, out[i] = 0;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = ""; /* the outer map: not journalled */
    o.status = status;
    o.messages = messages;
    int rc = mpipool_map(pool, outer, in, sizeof *in, out, sizeof *out, N, &o);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        if (status[i] != MPIPOOL_OK || out[i] != 2 * (i + 1)) {
            fprintf(stderr, "item %d: %s: %s\n", i, mpipool_err_name(status[i]), messages[i] ? messages[i] : "");
            bad++;
        }
        free(messages[i]);
    }
    unlink(journal_path);
    assert_int_equal(bad, 0);
    assert_rc(pool, rc, MPIPOOL_OK);
    assert_int_equal(inner_runs, 0);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    snprintf(journal_path, sizeof journal_path, "/tmp/mpipool_nested_%ld.journal", (long)getpid());
    MPI_Bcast(journal_path, sizeof journal_path, MPI_CHAR, 0, MPI_COMM_WORLD);
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc == MPIPOOL_OK && !mpipool_is_master(pool)) {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    } else if (rc == MPIPOOL_OK) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_map_inside_task)};
        if (cmocka_run_group_tests_name("nested_map", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    }
    return harness_finish("test_nested_map");
}
