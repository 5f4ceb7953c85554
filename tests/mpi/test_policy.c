/*
 * test_policy.c — what a failing item does to the rest of its map, and what
 * the map reports per item: mpipool_map_options.on_error, max_failures,
 * status and messages, for dynamic and static schedules; then
 * mpipool_terminate with jobs in flight, on a second pool.
 *
 * Only what the contract guarantees is asserted.  Whatever the timing:
 * every item is exactly one of MPIPOOL_OK / MPIPOOL_ETASK / MPIPOOL_ECANCELED;
 * an OK item has its correct result, a failed one what its task wrote, a
 * cancelled one an output nobody touched; only items that fail can be
 * ETASK; messages[] holds exactly the failed items' texts.  How many items a
 * stopped map cancels depends on timing in general, so a count is asserted
 * only where the rules fix it: "at most two chunks in flight per worker"
 * plus "no new chunk after the first failure" bound what can run when every
 * item fails, or when there is a single worker.
 *
 * MPI is initialised with plain MPI_Init, so (unless the MPI gives
 * MPI_THREAD_MULTIPLE anyway) the master has no progress thread and jobs
 * advance only inside mpipool calls: that makes the terminate test exact.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#include <time.h>
#include "harness.h"

static mpipool *pool;
static int world_size;
static int threaded; /* MPI provides MPI_THREAD_MULTIPLE: a progress thread */

typedef struct {
    int32_t value;
    int32_t fail;    /* non-zero: the task fails (with a message unless 2) */
    int32_t work_us; /* busy work before answering                         */
} item;

typedef struct {
    int32_t value; /* 3 * value, or -value when the item failed */
    int32_t rank;
} result;

static void busy_us(long us) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

/* The exact text an item's failure carries. */
static void fail_text(char *buf, size_t size, size_t index, int32_t value) {
    snprintf(buf, size, "item %zu: value %d rejected", index, (int)value);
}

static int policy_task(mpipool_task *t) {
    const item *it = t->in;
    result *o = t->out;
    if (it->work_us > 0) busy_us(it->work_us);
    o->rank = t->rank;
    if (it->fail) {
        o->value = -it->value;
        if (it->fail == 2) return 7; /* no message */
        char text[96];
        fail_text(text, sizeof text, t->index, it->value);
        return mpipool_task_fail(t, "%s", text);
    }
    o->value = 3 * it->value;
    return 0;
}
MPIPOOL_TASK(policy_task);

/* 20 ms of sleeping work per item. */
static int slow_task(mpipool_task *t) {
    struct timespec ts = {0, 20L * 1000 * 1000};
    while (nanosleep(&ts, &ts) != 0) {}
    result *o = t->out;
    o->value = 3 * ((const item *)t->in)->value;
    o->rank = t->rank;
    return 0;
}
MPIPOOL_TASK(slow_task);

#define FILL 0x5A

static int untouched(const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != FILL) return 0;
    return 1;
}

/* One map's arrays. */
typedef struct {
    size_t n;
    item *in;
    result *out;
    int *status;
    char **messages;
} run;

static void run_init(run *r, size_t n) {
    r->n = n;
    r->in = calloc(n ? n : 1, sizeof *r->in);
    r->out = malloc((n ? n : 1) * sizeof *r->out);
    r->status = malloc((n ? n : 1) * sizeof *r->status);
    r->messages = malloc((n ? n : 1) * sizeof *r->messages);
    assert_true(r->in && r->out && r->status && r->messages);
    for (size_t i = 0; i < n; i++) r->in[i] = (item){(int32_t)i + 1, 0, 0};
    memset(r->out, FILL, n * sizeof *r->out);
    /* Garbage, to see the map overwrite every entry. */
    for (size_t i = 0; i < n; i++) {
        r->status[i] = 12345;
        r->messages[i] = (char *)(void *)r; /* never freed: the map must reset it */
    }
}

static void run_free(run *r) {
    free(r->in);
    free(r->out);
    free(r->status);
    free(r->messages);
}

typedef struct {
    size_t ok, failed, canceled;
} tally;

