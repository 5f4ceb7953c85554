/*
 * test_callbacks.c — callback / error_callback on async jobs
 * (mpipool_map_async_cb, mpipool_apply_async_cb), as CPython's
 * _test_multiprocessing checks them (test_map_async_callbacks,
 * test_async_error_callback): a job that succeeds calls `callback` once
 * and never `error_callback`; a failing one the reverse, with the error.
 *
 * What is checked, each time by counting calls (so "twice" or "never"
 * fails): exactly one call per job, of the right one, with the job's rc
 * and message and its results already in `out`; on the pool's callback
 * thread (the same thread for every callback, never the caller's);
 * mpipool_wait and mpipool_ready report a job only after its callback
 * returned; the callback runs without the engine's lock (a callback that
 * waits for a blocking map of the main thread to finish would otherwise
 * wait for ever: it gives up after 20 s and the test fails); a refused
 * submission never calls either; a job freed while running gets exactly
 * one call; a callback calling mpipool on its job or pool (wait, free,
 * close, submit, imap_next) is refused with MPIPOOL_EINVAL instead of
 * deadlocking; mpipool_close returns only after every callback.
 *
 * By default MPI is initialised with MPI_THREAD_MULTIPLE (a progress
 * thread); with the argument "single", plain MPI_Init: the same must hold.
 * No sleep synchronises anything: the waits are condition variables with
 * a 20 s bound, and the only other delay is tasks' and callbacks' work.
 * Costs about 1 s per rank count.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>
#include "harness.h"

static mpipool *pool;
static int world_size;
static pthread_t main_thread;

static int twice(mpipool_task *t) {
    int64_t x = *(const int64_t *)t->in;
    if (x < 0) return mpipool_task_fail(t, "negative value %lld", (long long)x);
    *(int64_t *)t->out = 2 * x;
    return 0;
}
MPIPOOL_TASK(twice);

/* 200 ms of work: long enough to still be running when freed. */
static int slow_twice(mpipool_task *t) {
    struct timespec ts = {0, 200L * 1000 * 1000};
    while (nanosleep(&ts, &ts) != 0) {}
    *(int64_t *)t->out = 2 * *(const int64_t *)t->in;
    return 0;
}
MPIPOOL_TASK(slow_twice);

static int not_registered(mpipool_task *t) {
    (void)t;
    return 0;
}

/* What the callbacks saw, for one job. */
typedef struct {
    int ok_calls, err_calls; /* written by the callback thread, read after wait */
    int rc;
    char message[256];
    int64_t first_out, last_out; /* out[0] and out[n-1] as the callback saw them */
    const int64_t *out;
    size_t n;
    pthread_t thread;
    mpipool_job *job;   /* the job the callback was given */
    int finished_work;  /* set at the end of the callback, after its work */
} seen;

static void record(seen *s, mpipool_job *job, int rc, const char *message) {
    s->rc = rc;
    snprintf(s->message, sizeof s->message, "%s", message ? message : "(null)");
    s->thread = pthread_self();
    s->job = job;
    if (s->out && s->n) {
        s->first_out = s->out[0];
        s->last_out = s->out[s->n - 1];
    }
    /* ~20 ms of work, so a wait that did not wait for the callback would
     * see finished_work still 0. */
    volatile uint64_t h = 1;
    double t0 = MPI_Wtime();
    while (MPI_Wtime() - t0 < 0.02) h = h * 6364136223846793005ULL + 1;
    s->finished_work = 1;
}

static void on_ok(mpipool_job *job, int rc, const char *message, void *arg) {
    seen *s = arg;
    s->ok_calls++;
    record(s, job, rc, message);
}

static void on_err(mpipool_job *job, int rc, const char *message, void *arg) {
    seen *s = arg;
    s->err_calls++;
    record(s, job, rc, message);
}

static mpipool_callbacks cbs_for(seen *s) {
    mpipool_callbacks c = MPIPOOL_CALLBACKS_INIT;
    c.callback = on_ok;
    c.error_callback = on_err;
    c.arg = s;
    return c;
}

static pthread_t callback_thread; /* of the first callback seen */
static int callback_thread_known;

static void check_thread(const seen *s) {
    assert_false(pthread_equal(s->thread, main_thread));
    if (!callback_thread_known) {
        callback_thread = s->thread;
        callback_thread_known = 1;
    }
    assert_true(pthread_equal(s->thread, callback_thread)); /* one thread per pool */
}

