/*
 * harness.h — shared scaffolding for the tests run under mpiexec.
 *
 * Each rank records its own failures (cmocka on the master, CHECK() around
 * it); harness_finish() combines the verdicts with MPI_Allreduce on
 * MPI_COMM_WORLD before MPI_Finalize, so one rank's failed assertion makes
 * every rank exit non-zero instead of leaving the others blocked.
 */
#ifndef MPIPOOL_TEST_HARNESS_H
#define MPIPOOL_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <mpi.h>

#include "mpipool.h"

static int harness_failed;

static inline int harness_world_rank(void) {
    int r = -1, init = 0;
    MPI_Initialized(&init);
    if (init) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

static inline int harness_world_size(void) {
    int s = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    return s;
}

/* A rank-local check outside cmocka: report and remember, never abort. */
#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "[rank %d] %s:%d: check failed: %s\n",                  \
                    harness_world_rank(), __FILE__, __LINE__, #cond);               \
            harness_failed = 1;                                                     \
        }                                                                           \
    } while (0)

/* Like CHECK for a return code, naming the codes. */
#define CHECK_RC(expr, want)                                                        \
    do {                                                                            \
        int check_rc_ = (expr);                                                     \
        if (check_rc_ != (want)) {                                                  \
            fprintf(stderr, "[rank %d] %s:%d: %s returned %s, expected %s\n",       \
                    harness_world_rank(), __FILE__, __LINE__, #expr,                \
                    mpipool_err_name(check_rc_), mpipool_err_name(want));           \
            harness_failed = 1;                                                     \
        }                                                                           \
    } while (0)

/* cmocka: assert a return code, naming both codes and the pool's error. */
#define assert_rc(pool, expr, want)                                                 \
    do {                                                                            \
        int assert_rc_ = (expr);                                                    \
        if (assert_rc_ != (want))                                                   \
            fail_msg("%s returned %s, expected %s (last error: \"%s\")", #expr,     \
                     mpipool_err_name(assert_rc_), mpipool_err_name(want),          \
                     mpipool_last_error(pool));                                     \
    } while (0)

/* cmocka: `haystack` contains `needle`. */
#define assert_contains(haystack, needle)                                           \
    do {                                                                            \
        const char *assert_h_ = (haystack);                                         \
        const char *assert_n_ = (needle);                                           \
        if (assert_h_ == NULL || strstr(assert_h_, assert_n_) == NULL)              \
            fail_msg("\"%s\" does not contain \"%s\"", assert_h_ ? assert_h_ : "(null)", \
                     assert_n_);                                                    \
    } while (0)

/* Combine every rank's verdict, finalise MPI, and give the exit status. */
static inline int harness_finish(const char *name) {
    int mine = harness_failed, any = 1;
    if (MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
        any = 1;
    if (harness_world_rank() == 0)
        printf("%s: %s on %d rank(s)\n", name, any ? "FAILED" : "passed", harness_world_size());
    if (mine) fprintf(stderr, "%s: rank %d failed\n", name, harness_world_rank());
    MPI_Finalize();
    return any ? 1 : 0;
}

/* MPI_Init_thread with MPI_THREAD_MULTIPLE, or plain MPI_Init when argv[1]
 * is "single" (the same test without threads: no progress thread).
 * Returns 1 for "single". */
static inline int harness_init_maybe_single(int *argc, char ***argv) {
    int single = *argc > 1 && strcmp((*argv)[1], "single") == 0, provided = MPI_THREAD_SINGLE;
    if (single) MPI_Init(argc, argv);
    else MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
    return single;
}

/* The usual test program's body: MPI_Init, a pool over MPI_COMM_WORLD in
 * *pool; the master runs the cmocka group `group` of `ntests` tests, the
 * workers serve; then the pool closes.  Every failure is recorded for
 * harness_finish(), which the caller calls next (after any checks of its
 * own over all ranks). */
static inline void harness_pool_run(int *argc, char ***argv, mpipool **pool, const char *group,
                                    const struct CMUnitTest *tests, size_t ntests) {
    MPI_Init(argc, argv);
    int rc = mpipool_open_comm(pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return;
    if (!mpipool_is_master(*pool)) {
        CHECK_RC(mpipool_serve(*pool), MPIPOOL_OK);
        return;
    }
    if (_cmocka_run_group_tests(group, tests, ntests, NULL, NULL) != 0) harness_failed = 1;
    CHECK_RC(mpipool_close(*pool), MPIPOOL_OK);
}

/* The ranks a task may legitimately run on in a pool of `comm_size` ranks. */
static inline int harness_worker_rank_ok(int rank, int comm_size) {
    return comm_size == 1 ? rank == 0 : (rank >= 1 && rank < comm_size);
}

/* Does `msg` mention "item <idx>" as a whole number? */
static inline int harness_names_item(const char *msg, size_t idx) {
    char want[48];
    snprintf(want, sizeof want, "item %zu", idx);
    for (const char *p = msg ? strstr(msg, want) : NULL; p; p = strstr(p + 1, want)) {
        char next = p[strlen(want)];
        if (next < '0' || next > '9') return 1;
    }
    return 0;
}

/* Does `msg` mention "rank <r>" as a whole number? */
static inline int harness_names_rank(const char *msg, int r) {
    char want[48];
    snprintf(want, sizeof want, "rank %d", r);
    for (const char *p = msg ? strstr(msg, want) : NULL; p; p = strstr(p + 1, want)) {
        char next = p[strlen(want)];
        if (next < '0' || next > '9') return 1;
    }
    return 0;
}

#endif