/* The per-item checks that hold whatever the timing.  Frees the messages. */
static tally check_items(run *r, int with_messages) {
    tally t = {0, 0, 0};
    char want[96];
    for (size_t i = 0; i < r->n; i++) {
        const item *it = &r->in[i];
        const result *o = &r->out[i];
        char *m = with_messages ? r->messages[i] : NULL;
        switch (r->status[i]) {
        case MPIPOOL_OK:
            t.ok++;
            if (it->fail) fail_msg("item %zu should fail but is OK", i);
            if (o->value != 3 * it->value || !harness_worker_rank_ok(o->rank, world_size))
                fail_msg("item %zu is OK but holds (%d, %d)", i, o->value, o->rank);
            if (m != NULL) fail_msg("item %zu is OK but has message \"%s\"", i, m);
            break;
        case MPIPOOL_ETASK:
            t.failed++;
            if (!it->fail) fail_msg("item %zu should succeed but is ETASK", i);
            if (o->value != -it->value || !harness_worker_rank_ok(o->rank, world_size))
                fail_msg("failed item %zu holds (%d, %d)", i, o->value, o->rank);
            if (with_messages) {
                if (m == NULL) fail_msg("failed item %zu has no message", i);
                if (it->fail == 1) {
                    fail_text(want, sizeof want, i, it->value);
                    if (strcmp(m, want) != 0) fail_msg("item %zu: message \"%s\", want \"%s\"", i, m, want);
                }
            }
            break;
        case MPIPOOL_ECANCELED:
            t.canceled++;
            if (!untouched(o, sizeof *o)) fail_msg("item %zu never ran but its output was written", i);
            if (m != NULL) fail_msg("cancelled item %zu has message \"%s\"", i, m);
            break;
        default:
            fail_msg("item %zu has status %d (%s)", i, r->status[i], mpipool_err_name(r->status[i]));
        }
        if (with_messages) {
            free(m);
            r->messages[i] = NULL;
        }
    }
    return t;
}

static int map_run(run *r, mpipool_map_options *o, int with_messages) {
    o->status = r->status;
    o->messages = with_messages ? r->messages : NULL;
    return mpipool_map(pool, policy_task, r->in, sizeof *r->in, r->out, sizeof *r->out, r->n, o);
}

static void pool_still_works(void) {
    run r;
    run_init(&r, 300);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_OK);
    tally t = check_items(&r, 1);
    assert_int_equal(t.ok, r.n);
    run_free(&r);
}

/* ---- on_error = CONTINUE (the default) ------------------------------------ */

static void test_continue_reports_every_item(void **state) {
    (void)state;
    const size_t chunks[] = {0, 1, 13};
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        for (int with_messages = 0; with_messages < 2; with_messages++) {
            run r;
            run_init(&r, 500);
            size_t expect_failed = 0;
            for (size_t i = 0; i < r.n; i++)
                if (i % 7 == 3) {
                    r.in[i].fail = i % 14 == 3 ? 1 : 2; /* with and without a message */
                    expect_failed++;
                }
            mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
            o.chunk_size = chunks[c];
            assert_rc(pool, map_run(&r, &o, with_messages), MPIPOOL_ETASK);
            const char *e = mpipool_last_error(pool);
            if (!harness_names_item(e, 3)) fail_msg("\"%s\" does not name item 3", e);
            assert_contains(e, "item 3: value 4 rejected");
            tally t = check_items(&r, with_messages);
            /* Every item ran: exactly the failing ones failed. */
            assert_int_equal(t.failed, expect_failed);
            assert_int_equal(t.ok, r.n - expect_failed);
            assert_int_equal(t.canceled, 0);
            run_free(&r);
        }
    }
    /* No failure: all OK, no message, and the arrays are still filled. */
    run r;
    run_init(&r, 100);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_OK);
    assert_int_equal(check_items(&r, 1).ok, r.n);
    run_free(&r);
}

/* The same through map_async: the arrays are filled when the job is done. */
static void test_continue_async(void **state) {
    (void)state;
    run r;
    run_init(&r, 400);
    r.in[0].fail = 1;
    r.in[399].fail = 1;
    r.in[200].fail = 2;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 5;
    o.status = r.status;
    o.messages = r.messages;
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_map_async(pool, policy_task, r.in, sizeof *r.in, r.out, sizeof *r.out, r.n,
                                      &o, &job), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(job, -1.0), MPIPOOL_ETASK);
    const char *e = mpipool_last_error(pool);
    if (!harness_names_item(e, 0)) fail_msg("\"%s\" does not name item 0", e);
    assert_contains(e, "(and more items failed)");
    /* The message-less failure still has a message (what the task returned). */
    assert_non_null(r.messages[200]);
    assert_contains(r.messages[200], "7");
    tally t = check_items(&r, 1);
    assert_int_equal(t.failed, 3);
    assert_int_equal(t.ok, r.n - 3);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    run_free(&r);
}

