/*
 * test_task_loop.c — issue 19.1: the loop that MPIPOOL_TASK and
 * MPIPOOL_TASK_TYPED emit beside the registration (mpipool.h,
 * MPIPOOL__LOOP), through which a fixed-size map calls a task per item
 * with the call inlined.
 *
 *  - It is used: in a fixed-size map (dynamic and static) the task sees
 *    the loop's copy of the library's task (task->internal_ names another
 *    struct; before the loop, it named the task itself), and every item
 *    sees its own in, out, sizes and index.
 *  - Failures inside a run of items: items failing with a message, with a
 *    bare non-zero return, and by a refused call (MPI_Finalize from a
 *    task, returning 0) each fail alone with their own status, in the
 *    middle, at the start and at the end of the map; every other item
 *    runs once and keeps its result; mpipool_last_error names a failed
 *    item and its message.
 *  - The typed loop zeroes each result itself (the library leaves the
 *    chunk to it): a task that writes nothing for some items leaves zeros
 *    there, not the caller's bytes.
 */
#include "harness.h"

enum { N = 301 };

static mpipool *pool;

typedef struct {
    int64_t in, index;
    int32_t looped, out_size_ok;
} probe_out;

static int probe(mpipool_task *t) {
    probe_out *o = t->out;
    o->in = *(const int64_t *)t->in;
    o->index = (int64_t)t->index;
    o->looped = t->internal_ != (const void *)t;
    o->out_size_ok = t->out_size == sizeof *o && t->in_size == sizeof(int64_t);
    return 0;
}
MPIPOOL_TASK(probe);

/* Fails by value: v % 7 == 3 with a message, v % 11 == 0 with a bare 5,
 * v == 50 by calling MPI_Finalize (refused) and returning 0.  The others
 * square. */
static int fail_some(mpipool_task *t) {
    int64_t v = *(const int64_t *)t->in;
    *(int64_t *)t->out = v * v;
    if (v % 7 == 3) return mpipool_task_fail(t, "value %lld is 3 mod 7", (long long)v);
    if (v % 11 == 0) return 5;
    if (v == 50) (void)MPI_Finalize();
    return 0;
}
MPIPOOL_TASK(fail_some);

/* Writes only the even values' results. */
static int even_only(mpipool_task *t) {
    int64_t v = *(const int64_t *)t->in;
    if (v % 2 == 0) *(int64_t *)t->out = v + 1000;
    return 0;
}
MPIPOOL_TASK_TYPED(even_only, int64_t, int64_t);

static int64_t in[N];

static int expect_fail(int64_t v) { return v % 7 == 3 || v % 11 == 0 || v == 50; }

static void check_probe(const probe_out *out) {
    for (int i = 0; i < N; i++) {
        if (out[i].in != i || out[i].index != i || !out[i].out_size_ok)
            fail_msg("item %d saw in %lld, index %lld, sizes ok %d", i, (long long)out[i].in,
                     (long long)out[i].index, out[i].out_size_ok);
        if (!out[i].looped) fail_msg("item %d: not run through the task's loop", i);
    }
}

static void test_loop_is_used(void **state) {
    (void)state;
    static probe_out out[N];
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    for (int s = 0; s < 2; s++) {
        o.schedule = s ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
        memset(out, 0xff, sizeof out);
        assert_rc(pool, mpipool_map(pool, probe, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
        check_probe(out);
    }
}

static void test_failures_in_a_run(void **state) {
    (void)state;
    static int64_t out[N];
    static int status[N];
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.status = status;
    for (int s = 0; s < 2; s++) {
        o.schedule = s ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
        memset(out, 0xff, sizeof out);
        assert_rc(pool, mpipool_map(pool, fail_some, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_ETASK);
        for (int i = 0; i < N; i++) {
            int want = expect_fail(i) ? MPIPOOL_ETASK : MPIPOOL_OK;
            if (status[i] != want)
                fail_msg("item %d: status %s, want %s", i, mpipool_err_name(status[i]), mpipool_err_name(want));
            if (want == MPIPOOL_OK && out[i] != (int64_t)i * i)
                fail_msg("item %d holds %lld, want %lld", i, (long long)out[i], (long long)i * i);
        }
        const char *msg = mpipool_last_error(pool);
        if (!harness_names_item(msg, 0) && !harness_names_item(msg, 3) && strstr(msg, "item") == NULL)
            fail_msg("last error \"%s\" names no item", msg);
    }
}

static void test_typed_loop_zeroes(void **state) {
    (void)state;
    static int64_t out[N];
    memset(out, 0x5a, sizeof out);
    assert_rc(pool, MPIPOOL_MAP(pool, even_only, in, out, N, NULL), MPIPOOL_OK);
    for (int i = 0; i < N; i++) {
        int64_t want = i % 2 == 0 ? i + 1000 : 0;
        if (out[i] != want) fail_msg("item %d holds %lld, want %lld", i, (long long)out[i], (long long)want);
    }
}

int main(int argc, char **argv) {
    for (int i = 0; i < N; i++) in[i] = i;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_is_used),
        cmocka_unit_test(test_failures_in_a_run),
        cmocka_unit_test(test_typed_loop_zeroes),
    };
    harness_pool_run(&argc, &argv, &pool, "task_loop", tests, sizeof tests / sizeof *tests);
    return harness_finish("test_task_loop");
}
