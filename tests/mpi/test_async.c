/*
 * test_async.c — asynchronous jobs: mpipool_map_async / mpipool_apply_async
 * with mpipool_wait, mpipool_ready and mpipool_job_free, over
 * MPI_COMM_WORLD.
 *
 * What is checked: an async map gives exactly what mpipool_map gives; several
 * jobs of different functions and sizes in flight at once each keep their
 * own ordered results (and write nothing outside their arrays); a wait that
 * times out loses nothing; mpipool_ready goes from 0 to 1; with a progress
 * thread a job finishes while the master computes without calling mpipool;
 * freeing a running job cancels it cleanly; and the refusals (NULL job, bad
 * arguments, a worker submitting, n == 0).
 *
 * By default MPI is initialised with MPI_THREAD_MULTIPLE, so the master has
 * a progress thread.  With the argument "single" it uses plain MPI_Init and
 * jobs advance only inside mpipool calls: the same checks must hold (except
 * the background-progress one, which then asserts nothing).
 *
 * No sleep is used to wait for anything: waits go through mpipool_wait.  The
 * only sleeps are the slow tasks' own work (20 ms each).  Where a check
 * needs a job to be still running when the next call is made, the job is
 * sized to take at least half a second of worker time after the call that
 * submitted it returns.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <time.h>
#include "harness.h"

static mpipool *pool;
static int world_size;
static int threaded; /* MPI provides MPI_THREAD_MULTIPLE */

/* ---- tasks --------------------------------------------------------------- */

static int square64(mpipool_task *t) {
    int64_t x = *(const int64_t *)t->in;
    *(int64_t *)t->out = x * x;
    return 0;
}
MPIPOOL_TASK(square64);

/* A struct in, a differently sized struct out. */
typedef struct {
    int32_t a, b;
    double c;
} mix_in;
typedef struct {
    double sum;
    uint64_t index;
    int32_t rank;
    char tag[4];
} mix_out;

static int mix(mpipool_task *t) {
    const mix_in *p = t->in;
    mix_out *o = t->out;
    if (t->in_size != sizeof *p || t->out_size != sizeof *o) return 1;
    o->sum = p->a + p->b + p->c;
    o->index = t->index;
    o->rank = t->rank;
    memcpy(o->tag, "mix", 4);
    return 0;
}
MPIPOOL_TASK(mix);

typedef struct {
    int32_t value;
    int32_t rank;
} slow_out;

/* 20 ms of (sleeping) work per item: the task's workload, not a wait. */
static int slow_x7(mpipool_task *t) {
    struct timespec ts = {0, 20L * 1000 * 1000};
    while (nanosleep(&ts, &ts) != 0) {}
    slow_out *o = t->out;
    o->value = 7 * *(const int32_t *)t->in;
    o->rank = t->rank;
    return 0;
}
MPIPOOL_TASK(slow_x7);

/* A few microseconds of arithmetic. */
static int short_task(mpipool_task *t) {
    uint64_t x = *(const uint32_t *)t->in, h = x;
    for (int i = 0; i < 1000; i++) h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t *o = t->out;
    o[0] = x + 1;
    o[1] = h;
    return 0;
}
MPIPOOL_TASK(short_task);

static uint64_t short_hash(uint32_t x) {
    uint64_t h = x;
    for (int i = 0; i < 1000; i++) h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    return h;
}

static int fail_neg(mpipool_task *t) {
    int64_t x = *(const int64_t *)t->in;
    if (x < 0) return mpipool_task_fail(t, "negative value %lld", (long long)x);
    *(int64_t *)t->out = 2 * x;
    return 0;
}
MPIPOOL_TASK(fail_neg);

/* Deliberately never registered. */
static int not_registered(mpipool_task *t) {
    (void)t;
    return 0;
}

/* ---- helpers ------------------------------------------------------------- */

#define FILL 0x5A
/* Does every byte of [p, p+n) still hold FILL? */
static int untouched(const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != FILL) return 0;
    return 1;
}

static int one_rank(void) { return world_size == 1; }