/* map_async with callbacks, all items fine: callback once, with the results there. */
static void test_map_callback(void **st) {
    (void)st;
    enum { N = 300 };
    static int64_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    memset(out, 0, sizeof out);
    seen s = {0};
    s.out = out;
    s.n = N;
    mpipool_callbacks c = cbs_for(&s);
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_map_async_cb(pool, twice, in, sizeof *in, out, sizeof *out, N, NULL, &c, &job),
              MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(job, -1), MPIPOOL_OK);
    /* The callback has returned before wait did. */
    assert_int_equal(s.finished_work, 1);
    assert_int_equal(s.ok_calls, 1);
    assert_int_equal(s.err_calls, 0);
    assert_int_equal(s.rc, MPIPOOL_OK);
    assert_string_equal(s.message, "");
    assert_ptr_equal(s.job, job);
    assert_int_equal(s.first_out, 0);
    assert_int_equal(s.last_out, 2 * (N - 1));
    check_thread(&s);
    assert_int_equal(mpipool_ready(job), 1);
    assert_rc(pool, mpipool_wait(job, 0), MPIPOOL_OK); /* again: no second call */
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    assert_int_equal(s.ok_calls + s.err_calls, 1);
}

/* A failing item: error_callback once, with ETASK and the message. */
static void test_map_error_callback(void **st) {
    (void)st;
    enum { N = 40 };
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i == 17 ? -5 : i;
    seen s = {0};
    mpipool_callbacks c = cbs_for(&s);
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_map_async_cb(pool, twice, in, sizeof *in, out, sizeof *out, N, NULL, &c, &job),
              MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(job, -1), MPIPOOL_ETASK);
    assert_int_equal(s.ok_calls, 0);
    assert_int_equal(s.err_calls, 1);
    assert_int_equal(s.rc, MPIPOOL_ETASK);
    assert_contains(s.message, "negative value -5");
    assert_true(harness_names_item(s.message, 17));
    check_thread(&s);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    assert_int_equal(s.err_calls, 1);
}

/* apply_async_cb, polled with mpipool_ready: 1 only once the callback ran. */
static void test_apply_callback_ready(void **st) {
    (void)st;
    int64_t in = 21, out = 0;
    seen s = {0};
    s.out = &out;
    s.n = 1;
    mpipool_callbacks c = cbs_for(&s);
    c.error_callback = NULL; /* either may be NULL */
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_apply_async_cb(pool, twice, &in, sizeof in, &out, sizeof out, &c, &job), MPIPOOL_OK);
    double t0 = MPI_Wtime();
    int r;
    while ((r = mpipool_ready(job)) == 0 && MPI_Wtime() - t0 < 20) {}
    assert_int_equal(r, 1);
    assert_int_equal(s.finished_work, 1);
    assert_int_equal(s.ok_calls, 1);
    assert_int_equal(s.first_out, 42);
    check_thread(&s);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
}

/* Many jobs at once: each callback exactly once, all on one thread. */
static void test_many_jobs(void **st) {
    (void)st;
    enum { J = 12, N = 50 };
    static int64_t in[J][N], out[J][N];
    seen s[J];
    mpipool_callbacks c[J];
    mpipool_job *job[J];
    memset(s, 0, sizeof s);
    for (int k = 0; k < J; k++) {
        for (int i = 0; i < N; i++) in[k][i] = (k == 5 && i == 3) ? -1 : k * 1000 + i;
        c[k] = cbs_for(&s[k]);
        assert_rc(pool, mpipool_map_async_cb(pool, twice, in[k], sizeof(int64_t), out[k], sizeof(int64_t), N, NULL,
                                             &c[k], &job[k]), MPIPOOL_OK);
    }
    for (int k = J - 1; k >= 0; k--) assert_rc(pool, mpipool_wait(job[k], -1), k == 5 ? MPIPOOL_ETASK : MPIPOOL_OK);
    for (int k = 0; k < J; k++) {
        assert_int_equal(s[k].ok_calls, k == 5 ? 0 : 1);
        assert_int_equal(s[k].err_calls, k == 5 ? 1 : 0);
        assert_ptr_equal(s[k].job, job[k]);
        check_thread(&s[k]);
        assert_rc(pool, mpipool_job_free(job[k]), MPIPOOL_OK);
    }
}

/* The callback runs without the engine's lock: it waits for the main
 * thread to finish a blocking map, which needs that lock (at > 1 rank). */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_entered, gate_map_done, gate_gave_up;

