/*
 * test_mismatch.c — mpipool_open_comm checks that every rank registered the
 * same task functions.  Rank 1 registers an extra task: the open must fail
 * with MPIPOOL_EMISMATCH on every rank (no rank may be left waiting in a
 * pool the others refused), leave *pool NULL and name the task in
 * mpipool_last_error(NULL).  A failed open leaves the registry thawed, so
 * once every rank registers the task the next open succeeds and maps; while
 * a pool is open the registry is frozen.  Then the same with the extra task
 * on the master only.
 */
#include "harness.h"

static int world_size, world_rank;

static int add1000(mpipool_task *t) {
    *(int32_t *)t->out = *(const int32_t *)t->in + 1000;
    return 0;
}
MPIPOOL_TASK(add1000);

static int extra(mpipool_task *t) {
    *(int32_t *)t->out = *(const int32_t *)t->in * -2;
    return 0;
}

static int only_master(mpipool_task *t) {
    *(int32_t *)t->out = *(const int32_t *)t->in + 7;
    return 0;
}

/* Open a pool that must fail with EMISMATCH naming `name` (or succeed with
 * one rank, then close it). */
static void expect_mismatch(const char *name, int registered_on) {
    static int sentinel;
    mpipool *pool = (mpipool *)(void *)&sentinel; /* must be overwritten with NULL */
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    if (world_size == 1) {
        CHECK_RC(rc, MPIPOOL_OK);
        if (rc == MPIPOOL_OK) CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
        return;
    }
    CHECK_RC(rc, MPIPOOL_EMISMATCH);
    CHECK(pool == NULL);
    const char *e = mpipool_last_error(NULL);
    CHECK(e != NULL && strstr(e, name) != NULL);
    char ranks[32];
    snprintf(ranks, sizeof ranks, "ranks %d", registered_on);
    CHECK(e != NULL && strstr(e, ranks) != NULL);
    if (e == NULL || strstr(e, name) == NULL || strstr(e, ranks) == NULL)
        fprintf(stderr, "[rank %d] mismatch message: \"%s\"\n", world_rank, e ? e : "(null)");
    if (rc == MPIPOOL_OK && pool != NULL) mpipool_close(pool); /* keep the ranks in step */
}

/* Open over MPI_COMM_WORLD, map `fn` (expecting out = f(in)) and close. */
static void open_map_close(mpipool_fn fn, int mul, int add) {
    mpipool *pool = NULL;
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "[rank %d] open: %s\n", world_rank, mpipool_last_error(NULL));
        return;
    }
    /* Frozen while open, on every rank. */
    CHECK_RC(mpipool_register("too_late", extra), MPIPOOL_EBUSY);
    if (!mpipool_is_master(pool)) {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
        return;
    }
    enum { N = 57 };
    int32_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    memset(out, 0, sizeof out);
    int mrc = mpipool_map(pool, fn, in, sizeof *in, out, sizeof *out, N, NULL);
    CHECK_RC(mrc, MPIPOOL_OK);
    if (mrc != MPIPOOL_OK) fprintf(stderr, "map: %s\n", mpipool_last_error(pool));
    for (int i = 0; i < N; i++) CHECK(out[i] == in[i] * mul + add);
    mrc = mpipool_map(pool, add1000, in, sizeof *in, out, sizeof *out, N, NULL);
    CHECK_RC(mrc, MPIPOOL_OK);
    for (int i = 0; i < N; i++) CHECK(out[i] == in[i] + 1000);
    CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);

    /* 1. An extra task on rank 1 only. */
    if (world_rank == 1) CHECK_RC(mpipool_register("extra_on_rank1", extra), MPIPOOL_OK);
    expect_mismatch("extra_on_rank1", 1);

    /* 2. Everyone registers it (again, on rank 1: harmless): open, map. */
    CHECK_RC(mpipool_register("extra_on_rank1", extra), MPIPOOL_OK);
    open_map_close(extra, -2, 0);

    /* 3. After the close the registry is thawed again.  An extra task on
     * the master only. */
    if (world_rank == 0) CHECK_RC(mpipool_register("only_on_master", only_master), MPIPOOL_OK);
    expect_mismatch("only_on_master", 0);

    /* 4. Everyone: open, map with it. */
    CHECK_RC(mpipool_register("only_on_master", only_master), MPIPOOL_OK);
    open_map_close(only_master, 1, 7);

    return harness_finish("test_mismatch");
}