/* ---- on_error = STOP ------------------------------------------------------ */

/* One failing item k among many: items before k were all handed out before
 * k, so they all ran; k failed; the rest may or may not have run.  With a
 * single worker the bound is exact: when k's result arrives that worker has
 * at most one more chunk (k + 1), and nothing new is started after. */
static void test_stop_at_one_failure(void **state) {
    (void)state;
    enum { K = 10 };
    run r;
    run_init(&r, 2000);
    for (size_t i = 0; i < r.n; i++) r.in[i].work_us = 100;
    r.in[K].fail = 1;
    r.in[K].work_us = 0;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.on_error = MPIPOOL_ON_ERROR_STOP;
    o.chunk_size = 1;
    assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_ETASK);
    const char *e = mpipool_last_error(pool);
    if (!harness_names_item(e, K)) fail_msg("\"%s\" does not name item %d", e, K);
    assert_contains(e, "item 10: value 11 rejected");
    assert_int_equal(r.status[K], MPIPOOL_ETASK);
    for (size_t i = 0; i < K; i++)
        if (r.status[i] != MPIPOOL_OK) fail_msg("item %zu, before the failure, is %s", i,
                                                mpipool_err_name(r.status[i]));
    tally t = check_items(&r, 1);
    assert_int_equal(t.failed, 1);
    assert_int_equal(t.ok + t.failed + t.canceled, r.n);
    if (world_size == 2) {
        for (size_t i = K + 2; i < r.n; i++)
            if (r.status[i] != MPIPOOL_ECANCELED)
                fail_msg("one worker: item %zu ran after item %d failed", i, K);
        assert_true(t.canceled >= r.n - K - 2);
    }
    if (world_size > 2) print_message("stop at item %d: %zu ok, %zu cancelled\n", K, t.ok, t.canceled);
    run_free(&r);
    pool_still_works();
}

/* Every item fails: the first result the master sees is a failure, so only
 * the chunks sent before any result came back can run: at most two per
 * worker.  The cancelled count is then fixed for any number of workers. */
static void test_stop_all_failing(void **state) {
    (void)state;
    run r;
    run_init(&r, 2000);
    for (size_t i = 0; i < r.n; i++) r.in[i].fail = 1;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.on_error = MPIPOOL_ON_ERROR_STOP;
    o.chunk_size = 1;
    assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_ETASK);
    const char *e = mpipool_last_error(pool);
    if (!harness_names_item(e, 0)) fail_msg("\"%s\" does not name item 0", e);
    assert_int_equal(r.status[0], MPIPOOL_ETASK);
    tally t = check_items(&r, 1);
    assert_int_equal(t.ok, 0);
    assert_true(t.failed >= 1);
    assert_int_equal(t.failed + t.canceled, r.n);
    if (world_size > 1) {
        size_t workers = (size_t)world_size - 1;
        if (t.failed > 2 * workers)
            fail_msg("%zu items ran; at most %zu (two chunks of 1 per worker) may", t.failed, 2 * workers);
        assert_true(t.canceled > 0);
    }
    run_free(&r);
    pool_still_works();
}

/* STOP with nothing failing changes nothing. */
static void test_stop_without_failure(void **state) {
    (void)state;
    run r;
    run_init(&r, 1000);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.on_error = MPIPOOL_ON_ERROR_STOP;
    o.max_failures = 1;
    assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_OK);
    assert_int_equal(check_items(&r, 1).ok, r.n);
    run_free(&r);
}

/* ---- max_failures ---------------------------------------------------------- */

