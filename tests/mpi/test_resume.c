/*
 * test_resume.c — journal and resume inside one program, at 1, 2 and 4
 * ranks: several maps (dynamic, static, variable, apply, async) in one
 * journal; resuming from a journal a previous run left (made here with the
 * journal writer), where journalled items must not run again — results
 * carry a stamp, 7 in the journal and 1 when a task runs, so a rerun shows;
 * a foreign or corrupted journal refused with MPIPOOL_EJOURNAL before
 * anything runs; MPIPOOL_JOURNAL and its "" override; failed items not
 * journalled.  (journal_kill.sh covers killed jobs.)
 */
#include <unistd.h>
#include "harness.h"
#include "journal.h"

static mpipool *pool;
static char err[1024];

typedef struct {
    uint64_t value, stamp;
} res_t;

static int tj_sq(mpipool_task *t) {
    uint64_t x = *(const uint64_t *)t->in;
    res_t r = {x * x + 1, 1};
    memcpy(t->out, &r, sizeof r);
    return 0;
}
MPIPOOL_TASK(tj_sq);

static int tj_fail(mpipool_task *t) {
    uint64_t x = *(const uint64_t *)t->in;
    if (x % 10 == 3) return mpipool_task_fail(t, "x = %llu", (unsigned long long)x);
    return tj_sq(t);
}
MPIPOOL_TASK(tj_fail);

/* "1" then "v<x>" x % 3 times: the leading byte is the stamp. */
static int tj_var(mpipool_task *t) {
    uint64_t x = *(const uint64_t *)t->in;
    char one[32];
    int len = snprintf(one, sizeof one, "v%llu", (unsigned long long)x);
    size_t size = 1 + (size_t)len * (x % 3);
    char *o = mpipool_task_output(t, size);
    if (o == NULL) return 1;
    o[0] = '1';
    for (size_t i = 0; i + 1 < size; i++) o[1 + i] = one[i % (size_t)len];
    return 0;
}
MPIPOOL_TASK(tj_var);

static void jpath(char *buf, size_t sz, const char *tag) {
    snprintf(buf, sz, "/tmp/mpipool_test_resume_%ld_%s.jnl", (long)getpid(), tag);
    unlink(buf);
}

/* Items journalled per map in the file at `path` (read as bytes: the
 * library holds the file's lock). */
typedef struct {
    size_t count[8];
    unsigned char seen[8][256];
} census;

static int count_item(void *ctx, uint64_t index, const void *data, size_t size) {
    (void)data;
    (void)size;
    census *c = ctx;
    if (index < 256) c->seen[c->count[7]][index] = 1;
    c->count[c->count[7]]++;
    return 0;
}

static size_t take_census(const char *path, census *c) {
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    mpipool__journal *j;
    if (mpipool__journal_open_mem(buf, len, &j, err, sizeof err) != MPIPOOL_OK) fail_msg("%s", err);
    size_t maps = mpipool__journal_nmaps(j);
    for (uint64_t s = 0; s < maps && s < 7; s++) {
        c->count[7] = (size_t)s;
        if (mpipool__journal_replay(j, s, NULL, count_item, c, err, sizeof err) != MPIPOOL_OK) fail_msg("%s", err);
    }
    c->count[7] = 0;
    mpipool__journal_close(j);
    return maps;
}