/* A correct blocking map and apply, proving the pool is still in step. */
static void pool_still_works(void) {
    enum { NW = 257 };
    int64_t in[NW], out[NW];
    for (int i = 0; i < NW; i++) in[i] = i - 100;
    memset(out, FILL, sizeof out);
    assert_rc(pool, mpipool_map(pool, square64, in, sizeof *in, out, sizeof *out, NW, NULL),
              MPIPOOL_OK);
    for (int i = 0; i < NW; i++)
        if (out[i] != in[i] * in[i]) fail_msg("pool check: item %d is %lld", i, (long long)out[i]);
    int64_t x = 9, y = 0;
    assert_rc(pool, mpipool_apply(pool, square64, &x, sizeof x, &y, sizeof y), MPIPOOL_OK);
    assert_int_equal(y, 81);
}

/* ---- tests --------------------------------------------------------------- */

static void test_map_async_matches_map(void **state) {
    (void)state;
    enum { NM = 3001 };
    int64_t *in = malloc(NM * sizeof *in);
    int64_t *want = malloc(NM * sizeof *want), *got = malloc(NM * sizeof *got);
    assert_non_null(in);
    assert_non_null(want);
    assert_non_null(got);
    for (int i = 0; i < NM; i++) in[i] = (int64_t)i * 37 - 5000;
    const size_t chunks[] = {0, 1, 64};
    for (int sched = 0; sched < 2; sched++) {
        for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
            mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
            o.schedule = sched ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
            o.chunk_size = chunks[c];
            memset(want, 0, NM * sizeof *want);
            memset(got, FILL, NM * sizeof *got);
            assert_rc(pool, mpipool_map(pool, square64, in, sizeof *in, want, sizeof *want, NM, &o),
                      MPIPOOL_OK);
            mpipool_job *job = NULL;
            assert_rc(pool,
                      mpipool_map_async(pool, square64, in, sizeof *in, got, sizeof *got, NM, &o, &job),
                      MPIPOOL_OK);
            assert_non_null(job);
            assert_rc(pool, mpipool_wait(job, -1.0), MPIPOOL_OK);
            /* A finished job keeps answering the same. */
            assert_int_equal(mpipool_ready(job), 1);
            assert_rc(pool, mpipool_wait(job, 0.0), MPIPOOL_OK);
            assert_rc(pool, mpipool_wait(job, -1.0), MPIPOOL_OK);
            assert_string_equal(mpipool_last_error(pool), "");
            assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
            assert_memory_equal(got, want, NM * sizeof *got);
            for (int i = 0; i < NM; i++)
                if (want[i] != in[i] * in[i]) fail_msg("map: item %d is %lld", i, (long long)want[i]);
        }
    }
    free(in);
    free(want);
    free(got);
}

static void test_apply_async(void **state) {
    (void)state;
    int64_t x = 12, y = -1;
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_apply_async(pool, square64, &x, sizeof x, &y, sizeof y, &job), MPIPOOL_OK);
    assert_non_null(job);
    assert_rc(pool, mpipool_wait(job, -1.0), MPIPOOL_OK);
    assert_int_equal(y, 144);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);

    /* A failing apply: the job's result is the task's failure. */
    int64_t neg = -3, r = 77;
    assert_rc(pool, mpipool_apply_async(pool, fail_neg, &neg, sizeof neg, &r, sizeof r, &job),
              MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(job, -1.0), MPIPOOL_ETASK);
    const char *e = mpipool_last_error(pool);
    assert_contains(e, "fail_neg");
    assert_contains(e, "negative value -3");
    if (!harness_names_item(e, 0)) fail_msg("\"%s\" does not name item 0", e);
    assert_rc(pool, mpipool_wait(job, 0.0), MPIPOOL_ETASK);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    pool_still_works();
}

/* Several jobs of different functions and sizes in flight at once, with a
 * blocking map and an apply among them; waited for in reverse order.  Each
 * output array has guard items after it that nobody may touch. */
