/*
 * test_slow_probe.c — a worker's look for a TAG_RECLAIM that costs a time
 * slice must not count as its items' time.
 *
 * A worker running a chunk that may be reclaimed looks for a TAG_RECLAIM
 * between runs of items (MPI_Iprobe, src/worker.c `pace`).  On an
 * oversubscribed node Open MPI may yield the core inside that probe for a
 * whole time slice.  Counted as the items' time, it shrank the runs and,
 * through the chunk's busy time, the master's chunks, until every item
 * took a call and a time slice (CI, 2026-12-06: test_batch made 38,000
 * calls for 50,000 items under load).  Here the test interposes
 * MPI_Iprobe (the PMPI profiling interface) on the workers, the only
 * MPI_Iprobe they make while running tasks, to take SLOW_US each: the
 * load, made certain.  The master checks that
 *  - a batch task still sees runs of many items (calls < N / 10), in
 *    dynamic maps of the default chunk size, and results stay right;
 *  - the workers' busy time (mpipool_stats: time inside task functions)
 *    leaves the probes out: under a tenth of the probes' time.
 */
#define _POSIX_C_SOURCE 200809L
#include <time.h>
#include "harness.h"
#include "batch_calls.h"

enum { N = 5000, SLOW_US = 1000 };

static int world_rank = -1;
static long probes; /* on a worker: its slow probes */

int MPI_Iprobe(int source, int tag, MPI_Comm comm, int *flag, MPI_Status *status) {
    if (world_rank < 0) PMPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    if (world_rank != 0) {
        struct timespec ts = {0, SLOW_US * 1000L};
        nanosleep(&ts, NULL);
        probes++;
    }
    return PMPI_Iprobe(source, tag, comm, flag, status);
}

static mpipool *pool;

static void test_slow_looks_keep_runs_long(void **state) {
    (void)state;
    int64_t *in = calloc(N, sizeof *in), *out = malloc(2 * N * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    for (int rep = 0; rep < 3; rep++) {
        memset(out, 0xff, 2 * N * sizeof *out);
        assert_rc(pool, mpipool_map(pool, span_many, in, sizeof *in, out, 2 * sizeof *out, N, NULL), MPIPOOL_OK);
        size_t calls = batch_calls(out, N, "dynamic");
        if (calls >= N / 10) fail_msg("map %d: %zu calls for %d items", rep, calls, N);
    }
    mpipool_pool_stats st;
    assert_rc(pool, mpipool_stats(pool, &st), MPIPOOL_OK);
    double busy = 0;
    uint64_t chunks = 0;
    for (int w = 0; w < st.nworkers; w++) {
        busy += st.workers[w].busy_seconds;
        chunks += st.workers[w].chunks;
    }
    /* Every chunk looked at least once before its first run. */
    double looked = (double)chunks * SLOW_US * 1e-6;
    if (busy >= looked / 10)
        fail_msg("the workers' busy time %.4f s counts their looks (%llu chunks, >= %.4f s of probes)", busy,
                 (unsigned long long)chunks, looked);
    free(in);
    free(out);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_slow_probe");
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_slow_looks_keep_runs_long),
        };
        if (cmocka_run_group_tests_name("slow_probe", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
        /* The probes this test is about were made. */
        CHECK(probes > 0);
    }
    return harness_finish("test_slow_probe");
}