static void test_several_maps(void **state) {
    (void)state;
    enum { N = 200 };
    char path[256];
    jpath(path, sizeof path, "several");
    uint64_t in[N];
    res_t out[N], st[N], one;
    mpipool_buf vout[N];
    for (size_t i = 0; i < N; i++) in[i] = i + 5;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = path;
    o.chunk_size = 7;
    assert_rc(pool, mpipool_map(pool, tj_sq, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    o.schedule = MPIPOOL_SCHEDULE_STATIC;
    assert_rc(pool, mpipool_map(pool, tj_sq, in, sizeof *in, st, sizeof *st, N, &o), MPIPOOL_OK);
    o.schedule = MPIPOOL_SCHEDULE_DYNAMIC;
    assert_rc(pool, mpipool_map(pool, tj_var, in, sizeof *in, vout, MPIPOOL_VARIABLE, N, &o), MPIPOOL_OK);
    assert_rc(pool, mpipool_apply(pool, tj_sq, &in[3], sizeof in[3], &one, sizeof one), MPIPOOL_OK); /* env-free: not journalled */
    for (size_t i = 0; i < N; i++) {
        assert_true(out[i].value == in[i] * in[i] + 1 && out[i].stamp == 1);
        assert_true(st[i].value == out[i].value);
        char one_text[32];
        size_t len = (size_t)snprintf(one_text, sizeof one_text, "v%llu", (unsigned long long)in[i]);
        assert_int_equal(vout[i].size, 1 + len * (in[i] % 3));
        assert_true(((char *)vout[i].data)[0] == '1');
        free(vout[i].data);
    }
    census c;
    assert_int_equal(take_census(path, &c), 3);
    assert_int_equal(c.count[0], N);
    assert_int_equal(c.count[1], N);
    assert_int_equal(c.count[2], N);
    unlink(path);
}

/* The journal a previous run of "map #0: tj_sq over n items" left behind:
 * items [0, half) and [60, 70) but 65, stamped 7. */
static void premade(const char *path, const uint64_t *in, size_t n, uint64_t out_size, const char *fn) {
    mpipool__journal *j;
    if (mpipool__journal_open(path, &j, err, sizeof err) != MPIPOOL_OK) fail_msg("%s", err);
    mpipool__jkey k = {0, n, 8, out_size, mpipool__hash(in, n * 8), fn, NULL};
    assert_int_equal(mpipool__journal_begin(j, &k, err, sizeof err), 0);
    res_t r[100];
    mpipool_buf v[100];
    char text[100][4];
    for (size_t i = 0; i < 100 && i < n; i++) {
        r[i] = (res_t){in[i] * in[i] + 1, 7};
        snprintf(text[i], sizeof text[i], "7%02zu", i);
        v[i] = (mpipool_buf){text[i], 3};
    }
    uint64_t failed[] = {65};
    int var = out_size == UINT64_MAX;
    assert_int_equal(mpipool__journal_append_chunk(j, 0, 0, n / 2, out_size, var ? NULL : r, var ? v : NULL, NULL, 0,
                                                   err, sizeof err), MPIPOOL_OK);
    assert_int_equal(mpipool__journal_append_chunk(j, 0, 60, 10, out_size, var ? NULL : r + 60, var ? v + 60 : NULL,
                                                   failed, 1, err, sizeof err), MPIPOOL_OK);
    mpipool__journal_close(j);
}

static int journalled(size_t i, size_t n) { return i < n / 2 || (i >= 60 && i < 70 && i != 65); }

static void resume_fixed(mpipool_schedule schedule, const char *tag) {
    enum { N = 100 };
    char path[256];
    jpath(path, sizeof path, tag);
    uint64_t in[N];
    res_t out[N];
    int status[N];
    for (size_t i = 0; i < N; i++) in[i] = 3 * i + 1;
    premade(path, in, N, sizeof(res_t), "tj_sq");
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = path;
    o.schedule = schedule;
    o.status = status;
    o.chunk_size = 3;
    memset(out, 0, sizeof out);
    assert_rc(pool, mpipool_map(pool, tj_sq, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    for (size_t i = 0; i < N; i++) {
        if (out[i].value != in[i] * in[i] + 1) fail_msg("item %zu: %llu", i, (unsigned long long)out[i].value);
        uint64_t want = journalled(i, N) ? 7 : 1;
        if (out[i].stamp != want) fail_msg("item %zu: stamp %llu, want %llu", i, (unsigned long long)out[i].stamp,
                                           (unsigned long long)want);
        assert_int_equal(status[i], MPIPOOL_OK);
    }
    /* Now the journal holds every item, once or (65: failed, then run) more. */
    census c;
    assert_int_equal(take_census(path, &c), 1);
    for (size_t i = 0; i < N; i++) assert_true(c.seen[0][i]);
    assert_int_equal(c.count[0], N);
    unlink(path);
}

static void test_resume_dynamic(void **state) {
    (void)state;
    resume_fixed(MPIPOOL_SCHEDULE_DYNAMIC, "dyn");
}

static void test_resume_static(void **state) {
    (void)state;
    resume_fixed(MPIPOOL_SCHEDULE_STATIC, "static");
}

static void test_resume_variable(void **state) {
    (void)state;
    enum { N = 100 };
    char path[256];
    jpath(path, sizeof path, "var");
    uint64_t in[N];
    mpipool_buf out[N];
    for (size_t i = 0; i < N; i++) in[i] = i;
    premade(path, in, N, UINT64_MAX, "tj_var");
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = path;
    assert_rc(pool, mpipool_map(pool, tj_var, in, sizeof *in, out, MPIPOOL_VARIABLE, N, &o), MPIPOOL_OK);
    for (size_t i = 0; i < N; i++) {
        const char *d = out[i].data;
        if (journalled(i, N)) {
            char want[4];
            snprintf(want, sizeof want, "7%02zu", i);
            assert_int_equal(out[i].size, 3);
            assert_memory_equal(d, want, 3);
        } else {
            assert_true(out[i].size >= 1 && d[0] == '1');
        }
        free(out[i].data);
    }
    unlink(path);
}

static void test_foreign_and_corrupt(void **state) {
    (void)state;
    enum { N = 100 };
    char path[256];
    jpath(path, sizeof path, "foreign");
    uint64_t in[N];
    res_t out[N];
    for (size_t i = 0; i < N; i++) in[i] = i;
    premade(path, in, N, sizeof(res_t), "tj_fail"); /* another task */
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = path;
    memset(out, 0, sizeof out);
    assert_rc(pool, mpipool_map(pool, tj_sq, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_EJOURNAL);
    assert_contains(mpipool_last_error(pool), "mpipool_map");
    assert_contains(mpipool_last_error(pool), path);
    assert_contains(mpipool_last_error(pool), "belongs to another job");
    assert_contains(mpipool_last_error(pool), "tj_fail");
    for (size_t i = 0; i < N; i++) assert_true(out[i].stamp == 0); /* nothing ran */
    /* Other inputs, same task: another job too. */
    in[5] = 12345;
    unlink(path);
    in[5] = 5;
    premade(path, in, N, sizeof(res_t), "tj_sq");
    in[5] = 12345;
    mpipool_job *job = NULL;
    assert_rc(pool, mpipool_map_async(pool, tj_sq, in, sizeof *in, out, sizeof *out, N, &o, &job), MPIPOOL_EJOURNAL);
    assert_null(job);
    assert_contains(mpipool_last_error(pool), "mpipool_map_async");
    /* Corrupted. */
    unlink(path);
    FILE *f = fopen(path, "w");
    fputs("MPJR but not really a journal at all, just some text", f);
    fclose(f);
    assert_rc(pool, mpipool_map(pool, tj_sq, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_EJOURNAL);
    assert_contains(mpipool_last_error(pool), path);
    /* The pool is still fine. */
    o.journal = "";
    assert_rc(pool, mpipool_map(pool, tj_sq, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    assert_true(out[7].value == 50);
    unlink(path);
}

static void test_environment(void **state) {
    (void)state;
    enum { N = 50 };
    char path[256];
    jpath(path, sizeof path, "env");
    uint64_t in[N];
    res_t out[N];
    for (size_t i = 0; i < N; i++) in[i] = i;
    setenv("MPIPOOL_JOURNAL", path, 1);
    assert_rc(pool, mpipool_map(pool, tj_sq, in, sizeof *in, out, sizeof *out, N, NULL), MPIPOOL_OK);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = ""; /* not this one */
    assert_rc(pool, mpipool_map(pool, tj_sq, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    /* Two jobs in flight on the same journal; failed items are left out. */
    res_t a[N], b[N];
    mpipool_job *ja = NULL, *jb = NULL;
    assert_rc(pool, mpipool_map_async(pool, tj_sq, in, sizeof *in, a, sizeof *a, N, NULL, &ja), MPIPOOL_OK);
    assert_rc(pool, mpipool_map_async(pool, tj_fail, in, sizeof *in, b, sizeof *b, N, NULL, &jb), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(ja, -1), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(jb, -1), MPIPOOL_ETASK);
    mpipool_job_free(ja);
    mpipool_job_free(jb);
    unsetenv("MPIPOOL_JOURNAL");
    census c;
    assert_int_equal(take_census(path, &c), 3);
    assert_int_equal(c.count[0], N);
    assert_int_equal(c.count[1], N);
    assert_int_equal(c.count[2], N - N / 10);
    for (size_t i = 0; i < N; i++) assert_int_equal(c.seen[2][i], in[i] % 10 != 3);
    unlink(path);
}

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_resume");
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_several_maps),   cmocka_unit_test(test_resume_dynamic),
            cmocka_unit_test(test_resume_static),  cmocka_unit_test(test_resume_variable),
            cmocka_unit_test(test_foreign_and_corrupt), cmocka_unit_test(test_environment),
        };
        if (cmocka_run_group_tests_name("resume", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish("test_resume");
}