static void test_jobs_in_flight(void **state) {
    (void)state;
    enum { NA = 5000, NB = 777, NC = 1001, NS = 300, GUARD = 8 };
    int64_t *a_in = malloc(NA * sizeof *a_in), *a_out = malloc((NA + GUARD) * sizeof *a_out);
    mix_in *b_in = malloc(NB * sizeof *b_in);
    mix_out *b_out = malloc((NB + GUARD) * sizeof *b_out);
    int64_t *c_in = malloc(NC * sizeof *c_in), *c_out = malloc((NC + GUARD) * sizeof *c_out);
    uint32_t s_in[NS];
    uint64_t s_out[NS + GUARD][2];
    assert_true(a_in && a_out && b_in && b_out && c_in && c_out);
    for (int i = 0; i < NA; i++) a_in[i] = i;
    for (int i = 0; i < NB; i++) b_in[i] = (mix_in){i, -2 * i, 0.5};
    for (int i = 0; i < NC; i++) c_in[i] = -1000 - i;
    for (int i = 0; i < NS; i++) s_in[i] = (uint32_t)i * 3u;
    memset(a_out, FILL, (NA + GUARD) * sizeof *a_out);
    memset(b_out, FILL, (NB + GUARD) * sizeof *b_out);
    memset(c_out, FILL, (NC + GUARD) * sizeof *c_out);
    memset(s_out, FILL, sizeof s_out);
    int64_t d_in = 31, d_out = 0;

    mpipool_map_options ob = MPIPOOL_MAP_OPTIONS_INIT, oc = MPIPOOL_MAP_OPTIONS_INIT;
    ob.chunk_size = 3;
    oc.schedule = MPIPOOL_SCHEDULE_STATIC;
    mpipool_job *ja = NULL, *jb = NULL, *jc = NULL, *jd = NULL;
    assert_rc(pool, mpipool_map_async(pool, square64, a_in, sizeof *a_in, a_out, sizeof *a_out, NA,
                                      NULL, &ja), MPIPOOL_OK);
    assert_rc(pool, mpipool_map_async(pool, mix, b_in, sizeof *b_in, b_out, sizeof *b_out, NB, &ob,
                                      &jb), MPIPOOL_OK);
    assert_rc(pool, mpipool_map_async(pool, square64, c_in, sizeof *c_in, c_out, sizeof *c_out, NC,
                                      &oc, &jc), MPIPOOL_OK);
    assert_rc(pool, mpipool_apply_async(pool, square64, &d_in, sizeof d_in, &d_out, sizeof d_out, &jd),
              MPIPOOL_OK);
    assert_true(ja && jb && jc && jd);
    assert_true(ja != jb && jb != jc && jc != jd && ja != jd);
    /* A blocking map while the four are in flight. */
    assert_rc(pool, mpipool_map(pool, short_task, s_in, sizeof *s_in, s_out, sizeof *s_out, NS, NULL),
              MPIPOOL_OK);
    for (int i = 0; i < NS; i++)
        if (s_out[i][0] != s_in[i] + 1u || s_out[i][1] != short_hash(s_in[i]))
            fail_msg("blocking map: item %d is wrong", i);

    assert_rc(pool, mpipool_wait(jd, -1.0), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(jc, -1.0), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(jb, -1.0), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(ja, -1.0), MPIPOOL_OK);

    assert_int_equal(d_out, 31 * 31);
    for (int i = 0; i < NA; i++)
        if (a_out[i] != (int64_t)i * i) fail_msg("job A: item %d is %lld", i, (long long)a_out[i]);
    for (int i = 0; i < NB; i++) {
        const mix_out *o = &b_out[i];
        if (o->sum != -i + 0.5 || o->index != (uint64_t)i || memcmp(o->tag, "mix", 4) != 0 ||
            !harness_worker_rank_ok(o->rank, world_size))
            fail_msg("job B: item %d is (%g, %llu, %d)", i, o->sum, (unsigned long long)o->index,
                     o->rank);
    }
    for (int i = 0; i < NC; i++)
        if (c_out[i] != c_in[i] * c_in[i]) fail_msg("job C: item %d is %lld", i, (long long)c_out[i]);
    assert_true(untouched(a_out + NA, GUARD * sizeof *a_out));
    assert_true(untouched(b_out + NB, GUARD * sizeof *b_out));
    assert_true(untouched(c_out + NC, GUARD * sizeof *c_out));
    assert_true(untouched(s_out + NS, sizeof s_out - NS * sizeof s_out[0]));
    assert_rc(pool, mpipool_job_free(ja), MPIPOOL_OK);
    assert_rc(pool, mpipool_job_free(jb), MPIPOOL_OK);
    assert_rc(pool, mpipool_job_free(jc), MPIPOOL_OK);
    assert_rc(pool, mpipool_job_free(jd), MPIPOOL_OK);
    free(a_in);
    free(a_out);
    free(b_in);
    free(b_out);
    free(c_in);
    free(c_out);
}