static void test_max_failures(void **state) {
    (void)state;
    /* Many failing items (every fourth): at least three fail before it stops. */
    run r;
    run_init(&r, 2000);
    for (size_t i = 0; i < r.n; i++) {
        r.in[i].work_us = 20;
        if (i % 4 == 1) r.in[i].fail = 1;
    }
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.max_failures = 3;
    o.chunk_size = 1;
    assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_ETASK);
    const char *e = mpipool_last_error(pool);
    if (!harness_names_item(e, 1)) fail_msg("\"%s\" does not name item 1", e);
    tally t = check_items(&r, 1);
    assert_true(t.failed >= 3);
    assert_int_equal(t.ok + t.failed + t.canceled, r.n);
    run_free(&r);

    /* Every item fails: the third failure is seen after at most three
     * results, each of which may have freed a slot for one more chunk, on
     * top of the two chunks per worker sent at the start. */
    run_init(&r, 2000);
    for (size_t i = 0; i < r.n; i++) r.in[i].fail = 1;
    assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_ETASK);
    t = check_items(&r, 1);
    assert_true(t.failed >= 3);
    assert_int_equal(t.ok, 0);
    if (world_size > 1) {
        size_t bound = 2 * ((size_t)world_size - 1) + 3;
        if (t.failed > bound) fail_msg("%zu items ran; at most %zu may", t.failed, bound);
        assert_true(t.canceled > 0);
    }
    run_free(&r);

    /* Two failures under a limit of three: nothing stops, everything runs. */
    run_init(&r, 2000);
    r.in[5].fail = 1;
    r.in[1500].fail = 2;
    assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_ETASK);
    t = check_items(&r, 1);
    assert_int_equal(t.failed, 2);
    assert_int_equal(t.canceled, 0);
    assert_int_equal(t.ok, r.n - 2);
    run_free(&r);

    /* max_failures = 1 is STOP at the first failure, whatever on_error says. */
    run_init(&r, 2000);
    for (size_t i = 0; i < r.n; i++) r.in[i].fail = 1;
    o.max_failures = 1;
    o.on_error = MPIPOOL_ON_ERROR_CONTINUE;
    assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_ETASK);
    t = check_items(&r, 1);
    if (world_size > 1) {
        if (t.failed > 2 * ((size_t)world_size - 1)) fail_msg("%zu items ran after the limit", t.failed);
        assert_true(t.canceled > 0);
    }
    run_free(&r);
    pool_still_works();
}

/* ---- static schedule -------------------------------------------------------- */

static void test_static_status(void **state) {
    (void)state;
    for (int stop = 0; stop < 2; stop++) {
        run r;
        run_init(&r, 301);
        size_t expect_failed = 0;
        for (size_t i = 0; i < r.n; i++)
            if (i % 10 == 5) {
                r.in[i].fail = 1;
                expect_failed++;
            }
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.schedule = MPIPOOL_SCHEDULE_STATIC;
        o.on_error = stop ? MPIPOOL_ON_ERROR_STOP : MPIPOOL_ON_ERROR_CONTINUE;
        assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_ETASK);
        const char *e = mpipool_last_error(pool);
        if (!harness_names_item(e, 5)) fail_msg("\"%s\" does not name item 5", e);
        assert_contains(e, "item 5: value 6 rejected");
        assert_int_equal(r.status[5], MPIPOOL_ETASK);
        tally t = check_items(&r, 1);
        if (!stop || world_size > 1) {
            /* Continue runs everything; a static map hands every worker its
             * whole share at once, so even STOP has nothing left to cancel. */
            assert_int_equal(t.failed, expect_failed);
            assert_int_equal(t.ok, r.n - expect_failed);
            assert_int_equal(t.canceled, 0);
        }
        run_free(&r);
    }
    pool_still_works();
}

/* ---- bad options ------------------------------------------------------------ */

static void test_bad_on_error(void **state) {
    (void)state;
    run r;
    run_init(&r, 50);
    const int bad[] = {2, -1, 1000};
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.on_error = (mpipool_on_error)bad[b];
        assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_EINVAL);
        assert_contains(mpipool_last_error(pool), "on_error");
        mpipool_job *job = (mpipool_job *)(void *)&r;
        assert_rc(pool, mpipool_map_async(pool, policy_task, r.in, sizeof *r.in, r.out, sizeof *r.out,
                                          r.n, &o, &job), MPIPOOL_EINVAL);
        assert_null(job);
        o.schedule = MPIPOOL_SCHEDULE_STATIC;
        assert_rc(pool, map_run(&r, &o, 1), MPIPOOL_EINVAL);
    }
    /* Refused before anything ran or was written. */
    assert_true(untouched(r.out, r.n * sizeof *r.out));
    for (size_t i = 0; i < r.n; i++) assert_int_equal(r.status[i], 12345);
    run_free(&r);
    pool_still_works();
}

/* ---- terminate ---------------------------------------------------------------- */

/* On a fresh pool (the caller closed the first one): three jobs of slow
 * items in flight and one finished, then mpipool_terminate. */
