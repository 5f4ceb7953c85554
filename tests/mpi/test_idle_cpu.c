/*
 * test_idle_cpu.c — a rank waiting inside the library sleeps; it does not
 * spin.  A worker with nothing to do (between two maps, while the master
 * is busy elsewhere) and a master waiting for one long item must use a
 * small share of a core.  (A sleep whose length was read before the wait
 * plan set it once turned every sleep into nanosleep(0): a busy loop that
 * no result check could see.)
 *
 * Each worker notes its process CPU time and clock at the end of its item
 * of a first map; the master then stays away from the library for IDLE_S;
 * in a second map each worker reports how much CPU it used over how much
 * time since that note.  The master's own share is measured across a map
 * of one item that sleeps for IDLE_S on a worker.  The sleeps only make
 * idle time; no result depends on their order.
 */
#define _POSIX_C_SOURCE 200809L
#include <time.h>
#include "harness.h"

#define IDLE_S 0.4
/* A sleeping rank uses ~0.025 of a core here (a poll at most every
 * millisecond); the nanosleep(0) loop above used 0.18-0.22 (the kernel's
 * 50 us timer slack kept it from a full core), a plain spin ~1. */
#define MAX_SHARE 0.1

typedef struct {
    int32_t rank, marked;
    double cpu, wall; /* since the mark: seconds */
} idle_report;

static double now_of(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double mark_cpu, mark_wall;
static int marked, reported;
static idle_report report_of;

static int mark(mpipool_task *t) {
    mark_cpu = now_of(CLOCK_PROCESS_CPUTIME_ID);
    mark_wall = now_of(CLOCK_MONOTONIC);
    marked = 1;
    reported = 0;
    *(int32_t *)t->out = t->rank;
    return 0;
}
MPIPOOL_TASK(mark);

/* The first item a worker runs after its mark measures; later ones repeat it. */
static int report(mpipool_task *t) {
    if (!reported) {
        report_of = (idle_report){t->rank, marked, now_of(CLOCK_PROCESS_CPUTIME_ID) - mark_cpu,
                                  now_of(CLOCK_MONOTONIC) - mark_wall};
        reported = 1;
    }
    *(idle_report *)t->out = report_of;
    return 0;
}
MPIPOOL_TASK(report);

static int nap(mpipool_task *t) {
    struct timespec ts = {0, (long)(IDLE_S * 1e9)};
    nanosleep(&ts, NULL);
    *(int32_t *)t->out = t->rank;
    return 0;
}
MPIPOOL_TASK(nap);

static mpipool *pool;

static void test_idle_workers_sleep(void **state) {
    (void)state;
    size_t n = (size_t)mpipool_size(pool), m = 64 * n; /* the ranks that run tasks (the master alone at 1) */
    int32_t *in = calloc(m, sizeof *in), *ranks = calloc(n, sizeof *ranks);
    idle_report *rep = calloc(m, sizeof *rep);
    assert_non_null(in);
    assert_non_null(ranks);
    assert_non_null(rep);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1;
    assert_rc(pool, mpipool_map(pool, mark, in, sizeof *in, ranks, sizeof *ranks, n, &o), MPIPOOL_OK);
    struct timespec ts = {0, (long)(IDLE_S * 1e9)};
    nanosleep(&ts, NULL); /* the workers wait for their next message meanwhile */
    assert_rc(pool, mpipool_map(pool, report, in, sizeof *in, rep, sizeof *rep, m, &o), MPIPOOL_OK);
    int measured = 0;
    char *seen = calloc(n + 1, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < m; i++) {
        if (!rep[i].marked || rep[i].wall < IDLE_S) continue; /* ran no item of the first map */
        if (rep[i].rank < 0 || (size_t)rep[i].rank > n) fail_msg("item %zu ran on rank %d", i, rep[i].rank);
        if (seen[rep[i].rank]++) continue;
        double share = rep[i].cpu / rep[i].wall;
        printf("rank %d: %.3f s of CPU over %.3f s idle (%.3f)\n", rep[i].rank, rep[i].cpu, rep[i].wall, share);
        if (share > MAX_SHARE) fail_msg("rank %d used %.3f of a core while it waited", rep[i].rank, share);
        measured++;
    }
    assert_true(measured > 0);
    free(seen);
    free(in);
    free(ranks);
    free(rep);
}

static void test_waiting_master_sleeps(void **state) {
    (void)state;
    int32_t in = 0, out = -1;
    double c0 = now_of(CLOCK_PROCESS_CPUTIME_ID), t0 = now_of(CLOCK_MONOTONIC);
    assert_rc(pool, mpipool_map(pool, nap, &in, sizeof in, &out, sizeof out, 1, NULL), MPIPOOL_OK);
    double cpu = now_of(CLOCK_PROCESS_CPUTIME_ID) - c0, wall = now_of(CLOCK_MONOTONIC) - t0;
    printf("master: %.3f s of CPU over a %.3f s map\n", cpu, wall);
    assert_true(wall >= IDLE_S);
    assert_true(out >= 0);
    if (cpu / wall > MAX_SHARE) fail_msg("the master used %.3f of a core while it waited", cpu / wall);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = harness_world_rank();
    (void)rank;
    CHECK_RC(mpipool_open_comm(&pool, MPI_COMM_WORLD), MPIPOOL_OK);
    if (pool == NULL) return harness_finish("test_idle_cpu");
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_idle_workers_sleep),
            cmocka_unit_test(test_waiting_master_sleeps),
        };
        if (cmocka_run_group_tests_name("idle_cpu", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish("test_idle_cpu");
}