/* A job of slow items: at least 25 of them per worker, one per chunk, so
 * it needs at least 0.5 s of worker time. */
typedef struct {
    int n;
    int32_t *in;
    slow_out *out;
} slow_job;

static void slow_job_init(slow_job *s, int per_worker) {
    s->n = per_worker * mpipool_size(pool);
    s->in = malloc((size_t)s->n * sizeof *s->in);
    s->out = malloc((size_t)s->n * sizeof *s->out);
    assert_true(s->in && s->out);
    for (int i = 0; i < s->n; i++) s->in[i] = i + 1;
    memset(s->out, FILL, (size_t)s->n * sizeof *s->out);
}

static void slow_job_check_all(const slow_job *s) {
    for (int i = 0; i < s->n; i++)
        if (s->out[i].value != 7 * (i + 1) || !harness_worker_rank_ok(s->out[i].rank, world_size))
            fail_msg("slow job: item %d is (%d, %d)", i, s->out[i].value, s->out[i].rank);
}

static void slow_job_free(slow_job *s) {
    free(s->in);
    free(s->out);
}

/* wait(job, 0) on a running job times out; the job goes on and loses
 * nothing; mpipool_ready goes from 0 to 1. */
static void test_wait_timeout_loses_nothing(void **state) {
    (void)state;
    slow_job s;
    slow_job_init(&s, 25);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1;
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_map_async(pool, slow_x7, s.in, sizeof *s.in, s.out, sizeof *s.out,
                                      (size_t)s.n, &o, &job), MPIPOOL_OK);
    if (one_rank()) {
        /* The master ran the tasks inside mpipool_map_async. */
        assert_int_equal(mpipool_ready(job), 1);
        assert_rc(pool, mpipool_wait(job, 0.0), MPIPOOL_OK);
    } else {
        assert_rc(pool, mpipool_wait(job, 0.0), MPIPOOL_ETIMEDOUT);
        assert_int_equal(mpipool_ready(job), 0);
        assert_rc(pool, mpipool_wait(job, 0.001), MPIPOOL_ETIMEDOUT);
        int rc, timeouts = 0;
        while ((rc = mpipool_wait(job, 0.01)) == MPIPOOL_ETIMEDOUT) timeouts++;
        assert_rc(pool, rc, MPIPOOL_OK);
        /* 0.5 s of work cannot fit in a single 10 ms wait. */
        assert_true(timeouts > 0);
        assert_int_equal(mpipool_ready(job), 1);
        assert_rc(pool, mpipool_wait(job, 0.0), MPIPOOL_OK);
    }
    slow_job_check_all(&s);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    slow_job_free(&s);
    pool_still_works();
}

/* mpipool_ready alone moves a job along when there is no progress thread,
 * and merely looks when there is one: polling it must end either way. */
static void test_ready_polling(void **state) {
    (void)state;
    slow_job s;
    slow_job_init(&s, 25);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 2;
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_map_async(pool, slow_x7, s.in, sizeof *s.in, s.out, sizeof *s.out,
                                      (size_t)s.n, &o, &job), MPIPOOL_OK);
    int r = mpipool_ready(job);
    assert_int_equal(r, one_rank() ? 1 : 0);
    /* Between polls the master waits inside mpipool_wait, never in a sleep. */
    long polls = 0;
    while ((r = mpipool_ready(job)) == 0) {
        int rc = mpipool_wait(job, 0.005);
        if (rc != MPIPOOL_ETIMEDOUT && rc != MPIPOOL_OK) fail_msg("wait returned %s", mpipool_err_name(rc));
        polls++;
    }
    assert_int_equal(r, 1);
    if (!one_rank()) assert_true(polls > 0);
    assert_rc(pool, mpipool_wait(job, 0.0), MPIPOOL_OK);
    slow_job_check_all(&s);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    slow_job_free(&s);
}

/* With MPI_THREAD_MULTIPLE the master's progress thread runs the job while
 * the caller computes without calling mpipool at all. */