static int timed_wait_for(int *flag) { /* with gate_mu held; 0 on time-out */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    while (!*flag)
        if (pthread_cond_timedwait(&gate_cv, &gate_mu, &until) != 0) return *flag;
    return 1;
}

static void on_gate(mpipool_job *job, int rc, const char *message, void *arg) {
    (void)job, (void)rc, (void)message, (void)arg;
    pthread_mutex_lock(&gate_mu);
    gate_entered = 1;
    pthread_cond_broadcast(&gate_cv);
    if (!timed_wait_for(&gate_map_done)) gate_gave_up = 1;
    pthread_mutex_unlock(&gate_mu);
}

static void test_not_under_engine_lock(void **st) {
    (void)st;
    int64_t in = 4, out = 0;
    mpipool_callbacks c = MPIPOOL_CALLBACKS_INIT;
    c.callback = on_gate;
    c.error_callback = on_gate;
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_apply_async_cb(pool, twice, &in, sizeof in, &out, sizeof out, &c, &job), MPIPOOL_OK);
    /* Without a progress thread the job moves only inside mpipool calls:
     * poll with mpipool_ready (0 until the callback returned). */
    int entered = 0;
    double t0 = MPI_Wtime();
    while (!entered && MPI_Wtime() - t0 < 20) {
        assert_int_equal(mpipool_ready(job), 0);
        pthread_mutex_lock(&gate_mu);
        entered = gate_entered;
        pthread_mutex_unlock(&gate_mu);
    }
    assert_true(entered);
    /* The callback is running now.  A blocking map drives the engine. */
    enum { N = 64 };
    int64_t min[N], mout[N];
    for (int i = 0; i < N; i++) min[i] = i;
    assert_rc(pool, mpipool_map(pool, twice, min, sizeof *min, mout, sizeof *mout, N, NULL), MPIPOOL_OK);
    assert_int_equal(mout[N - 1], 2 * (N - 1));
    pthread_mutex_lock(&gate_mu);
    gate_map_done = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    assert_rc(pool, mpipool_wait(job, -1), MPIPOOL_OK);
    assert_int_equal(gate_gave_up, 0);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
}

/* Refused submissions never call back. */
static void test_refused_never_called(void **st) {
    (void)st;
    int64_t in[4] = {1, 2, 3, 4}, out[4];
    seen s = {0};
    mpipool_callbacks c = cbs_for(&s);
    mpipool_job *job = (mpipool_job *)(void *)in;
    c.flags = 1;
    assert_rc(pool, mpipool_map_async_cb(pool, twice, in, sizeof *in, out, sizeof *out, 4, NULL, &c, &job),
              MPIPOOL_EINVAL);
    assert_null(job);
    assert_contains(mpipool_last_error(pool), "callbacks->flags");
    c.flags = 0;
    c.reserved[1] = &s;
    assert_rc(pool, mpipool_apply_async_cb(pool, twice, in, sizeof *in, out, sizeof *out, &c, &job), MPIPOOL_EINVAL);
    assert_null(job);
    c.reserved[1] = NULL;
    assert_rc(pool, mpipool_map_async_cb(pool, NULL, in, sizeof *in, out, sizeof *out, 4, NULL, &c, &job),
              MPIPOOL_EINVAL);
    assert_rc(pool, mpipool_map_async_cb(pool, not_registered, in, sizeof *in, out, sizeof *out, 4, NULL, &c, &job),
              MPIPOOL_ENOTREG);
    assert_rc(pool, mpipool_map_async_cb(pool, twice, NULL, sizeof *in, out, sizeof *out, 4, NULL, &c, &job),
              MPIPOOL_EINVAL);
    assert_rc(pool, mpipool_apply_async_cb(pool, twice, in, sizeof *in, out, sizeof *out, &c, NULL), MPIPOOL_EINVAL);
    assert_null(job);
    /* A job that did go through afterwards, to be sure the thread had its
     * chance to run anything queued before. */
    seen s2 = {0};
    mpipool_callbacks c2 = cbs_for(&s2);
    assert_rc(pool, mpipool_apply_async_cb(pool, twice, in, sizeof *in, out, sizeof *out, &c2, &job), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(job, -1), MPIPOOL_OK);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    assert_int_equal(s2.ok_calls, 1);
    assert_int_equal(s.ok_calls + s.err_calls, 0);
    /* NULL callbacks: as mpipool_map_async. */
    assert_rc(pool, mpipool_apply_async_cb(pool, twice, in, sizeof *in, out, sizeof *out, NULL, &job), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(job, -1), MPIPOOL_OK);
    assert_int_equal(out[0], 2);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
}