static void terminate_with_jobs(mpipool *p) {
    enum { NJ = 3 };
    const size_t sizes[NJ] = {50, 30, 1};
    run r[NJ];
    mpipool_job *jobs[NJ] = {NULL, NULL, NULL};
    int workers = world_size > 1 ? world_size - 1 : 1;

    /* A job that finished before terminate keeps its own result. */
    run fin;
    run_init(&fin, 100);
    fin.in[7].fail = 1;
    mpipool_map_options of = MPIPOOL_MAP_OPTIONS_INIT;
    of.status = fin.status;
    mpipool_job *done = NULL;
    CHECK_RC(mpipool_map_async(p, policy_task, fin.in, sizeof *fin.in, fin.out, sizeof *fin.out, fin.n,
                               &of, &done), MPIPOOL_OK);
    CHECK_RC(mpipool_wait(done, -1.0), MPIPOOL_ETASK);

    for (int j = 0; j < NJ; j++) {
        run_init(&r[j], sizes[j]);
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.chunk_size = 1;
        o.status = r[j].status;
        CHECK_RC(mpipool_map_async(p, slow_task, r[j].in, sizeof *r[j].in, r[j].out, sizeof *r[j].out,
                                   r[j].n, &o, &jobs[j]), MPIPOOL_OK);
    }
    CHECK_RC(mpipool_terminate(p), MPIPOOL_OK);
    CHECK_RC(mpipool_terminate(p), MPIPOOL_ECLOSED);

    /* The handles outlive the pool. */
    CHECK(mpipool_ready(done) == 1);
    CHECK_RC(mpipool_wait(done, 0.0), MPIPOOL_ETASK);
    CHECK(fin.status[7] == MPIPOOL_ETASK && fin.status[8] == MPIPOOL_OK);
    CHECK_RC(mpipool_job_free(done), MPIPOOL_OK);
    run_free(&fin);
    for (int j = 0; j < NJ; j++) {
        CHECK(mpipool_ready(jobs[j]) == 1);
        int rc = mpipool_wait(jobs[j], -1.0);
        CHECK(rc == MPIPOOL_OK || rc == MPIPOOL_ECANCELED);
        CHECK_RC(mpipool_wait(jobs[j], 0.0), rc); /* the verdict stays */
        size_t ok = 0, canceled = 0, other = 0;
        for (size_t i = 0; i < r[j].n; i++) {
            if (r[j].status[i] == MPIPOOL_OK) {
                ok++;
                CHECK(r[j].out[i].value == 3 * r[j].in[i].value);
            } else if (r[j].status[i] == MPIPOOL_ECANCELED) {
                canceled++;
                CHECK(untouched(&r[j].out[i], sizeof r[j].out[i]));
            } else {
                other++;
            }
        }
        CHECK(other == 0);
        CHECK(rc == MPIPOOL_OK ? canceled == 0 : canceled > 0);
        if (world_size == 1) {
            /* One rank: every job ran inside its mpipool_map_async. */
            CHECK_RC(rc, MPIPOOL_OK);
        } else if (!threaded) {
            /* No progress thread: the jobs moved only inside the three
             * submitting calls, each collecting at most two chunks per
             * worker and sending as many: job 0 (50 items) cannot have
             * sent more than 6 * workers <= 18 items, and jobs 1 and 2,
             * behind it, nothing at all. */
            CHECK_RC(rc, MPIPOOL_ECANCELED);
            CHECK(ok <= (size_t)(6 * workers));
            if (j > 0) CHECK(ok == 0);
        }
        CHECK_RC(mpipool_job_free(jobs[j]), MPIPOOL_OK);
        run_free(&r[j]);
    }
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    threaded = provided == MPI_THREAD_MULTIPLE;
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_policy");

    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_continue_reports_every_item),
            cmocka_unit_test(test_continue_async),
            cmocka_unit_test(test_stop_at_one_failure),
            cmocka_unit_test(test_stop_all_failing),
            cmocka_unit_test(test_stop_without_failure),
            cmocka_unit_test(test_max_failures),
            cmocka_unit_test(test_static_status),
            cmocka_unit_test(test_bad_on_error),
        };
        if (cmocka_run_group_tests_name("policy", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }

    /* A second pool on the same communicator, terminated with jobs in
     * flight; its workers must be released normally. */
    mpipool *p2 = NULL;
    rc = mpipool_open_comm(&p2, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_policy");
    if (mpipool_is_master(p2)) {
        terminate_with_jobs(p2);
    } else {
        CHECK_RC(mpipool_serve(p2), MPIPOOL_OK);
    }
    return harness_finish("test_policy");
}
