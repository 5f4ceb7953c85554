/*
 * test_stale_handle.c — issue 15, defect 3: a closed pool's handle must stay
 * closed, whatever address the next pool gets.
 *
 * Eight rounds of open/close in one program (MPI initialised by the test, so
 * the pool does not finalise it).  In each round after the first, on the
 * master: a map on each earlier round's (closed) handle returns
 * MPIPOOL_ECLOSED and runs nothing (the task counts its runs, on every rank,
 * and the output keeps its fill); mpipool_close on the stale handle returns
 * MPIPOOL_ECLOSED and leaves the live pool working (a map on it still gives
 * every result and it closes with MPIPOOL_OK).  glibc hands a freed block
 * of the same size back, so a later pool often lives at an earlier one's
 * address: an address-based liveness check then takes the old handle for
 * the new pool.  Here (Open MPI 4.1, glibc 2.36) that happens from round 2
 * at 4 ranks but only from round 4 or 5 at 1 and 2 ranks, hence eight
 * rounds and every earlier handle tried, not only the last one.
 */
#include "harness.h"

enum { ROUNDS = 8, N = 40 };

static long runs; /* tasks run on this rank, all rounds */

static int plus_one(mpipool_task *t) {
    runs++;
    *(int64_t *)t->out = *(const int64_t *)t->in + 1;
    return 0;
}
MPIPOOL_TASK(plus_one);

/* A map on `pool` (live): every result right. */
static void check_live_map(mpipool *pool, int round, const char *when) {
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i, out[i] = -7;
    int rc = mpipool_map(pool, plus_one, in, sizeof *in, out, sizeof *out, N, NULL);
    if (rc != MPIPOOL_OK)
        fprintf(stderr, "round %d, %s: live map returned %s (%s)\n", round, when, mpipool_err_name(rc),
                mpipool_last_error(pool));
    CHECK(rc == MPIPOOL_OK);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += out[i] != i + 1;
    CHECK(bad == 0);
}

/* A map on a closed handle: MPIPOOL_ECLOSED, nothing run, out untouched. */
static void check_stale_map(mpipool *stale, int round, int of) {
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i, out[i] = -7;
    long before = runs;
    int rc = mpipool_map(stale, plus_one, in, sizeof *in, out, sizeof *out, N, NULL);
    if (rc != MPIPOOL_ECLOSED)
        fprintf(stderr, "round %d: map on round %d's closed handle returned %s, expected MPIPOOL_ECLOSED\n",
                round, of, mpipool_err_name(rc));
    CHECK(rc == MPIPOOL_ECLOSED);
    int touched = 0;
    for (int i = 0; i < N; i++) touched += out[i] != -7;
    CHECK(touched == 0);
    CHECK(runs == before);
    CHECK(mpipool_is_master(stale) == 0);
    CHECK(mpipool_rank(stale) == -1);
    CHECK(mpipool_size(stale) == 0);
}

/* The master's checks on every earlier round's handle. */
static void check_stale(mpipool *live, mpipool *const *old, int round) {
    for (int k = 0; k < round; k++) {
        if (old[k] == live) printf("round %d: the live pool has round %d's address\n", round, k);
        check_stale_map(old[k], round, k);
    }
    check_live_map(live, round, "before the stale closes");
    /* Only after a live map: on today's main a close on a stale handle that
     * has the live pool's address closes and frees the live pool. */
    for (int k = 0; k < round; k++) {
        int rc = mpipool_close(old[k]);
        if (rc != MPIPOOL_ECLOSED)
            fprintf(stderr, "round %d: close on round %d's closed handle returned %s, expected MPIPOOL_ECLOSED\n",
                    round, k, mpipool_err_name(rc));
        CHECK(rc == MPIPOOL_ECLOSED);
    }
    check_live_map(live, round, "after the stale closes");
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int me = harness_world_rank();
    mpipool *old[ROUNDS] = {NULL};
    for (int round = 0; round < ROUNDS; round++) {
        mpipool *pool = NULL;
        int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
        CHECK_RC(rc, MPIPOOL_OK);
        if (rc != MPIPOOL_OK) break;
        if (!mpipool_is_master(pool)) {
            CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
        } else {
            if (round > 0) check_stale(pool, old, round);
            else check_live_map(pool, round, "first round");
            rc = mpipool_close(pool);
            if (rc != MPIPOOL_OK)
                fprintf(stderr, "round %d: close of the live pool returned %s\n", round, mpipool_err_name(rc));
            CHECK(rc == MPIPOOL_OK);
        }
        old[round] = pool;
        /* Every rank leaves the round before the next open. */
        MPI_Barrier(MPI_COMM_WORLD);
    }
    /* Each live map ran N tasks; a stale map must have run none.  Round 0
     * has one live map, the others two. */
    long total = 0;
    MPI_Allreduce(&runs, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    long want = (long)N * (1 + 2 * (ROUNDS - 1));
    if (me == 0 && total != want) fprintf(stderr, "tasks ran %ld times, expected %ld\n", total, want);
    CHECK(total == want);
    return harness_finish("test_stale_handle");
}