/* Freed while running: cancelled, and still exactly one call. */
static void test_free_running_job(void **st) {
    (void)st;
    enum { N = 40 };
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    seen s = {0};
    mpipool_callbacks c = cbs_for(&s);
    mpipool_job *job = NULL;
    /* One rank runs it all inside the call (8 s): only 2 items there. */
    size_t n = world_size == 1 ? 2 : N;
    assert_rc(pool, mpipool_map_async_cb(pool, slow_twice, in, sizeof *in, out, sizeof *out, n, NULL, &c, &job),
              MPIPOOL_OK);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
    assert_int_equal(s.ok_calls + s.err_calls, 1);
    assert_int_equal(s.finished_work, 1);
    if (world_size == 1) assert_int_equal(s.rc, MPIPOOL_OK);
    else assert_int_equal(s.rc, MPIPOOL_ECANCELED);
}

/* A callback that calls mpipool on its own job or pool is refused, never
 * left to wait for itself (wait, free, close) or to free what it runs on. */
static int misuse_rc[5];
static void on_misuse(mpipool_job *job, int rc, const char *message, void *arg) {
    (void)rc, (void)message;
    mpipool_imap_result r;
    int64_t in = 1, out = 0;
    mpipool_job *other = NULL;
    misuse_rc[0] = mpipool_wait(job, -1);
    misuse_rc[1] = mpipool_job_free(job);
    misuse_rc[2] = mpipool_close((mpipool *)arg);
    misuse_rc[3] = mpipool_apply_async(arg, twice, &in, sizeof in, &out, sizeof out, &other);
    misuse_rc[4] = mpipool_imap_next(job, &r, 0);
}

static void test_callback_misuse(void **st) {
    (void)st;
    int64_t in = 3, out = 0;
    mpipool_callbacks c = MPIPOOL_CALLBACKS_INIT;
    c.callback = on_misuse;
    c.error_callback = on_misuse;
    c.arg = pool;
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_apply_async_cb(pool, twice, &in, sizeof in, &out, sizeof out, &c, &job), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(job, -1), MPIPOOL_OK);
    for (int i = 0; i < 5; i++) assert_int_equal(misuse_rc[i], MPIPOOL_EINVAL);
    assert_int_equal(out, 6);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
}

int main(int argc, char **argv) {
    int single = harness_init_maybe_single(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    main_thread = pthread_self();
    const char *name = single ? "test_callbacks single" : "test_callbacks";
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish(name);
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_map_callback),
            cmocka_unit_test(test_map_error_callback),
            cmocka_unit_test(test_apply_callback_ready),
            cmocka_unit_test(test_many_jobs),
            cmocka_unit_test(test_not_under_engine_lock),
            cmocka_unit_test(test_refused_never_called),
            cmocka_unit_test(test_free_running_job),
            cmocka_unit_test(test_callback_misuse),
        };
        if (cmocka_run_group_tests_name("callbacks", tests, NULL, NULL) != 0) harness_failed = 1;
        /* mpipool_close returns after every callback: one still to come. */
        int64_t in = 8, out = 0;
        seen s = {0};
        s.out = &out;
        s.n = 1;
        mpipool_callbacks c = cbs_for(&s);
        mpipool_job *job = NULL;
        CHECK_RC(mpipool_apply_async_cb(pool, twice, &in, sizeof in, &out, sizeof out, &c, &job), MPIPOOL_OK);
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
        CHECK(s.ok_calls == 1 && s.finished_work == 1 && s.first_out == 16);
        CHECK_RC(mpipool_wait(job, 0), MPIPOOL_OK);
        CHECK(s.ok_calls == 1);
        CHECK_RC(mpipool_job_free(job), MPIPOOL_OK);
    } else {
        int64_t in = 1, out = 0;
        mpipool_job *job = (mpipool_job *)(void *)&in;
        mpipool_callbacks c = MPIPOOL_CALLBACKS_INIT;
        CHECK_RC(mpipool_apply_async_cb(pool, twice, &in, sizeof in, &out, sizeof out, &c, &job),
                 MPIPOOL_ENOTMASTER);
        CHECK(job == NULL);
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish(name);
}