static void test_background_progress(void **state) {
    (void)state;
    enum { NP = 50 };
    uint32_t in[NP];
    uint64_t out[NP][2];
    for (int i = 0; i < NP; i++) in[i] = (uint32_t)i;
    memset(out, FILL, sizeof out);
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_map_async(pool, short_task, in, sizeof *in, out, sizeof *out, NP, NULL, &job),
              MPIPOOL_OK);
    /* The caller's own work: 1.5 s of arithmetic, no mpipool, no waiting. */
    volatile double acc = 0.0;
    double t0 = MPI_Wtime();
    while (MPI_Wtime() - t0 < 1.5)
        for (int i = 0; i < 10000; i++) acc = acc + (double)i * 1e-9;
    int r = mpipool_ready(job);
    if (one_rank() || threaded) {
        /* One rank: the tasks ran inside mpipool_map_async.  Threaded: the
         * progress thread had 1.5 s for ~50 ms of work. */
        if (r != 1)
            fail_msg("job not finished after 1.5 s of computing (%s, %d ranks)",
                     threaded ? "MPI_THREAD_MULTIPLE" : "no progress thread", world_size);
    } else {
        /* Without MPI_THREAD_MULTIPLE jobs advance only inside mpipool calls;
         * whether this one call finished the job depends on how much of it
         * the submitting call already sent, so nothing is asserted here. */
        assert_true(r == 0 || r == 1);
    }
    assert_rc(pool, mpipool_wait(job, -1.0), MPIPOOL_OK);
    for (int i = 0; i < NP; i++)
        if (out[i][0] != (uint64_t)i + 1 || out[i][1] != short_hash((uint32_t)i))
            fail_msg("background job: item %d is wrong", i);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
}

/* Freeing a running job cancels it: what had started finishes with correct
 * results, what had not is never run, and the pool carries on. */
static void test_job_free_cancels(void **state) {
    (void)state;
    slow_job s;
    slow_job_init(&s, 100); /* >= 2 s of worker time */
    int *status = malloc((size_t)s.n * sizeof *status);
    assert_non_null(status);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1;
    o.status = status;
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_map_async(pool, slow_x7, s.in, sizeof *s.in, s.out, sizeof *s.out,
                                      (size_t)s.n, &o, &job), MPIPOOL_OK);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    int ok = 0, canceled = 0;
    for (int i = 0; i < s.n; i++) {
        if (status[i] == MPIPOOL_OK) {
            ok++;
            if (s.out[i].value != 7 * (i + 1) || !harness_worker_rank_ok(s.out[i].rank, world_size))
                fail_msg("item %d ran but is (%d, %d)", i, s.out[i].value, s.out[i].rank);
        } else if (status[i] == MPIPOOL_ECANCELED) {
            canceled++;
            if (!untouched(&s.out[i], sizeof s.out[i])) fail_msg("item %d never ran but was written", i);
        } else {
            fail_msg("item %d has status %s", i, mpipool_err_name(status[i]));
        }
    }
    if (one_rank()) {
        assert_int_equal(ok, s.n); /* it ran inside mpipool_map_async */
    } else {
        /* job_free came right after the submission, far less than the 2 s
         * the whole job needs. */
        if (canceled == 0) fail_msg("job_free cancelled nothing of %d slow items", s.n);
    }
    free(status);
    slow_job_free(&s);
    pool_still_works();
    /* Freeing a finished job is just a free. */
    int64_t x = 4, y = 0;
    mpipool_job *done = NULL;
    assert_rc(pool, mpipool_apply_async(pool, square64, &x, sizeof x, &y, sizeof y, &done), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(done, -1.0), MPIPOOL_OK);
    assert_rc(pool, mpipool_job_free(done), MPIPOOL_OK);
    assert_int_equal(y, 16);
}

static void test_null_job(void **state) {
    (void)state;
    assert_rc(pool, mpipool_wait(NULL, 0.0), MPIPOOL_EINVAL);
    assert_rc(pool, mpipool_wait(NULL, -1.0), MPIPOOL_EINVAL);
    assert_rc(pool, mpipool_wait(NULL, 1.0), MPIPOOL_EINVAL);
    assert_rc(pool, mpipool_ready(NULL), MPIPOOL_EINVAL);
    assert_rc(pool, mpipool_job_free(NULL), MPIPOOL_OK);
    pool_still_works();
}

