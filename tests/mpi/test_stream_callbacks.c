/*
 * test_stream_callbacks.c — an imap's source and sink run without the
 * engine's lock (issue 15: "the user's source/sink callbacks must not run
 * under the engine lock").
 *
 * 1. test_query_from_callbacks: a blocking imap (ordered, then unordered)
 *    whose source and sink call mpipool_ready on a pull imap that cannot
 *    finish yet (its reader has not read: its window is full), and
 *    mpipool_wait(job, 0).  Before, at 2 and 4 ranks, the first such call
 *    took the engine's lock, already held by the same thread around the
 *    callback: a deadlock, caught by the TIMEOUT.  Now they answer (0, and
 *    MPIPOOL_ETIMEDOUT), and every result still reaches the sink once, in
 *    order for the ordered stream.  The calls that would wait for the stream
 *    calling them (mpipool_wait with a timeout, mpipool_map, mpipool_imap,
 *    mpipool_job_free) are refused with MPIPOOL_EINVAL instead of hanging,
 *    mpipool_close with MPIPOOL_EBUSY; mpipool_stats answers.
 * 2. test_source_lock_order (2 and 4 ranks, with a progress thread): a pull
 *    imap's source runs on the progress thread and takes a lock L of the
 *    program's; the main thread holds L while it calls
 *    mpipool_imap_next(job, &r, 0).  Before, the source waited for L while
 *    holding the engine's lock, and imap_next waited for the engine's lock
 *    while holding L: a deadlock (TIMEOUT).  Now imap_next returns
 *    MPIPOOL_ETIMEDOUT at once, the main thread lets L go, and the stream
 *    ends with every result.  The order of events is forced with a
 *    condition variable, not with sleeps.
 */
#include <pthread.h>
#include "harness.h"

static mpipool *pool;
static int world_size;

static int plus_one(mpipool_task *t) {
    uint64_t v = 0;
    memcpy(&v, t->in, sizeof v);
    v++;
    void *out = mpipool_task_output(t, sizeof v);
    if (out == NULL) return mpipool_task_fail(t, "no room");
    memcpy(out, &v, sizeof v);
    return 0;
}
MPIPOOL_TASK(plus_one);

/* The same for fixed sizes (mpipool_map_async). */
static int add_one(mpipool_task *t) {
    *(uint64_t *)t->out = *(const uint64_t *)t->in + 1;
    return 0;
}
MPIPOOL_TASK(add_one);

typedef struct {
    size_t n;
    uint64_t cur;
    mpipool_job *other; /* a pull imap that cannot finish during the stream */
    size_t bad_calls;   /* pool calls inside the callbacks that answered wrongly */
    pthread_mutex_t *lock; /* test 2: taken on every call */
    pthread_mutex_t *mu;   /* ... and `entered` signalled under mu */
    pthread_cond_t *cv;
    int entered;
} source_state;

typedef struct {
    size_t calls, next, bad;
    int unordered;
    unsigned char *seen;
    mpipool_job *other; /* the pull imap above */
    mpipool_job *async; /* a map_async job */
    size_t bad_calls;
} sink_state;

static int source_next(void *ctx, size_t index, mpipool_buf *item) {
    source_state *s = ctx;
    if (s->mu) {
        pthread_mutex_lock(s->mu);
        s->entered = 1;
        pthread_cond_broadcast(s->cv);
        pthread_mutex_unlock(s->mu);
        pthread_mutex_lock(s->lock); /* held by the main thread at first */
        pthread_mutex_unlock(s->lock);
    }
    if (s->other && mpipool_ready(s->other) != 0) s->bad_calls++;
    if (index >= s->n) return 0;
    s->cur = index;
    item->data = &s->cur;
    item->size = sizeof s->cur;
    return 1;
}

/* The calls a sink must not make are refused, not left to hang. */
static void refused_calls(sink_state *k) {
    uint64_t in = 1, out = 0;
    mpipool_source so = {source_next, NULL};
    if (mpipool_wait(k->async, -1) != MPIPOOL_EINVAL) k->bad_calls++;
    if (mpipool_wait(k->async, 0.5) != MPIPOOL_EINVAL) k->bad_calls++;
    if (mpipool_map(pool, plus_one, &in, sizeof in, &out, MPIPOOL_VARIABLE, 1, NULL) != MPIPOOL_EINVAL) k->bad_calls++;
    if (mpipool_imap(pool, plus_one, &so, NULL, NULL) != MPIPOOL_EINVAL) k->bad_calls++;
    if (mpipool_job_free(k->other) != MPIPOOL_EINVAL) k->bad_calls++;
    if (strstr(mpipool_last_error(NULL), "source or sink") == NULL) k->bad_calls++;
    if (mpipool_close(pool) != MPIPOOL_EBUSY) k->bad_calls++; /* the stream's call is still inside */
    mpipool_pool_stats st;
    if (mpipool_stats(pool, &st) != MPIPOOL_OK) k->bad_calls++;
}

