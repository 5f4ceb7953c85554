/*
 * test_zero_typed.c — issues 16 and 21 (new API): items and results of
 * size 0, and typed tasks.
 *
 * A map with in = NULL, in_size 0, out = NULL, out_size 0 and n = 5 runs
 * the task 5 times (every rank counts its runs; the counts are summed over
 * the ranks) and returns MPIPOOL_OK with every status MPIPOOL_OK.  A task
 * registered with MPIPOOL_TASK_TYPED(sq, long long, long long) mapped with
 * results of 4 bytes is refused with MPIPOOL_EINVAL (map and map_async),
 * the message naming 'sq' and both sizes, and nothing runs;
 * MPIPOOL_MAP(pool, sq, in, out, n, NULL) works.
 */
#include "harness.h"

enum { NZ = 5, NSQ = 50 };

static mpipool *pool;
static long zero_runs, sq_runs, bad_sizes;

static int nothing(mpipool_task *t) {
    zero_runs++;
    if (t->in_size != 0 || t->out_size != 0) bad_sizes++;
    return 0;
}
MPIPOOL_TASK(nothing);

static int sq(mpipool_task *t) {
    sq_runs++;
    long long x = *(const long long *)t->in;
    *(long long *)t->out = x * x;
    return 0;
}
MPIPOOL_TASK_TYPED(sq, long long, long long);

/* Does `msg` hold `n` as a whole number? */
static int names_number(const char *msg, unsigned n) {
    char want[24];
    snprintf(want, sizeof want, "%u", n);
    size_t len = strlen(want);
    for (const char *p = strstr(msg, want); p; p = strstr(p + 1, want)) {
        int before_ok = p == msg || p[-1] < '0' || p[-1] > '9';
        int after_ok = p[len] < '0' || p[len] > '9';
        if (before_ok && after_ok) return 1;
    }
    return 0;
}

static void test_zero_size_map(void **state) {
    (void)state;
    int status[NZ];
    for (int i = 0; i < NZ; i++) status[i] = 12345;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.status = status;
    assert_rc(pool, mpipool_map(pool, nothing, NULL, 0, NULL, 0, NZ, &o), MPIPOOL_OK);
    for (int i = 0; i < NZ; i++)
        if (status[i] != MPIPOOL_OK) fail_msg("item %d: status %s", i, mpipool_err_name(status[i]));
    /* The same with no options at all. */
    assert_rc(pool, mpipool_map(pool, nothing, NULL, 0, NULL, 0, NZ, NULL), MPIPOOL_OK);
}

static void test_typed_mismatch(void **state) {
    (void)state;
    long long in[NSQ];
    int32_t out4[NSQ];
    for (int i = 0; i < NSQ; i++) in[i] = i, out4[i] = -1;
    long before = sq_runs;
    assert_rc(pool, mpipool_map(pool, sq, in, sizeof *in, out4, sizeof *out4, NSQ, NULL), MPIPOOL_EINVAL);
    const char *msg = mpipool_last_error(pool);
    assert_contains(msg, "'sq'");
    if (!names_number(msg, (unsigned)sizeof(long long)) || !names_number(msg, 4))
        fail_msg("\"%s\" does not name both sizes (%zu and 4)", msg, sizeof(long long));
    mpipool_job *job = (mpipool_job *)&job; /* must come back NULL */
    assert_rc(pool, mpipool_map_async(pool, sq, in, sizeof *in, out4, sizeof *out4, NSQ, NULL, &job),
              MPIPOOL_EINVAL);
    assert_null(job);
    assert_contains(mpipool_last_error(pool), "'sq'");
    assert_int_equal(sq_runs, before);
    for (int i = 0; i < NSQ; i++) assert_int_equal(out4[i], -1);
}

static void test_typed_map(void **state) {
    (void)state;
    long long in[NSQ], out[NSQ];
    for (int i = 0; i < NSQ; i++) in[i] = i - 20, out[i] = -1;
    assert_rc(pool, MPIPOOL_MAP(pool, sq, in, out, NSQ, NULL), MPIPOOL_OK);
    for (int i = 0; i < NSQ; i++) assert_int_equal(out[i], (long long)(i - 20) * (i - 20));
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_size_map),
        cmocka_unit_test(test_typed_mismatch),
        cmocka_unit_test(test_typed_map),
    };
    harness_pool_run(&argc, &argv, &pool, "zero_typed", tests, sizeof tests / sizeof *tests);
    /* Two size-0 maps of NZ items: each item ran exactly once somewhere. */
    long mine[2] = {zero_runs, bad_sizes}, sum[2] = {0, 0};
    MPI_Allreduce(mine, sum, 2, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (harness_world_rank() == 0 && (sum[0] != 2 * NZ || sum[1] != 0))
        fprintf(stderr, "size-0 tasks ran %ld times (expected %d), %ld saw non-zero sizes\n", sum[0], 2 * NZ,
                sum[1]);
    CHECK(sum[0] == 2 * NZ && sum[1] == 0);
    return harness_finish("test_zero_typed");
}