/* A refused submission sets *job to NULL and sends nothing. */
static void test_async_bad_arguments(void **state) {
    (void)state;
    enum { NB = 10 };
    int64_t in[NB] = {0}, out[NB];
    memset(out, FILL, sizeof out);
    mpipool_job *stale = (mpipool_job *)(void *)&in[0]; /* any non-NULL value */
    mpipool_job *job;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;

#define EXPECT_REFUSED(call, want)                                                    \
    do {                                                                              \
        job = stale;                                                                  \
        assert_rc(pool, (call), (want));                                              \
        if (job != NULL) fail_msg("%s left *job non-NULL", #call);                    \
    } while (0)

    EXPECT_REFUSED(mpipool_map_async(pool, square64, NULL, sizeof *in, out, sizeof *out, NB, NULL, &job),
                   MPIPOOL_EINVAL);
    assert_contains(mpipool_last_error(pool), "mpipool_map_async");
    EXPECT_REFUSED(mpipool_map_async(pool, square64, in, sizeof *in, NULL, sizeof *out, NB, NULL, &job),
                   MPIPOOL_EINVAL);
    EXPECT_REFUSED(mpipool_map_async(pool, square64, NULL, 0, NULL, sizeof *out, NB, NULL, &job),
                   MPIPOOL_EINVAL);
    EXPECT_REFUSED(mpipool_map_async(pool, square64, NULL, sizeof *in, NULL, 0, NB, NULL, &job),
                   MPIPOOL_EINVAL);
    EXPECT_REFUSED(mpipool_map_async(pool, square64, in, sizeof *in, in, sizeof *in, NB, NULL, &job),
                   MPIPOOL_EINVAL);
    o.schedule = (mpipool_schedule)5;
    EXPECT_REFUSED(mpipool_map_async(pool, square64, in, sizeof *in, out, sizeof *out, NB, &o, &job),
                   MPIPOOL_EINVAL);
    o.schedule = MPIPOOL_SCHEDULE_DYNAMIC;
    o.on_error = (mpipool_on_error)9;
    EXPECT_REFUSED(mpipool_map_async(pool, square64, in, sizeof *in, out, sizeof *out, NB, &o, &job),
                   MPIPOOL_EINVAL);
    assert_contains(mpipool_last_error(pool), "on_error");
    o.on_error = MPIPOOL_ON_ERROR_CONTINUE;
    o.flags = 0x100u; /* no such flag (0x1 is MPIPOOL_MAP_PROGRESS) */
    EXPECT_REFUSED(mpipool_map_async(pool, square64, in, sizeof *in, out, sizeof *out, NB, &o, &job),
                   MPIPOOL_EINVAL);
    o.flags = 0;
    /* n * in_size overflows the address space. */
    EXPECT_REFUSED(mpipool_map_async(pool, square64, in, sizeof *in, out, sizeof *out,
                                     SIZE_MAX / 4, NULL, &job), MPIPOOL_EOVERFLOW);
    EXPECT_REFUSED(mpipool_map_async(pool, not_registered, in, sizeof *in, out, sizeof *out, NB, NULL,
                                     &job), MPIPOOL_ENOTREG);
    EXPECT_REFUSED(mpipool_apply_async(pool, square64, NULL, sizeof *in, out, sizeof *out, &job),
                   MPIPOOL_EINVAL);
    assert_contains(mpipool_last_error(pool), "mpipool_apply_async");
    EXPECT_REFUSED(mpipool_apply_async(pool, square64, in, sizeof *in, NULL, sizeof *out, &job), MPIPOOL_EINVAL);
    EXPECT_REFUSED(mpipool_apply_async(pool, not_registered, in, sizeof *in, out, sizeof *out, &job),
                   MPIPOOL_ENOTREG);
    job = stale;
    int rc = mpipool_map_async(NULL, square64, in, sizeof *in, out, sizeof *out, NB, NULL, &job);
    if (rc != MPIPOOL_EINVAL && rc != MPIPOOL_ECLOSED)
        fail_msg("map_async on a NULL pool returned %s", mpipool_err_name(rc));
    assert_null(job);
#undef EXPECT_REFUSED
    /* No place to put the job. */
    assert_rc(pool, mpipool_map_async(pool, square64, in, sizeof *in, out, sizeof *out, NB, NULL, NULL),
              MPIPOOL_EINVAL);
    assert_rc(pool, mpipool_apply_async(pool, square64, in, sizeof *in, out, sizeof *out, NULL),
              MPIPOOL_EINVAL);
    /* Nothing ran. */
    assert_true(untouched(out, sizeof out));
    pool_still_works();
}

static void test_empty_job(void **state) {
    (void)state;
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_map_async(pool, square64, NULL, sizeof(int64_t), NULL, sizeof(int64_t), 0,
                                      NULL, &job), MPIPOOL_OK);
    assert_non_null(job);
    assert_int_equal(mpipool_ready(job), 1);
    assert_rc(pool, mpipool_wait(job, 0.0), MPIPOOL_OK);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    /* Also with a static schedule and real (unused) arrays. */
    int64_t in[1] = {3}, out[1] = {-1};
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.schedule = MPIPOOL_SCHEDULE_STATIC;
    assert_rc(pool, mpipool_map_async(pool, square64, in, sizeof *in, out, sizeof *out, 0, &o, &job),
              MPIPOOL_OK);
    assert_int_equal(mpipool_ready(job), 1);
    assert_rc(pool, mpipool_wait(job, 0.0), MPIPOOL_OK);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    assert_int_equal(out[0], -1);
    pool_still_works();
}