static int sink_put(void *ctx, size_t index, const void *result, size_t size, int status, const char *message) {
    sink_state *k = ctx;
    uint64_t v = 0;
    (void)message;
    if (status != MPIPOOL_OK || size != sizeof v) {
        k->bad++;
        return 0;
    }
    memcpy(&v, result, sizeof v);
    if (v != index + 1 || k->seen[index]++ || (!k->unordered && index != k->next)) k->bad++;
    k->next = index + 1;
    if (mpipool_ready(k->other) != 0) k->bad_calls++;
    int w = mpipool_wait(k->async, 0); /* just looks */
    if (w != MPIPOOL_OK && w != MPIPOOL_ETIMEDOUT) k->bad_calls++;
    if (k->calls++ == 3) refused_calls(k);
    return 0;
}

/* A pull imap of 3 items with a window of 1, not read: it cannot finish.
 * (`so` must outlive the job.) */
static mpipool_job *stuck_imap(const mpipool_source *so) {
    mpipool_imap_options o = MPIPOOL_IMAP_OPTIONS_INIT;
    o.window = 1;
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_imap_start(pool, plus_one, so, &o, &job), MPIPOOL_OK);
    return job;
}

static void read_all(mpipool_job *job, size_t n) {
    mpipool_imap_result r;
    int rc;
    size_t k = 0;
    while ((rc = mpipool_imap_next(job, &r, -1)) == MPIPOOL_OK) {
        uint64_t v = 0;
        if (r.size == sizeof v) memcpy(&v, r.data, sizeof v);
        if (r.index != k || v != k + 1) fail_msg("pull result %zu: index %zu, value %llu", k, r.index,
                                                 (unsigned long long)v);
        k++;
    }
    assert_rc(pool, rc, MPIPOOL_EOF);
    if (k != n) fail_msg("%zu pull results of %zu", k, n);
    assert_rc(pool, mpipool_job_free(job), MPIPOOL_OK);
}

static void test_query_from_callbacks(void **state) {
    (void)state;
    for (int unordered = 0; unordered <= 1; unordered++) {
        source_state other_src = {.n = 3};
        mpipool_source other_so = {source_next, &other_src};
        mpipool_job *other = stuck_imap(&other_so);
        const size_t n = 2000;
        source_state src = {.n = n, .other = other};
        uint64_t in[4] = {1, 2, 3, 4}, out[4] = {0};
        mpipool_job *async = NULL;
        assert_rc(pool, mpipool_map_async(pool, add_one, in, sizeof in[0], out, sizeof out[0], 4, NULL, &async),
                  MPIPOOL_OK);
        sink_state snk = {.unordered = unordered, .other = other, .async = async, .seen = calloc(n, 1)};
        assert_non_null(snk.seen);
        mpipool_source so = {source_next, &src};
        mpipool_sink si = {sink_put, &snk};
        mpipool_imap_options o = MPIPOOL_IMAP_OPTIONS_INIT;
        o.unordered = unordered;
        o.chunk_size = 16;
        assert_rc(pool, mpipool_imap(pool, plus_one, &so, &si, &o), MPIPOOL_OK);
        if (snk.calls != n || snk.bad) fail_msg("unordered %d: %zu results of %zu, %zu wrong", unordered, snk.calls, n,
                                                snk.bad);
        if (src.bad_calls || snk.bad_calls)
            fail_msg("unordered %d: pool calls from the source (%zu) or the sink (%zu) answered wrongly", unordered,
                     src.bad_calls, snk.bad_calls);
        free(snk.seen);
        read_all(other, 3);
        assert_rc(pool, mpipool_wait(async, -1), MPIPOOL_OK);
        if (out[0] != 2 || out[3] != 5) fail_msg("map_async: %llu, %llu", (unsigned long long)out[0],
                                                 (unsigned long long)out[3]);
        assert_rc(pool, mpipool_job_free(async), MPIPOOL_OK);
    }
}

static void test_source_lock_order(void **state) {
    (void)state;
    int provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    /* One rank runs the stream inside the calls (the source would wait for
     * the lock its own thread holds); without threads there is no progress
     * thread to run the source. */
    if (world_size == 1 || provided < MPI_THREAD_SERIALIZED) skip();
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER, mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    const size_t n = 50;
    source_state src = {.n = n, .lock = &lock, .mu = &mu, .cv = &cv};
    mpipool_source so = {source_next, &src};
    mpipool_job *job = NULL;
    mpipool_imap_result r;
    pthread_mutex_lock(&lock);
    assert_rc(pool, mpipool_imap_start(pool, plus_one, &so, NULL, &job), MPIPOOL_OK);
    pthread_mutex_lock(&mu);
    while (!src.entered) pthread_cond_wait(&cv, &mu); /* the source is in, waiting for `lock` */
    pthread_mutex_unlock(&mu);
    int rc = mpipool_imap_next(job, &r, 0);
    pthread_mutex_unlock(&lock);
    assert_rc(pool, rc, MPIPOOL_ETIMEDOUT);
    read_all(job, n);
}

int main(int argc, char **argv) {
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &(int){0});
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    int rc = mpipool_open(&pool, &argc, &argv);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_stream_callbacks");
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_query_from_callbacks),
            cmocka_unit_test(test_source_lock_order),
        };
        if (cmocka_run_group_tests_name("stream_callbacks", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish("test_stream_callbacks");
}