int main(int argc, char **argv) {
    int single = harness_init_maybe_single(&argc, &argv), provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    threaded = provided == MPI_THREAD_MULTIPLE;
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    const char *name = single ? "test_async single" : "test_async";
    if (harness_world_rank() == 0)
        printf("%s: MPI thread level %s\n", name, threaded ? "MPI_THREAD_MULTIPLE" : "below MULTIPLE");

    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish(name);

    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_map_async_matches_map),
            cmocka_unit_test(test_apply_async),
            cmocka_unit_test(test_jobs_in_flight),
            cmocka_unit_test(test_wait_timeout_loses_nothing),
            cmocka_unit_test(test_ready_polling),
            cmocka_unit_test(test_background_progress),
            cmocka_unit_test(test_job_free_cancels),
            cmocka_unit_test(test_null_job),
            cmocka_unit_test(test_async_bad_arguments),
            cmocka_unit_test(test_empty_job),
        };
        if (cmocka_run_group_tests_name("async", tests, NULL, NULL) != 0) harness_failed = 1;

        /* mpipool_close waits for the jobs still in flight (close + join). */
        enum { NL = 2000 };
        static int64_t in[NL], out[NL];
        for (int i = 0; i < NL; i++) in[i] = i;
        memset(out, FILL, sizeof out);
        mpipool_job *job = NULL;
        CHECK_RC(mpipool_map_async(pool, square64, in, sizeof *in, out, sizeof *out, NL, NULL, &job),
                 MPIPOOL_OK);
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
        int bad = 0;
        for (int i = 0; i < NL; i++) bad += out[i] != (int64_t)i * i;
        CHECK(bad == 0);
        /* The handle outlives the pool: its verdict, then free it. */
        CHECK_RC(mpipool_wait(job, 0.0), MPIPOOL_OK);
        CHECK(mpipool_ready(job) == 1);
        CHECK_RC(mpipool_job_free(job), MPIPOOL_OK);
        /* On a closed pool nothing is accepted. */
        job = (mpipool_job *)(void *)in;
        CHECK_RC(mpipool_map_async(pool, square64, in, sizeof *in, out, sizeof *out, NL, NULL, &job),
                 MPIPOOL_ECLOSED);
        CHECK(job == NULL);
    } else {
        /* Submitting is for the master: refused locally, before serving. */
        int64_t in[4] = {1, 2, 3, 4}, out[4] = {0};
        mpipool_job *job = (mpipool_job *)(void *)in;
        CHECK_RC(mpipool_map_async(pool, square64, in, sizeof *in, out, sizeof *out, 4, NULL, &job),
                 MPIPOOL_ENOTMASTER);
        CHECK(job == NULL);
        job = (mpipool_job *)(void *)in;
        CHECK_RC(mpipool_apply_async(pool, square64, in, sizeof *in, out, sizeof *out, &job),
                 MPIPOOL_ENOTMASTER);
        CHECK(job == NULL);
        CHECK(out[0] == 0);
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish(name);
}
