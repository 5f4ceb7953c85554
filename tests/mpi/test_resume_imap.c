/*
 * test_resume_imap.c — journal and resume of mpipool_imap, at 1, 2 and 4
 * ranks, ordered (a small window) and unordered: run 1 stops early (the
 * sink stops it, or the source fails), run 2 on a copy of its journal (a
 * copy: maps are numbered per journal file within a program) delivers every
 * item exactly once (ordered: in order), byte-identical to a clean run, and
 * runs no item whose result was journalled (every execution appends its
 * index to a log shared by the ranks of this job); failed items are not
 * journalled and run again; a map's journal, or another task's, is refused
 * with MPIPOOL_EJOURNAL.
 */
#include <fcntl.h>
#include <unistd.h>
#include "harness.h"
#include "journal.h"

enum { N = 1200 };
static mpipool *pool;
static char err[1024];

/* Rank 0's PID, the same on every rank (broadcast in main): names the log
 * every rank of this job appends to, on whatever host it runs (the test
 * hosts of tests/cluster share /tmp). */
static long log_id;

static void exec_log_path(char *buf, size_t sz) {
    snprintf(buf, sz, "/tmp/mpipool_test_rimap_%ld.exec", log_id);
}

static int rimap_task(mpipool_task *t) {
    uint64_t x;
    memcpy(&x, t->in, 8);
    char path[256];
    exec_log_path(path, sizeof path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
        if (write(fd, &x, 8) != 8) {}
        close(fd);
    }
    if (x % 97 == 13) return mpipool_task_fail(t, "x = %llu", (unsigned long long)x);
    uint64_t h = mpipool__hash(t->in, t->in_size);
    size_t size = 16 + (size_t)(x % 11) * 5;
    unsigned char *o = mpipool_task_output(t, size);
    if (o == NULL) return 1;
    memcpy(o, &x, 8);
    memcpy(o + 8, &h, 8);
    for (size_t i = 16; i < size; i++) o[i] = (unsigned char)(x * 31 + i);
    return 0;
}
MPIPOOL_TASK(rimap_task);

static int other_task(mpipool_task *t) { return rimap_task(t); }
MPIPOOL_TASK(other_task);

typedef struct {
    unsigned char buf[64];
    size_t fail_at; /* return -1 at this index (SIZE_MAX: never) */
    size_t calls;
} src_t;

static int src_next(void *ctx, size_t index, mpipool_buf *item) {
    src_t *s = ctx;
    if (index >= N) return 0;
    if (index == s->fail_at) return -1;
    s->calls++;
    uint64_t x = index;
    memcpy(s->buf, &x, 8);
    size_t size = 8 + (index % 7) * 3;
    for (size_t i = 8; i < size; i++) s->buf[i] = (unsigned char)(index + i);
    *item = (mpipool_buf){s->buf, size};
    return 1;
}

typedef struct {
    mpipool_buf res[N];
    int status[N];
    unsigned seen[N];
    size_t delivered, stop_after, last;
    int in_order;
} sink_t;

static int sink_put(void *ctx, size_t index, const void *result, size_t size, int status, const char *msg) {
    (void)msg;
    sink_t *k = ctx;
    if (index >= N) return 1;
    if (k->delivered > 0 && index != k->last + 1) k->in_order = 0;
    if (k->delivered == 0 && index != 0) k->in_order = 0;
    k->last = index;
    k->seen[index]++;
    k->status[index] = status;
    free(k->res[index].data);
    k->res[index].data = size ? malloc(size) : NULL;
    if (size) memcpy(k->res[index].data, result, size);
    k->res[index].size = size;
    k->delivered++;
    return k->stop_after && k->delivered >= k->stop_after;
}

static sink_t *sink_new(size_t stop_after) {
    sink_t *k = calloc(1, sizeof *k);
    assert_non_null(k);
    k->stop_after = stop_after;
    k->in_order = 1;
    return k;
}

static void sink_free(sink_t *k) {
    for (size_t i = 0; i < N; i++) free(k->res[i].data);
    free(k);
}

static int run(mpipool_fn fn, const char *journal, int unordered, size_t fail_at, sink_t *k) {
    src_t s = {{0}, fail_at, 0};
    mpipool_source so = {src_next, &s};
    mpipool_sink si = {sink_put, k};
    mpipool_imap_options o = MPIPOOL_IMAP_OPTIONS_INIT;
    o.unordered = unordered;
    o.window = unordered ? 0 : 64;
    o.journal = journal;
    return mpipool_imap(pool, fn, &so, &si, &o);
}

/* Executions logged since the last call (and the log emptied). */
static void take_execs(unsigned *count) {
    char path[256];
    exec_log_path(path, sizeof path);
    memset(count, 0, N * sizeof *count);
    FILE *f = fopen(path, "rb");
    if (f) {
        uint64_t x;
        while (fread(&x, 8, 1, f) == 1) {
            assert_true(x < N);
            count[x]++;
        }
        fclose(f);
    }
    unlink(path);
}

static size_t read_file(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t len = fread(buf, 1, cap, f);
    fclose(f);
    return len;
}

static void copy_file(const char *from, const char *to) {
    static char buf[4 << 20];
    size_t len = read_file(from, buf, sizeof buf);
    assert_true(len < sizeof buf);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static int mark_piece(void *ctx, uint64_t first, uint64_t count, size_t chunk) {
    (void)chunk;
    unsigned char *j = ctx;
    for (uint64_t i = first; i < first + count; i++) {
        assert_true(i < N && !j[i]);
        j[i] = 1;
    }
    return 0;
}

/* Which items of imap #0 of the journal at `path` have a result. */
static size_t journalled(const char *path, unsigned char *j) {
    static char buf[4 << 20];
    size_t len = read_file(path, buf, sizeof buf), n = 0;
    mpipool__journal *jr;
    memset(j, 0, N);
    if (mpipool__journal_open_mem(buf, len, &jr, err, sizeof err) != MPIPOOL_OK) fail_msg("%s", err);
    if (mpipool__journal_pieces(jr, 0, mark_piece, j, err, sizeof err) != MPIPOOL_OK) fail_msg("%s", err);
    mpipool__journal_close(jr);
    for (size_t i = 0; i < N; i++) n += j[i];
    return n;
}

static void jpath(char *buf, size_t sz, const char *tag) {
    snprintf(buf, sz, "/tmp/mpipool_test_rimap_%ld_%s.jnl", (long)getpid(), tag);
    unlink(buf);
}

static void resume_case(int unordered) {
    char p1[256], p2[256];
    jpath(p1, sizeof p1, unordered ? "u1" : "o1");
    jpath(p2, sizeof p2, unordered ? "u2" : "o2");
    static unsigned execs[N];
    static unsigned char jd[N];
    take_execs(execs);

    /* A clean run: every item once; items x % 97 == 13 fail. */
    sink_t *clean = sink_new(0);
    assert_rc(pool, run(rimap_task, "", unordered, SIZE_MAX, clean), MPIPOOL_ETASK);
    take_execs(execs);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(clean->seen[i], 1);
        assert_int_equal(execs[i], 1);
        assert_int_equal(clean->status[i], i % 97 == 13 ? MPIPOOL_ETASK : MPIPOOL_OK);
    }
    if (!unordered) assert_true(clean->in_order);

    /* Run 1 stops early: ordered, the sink after 400 items; unordered, the
     * source at item 700. */
    sink_t *k1 = sink_new(unordered ? 0 : 400);
    assert_rc(pool, run(rimap_task, p1, unordered, unordered ? 700 : SIZE_MAX, k1), MPIPOOL_ECANCELED);
    take_execs(execs);
    size_t nj = journalled(p1, jd);
    assert_true(nj >= (unordered ? 600 : 390) && nj < N);
    for (size_t i = 0; i < N; i++) {
        if (jd[i]) assert_true(execs[i] == 1 && i % 97 != 13); /* failed items are not journalled */
    }
    sink_free(k1);

    /* Run 2 on (a copy of) that journal: every item once, as in the clean
     * run; no journalled item runs again. */
    copy_file(p1, p2);
    sink_t *k2 = sink_new(0);
    assert_rc(pool, run(rimap_task, p2, unordered, SIZE_MAX, k2), MPIPOOL_ETASK);
    take_execs(execs);
    size_t ran = 0;
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(k2->seen[i], 1);
        assert_int_equal(k2->status[i], clean->status[i]);
        assert_int_equal(execs[i], jd[i] ? 0 : 1);
        ran += execs[i];
        if (clean->status[i] == MPIPOOL_OK) {
            assert_int_equal(k2->res[i].size, clean->res[i].size);
            assert_memory_equal(k2->res[i].data, clean->res[i].data, clean->res[i].size);
        }
    }
    assert_int_equal(ran, N - nj);
    if (!unordered) assert_true(k2->in_order);
    /* Now only the failed items are missing from it. */
    assert_int_equal(journalled(p2, jd), N - (N / 97 + (N % 97 > 13)));
    sink_free(k2);

    /* The same journal for another task: refused before anything runs. */
    char p3[256];
    jpath(p3, sizeof p3, unordered ? "u3" : "o3");
    copy_file(p1, p3);
    sink_t *k3 = sink_new(0);
    assert_rc(pool, run(other_task, p3, unordered, SIZE_MAX, k3), MPIPOOL_EJOURNAL);
    assert_contains(mpipool_last_error(pool), "belongs to another job");
    assert_contains(mpipool_last_error(pool), "other_task");
    assert_int_equal(k3->delivered, 0);
    take_execs(execs);
    for (size_t i = 0; i < N; i++) assert_int_equal(execs[i], 0);
    sink_free(k3);
    sink_free(clean);
    unlink(p1);
    unlink(p2);
    unlink(p3);
}

static void test_resume_ordered(void **state) {
    (void)state;
    resume_case(0);
}

static void test_resume_unordered(void **state) {
    (void)state;
    resume_case(1);
}

/* A map's journal used for an imap, and an imap's for a map. */
static void test_foreign(void **state) {
    (void)state;
    char p[256], q[256];
    static unsigned execs[N];
    jpath(p, sizeof p, "map");
    jpath(q, sizeof q, "imap");
    take_execs(execs);
    uint64_t in[16];
    mpipool_buf out[16];
    for (size_t i = 0; i < 16; i++) in[i] = i + 20; /* none fails */
    mpipool_map_options mo = MPIPOOL_MAP_OPTIONS_INIT;
    mo.journal = p;
    assert_rc(pool, mpipool_map(pool, rimap_task, in, sizeof *in, out, MPIPOOL_VARIABLE, 16, &mo), MPIPOOL_OK);
    for (size_t i = 0; i < 16; i++) free(out[i].data);
    char p2[256];
    jpath(p2, sizeof p2, "map2");
    copy_file(p, p2);
    sink_t *k = sink_new(0);
    assert_rc(pool, run(rimap_task, p2, 0, SIZE_MAX, k), MPIPOOL_EJOURNAL);
    assert_contains(mpipool_last_error(pool), "mpipool_imap");
    assert_contains(mpipool_last_error(pool), "over a stream (mpipool_imap)");
    assert_contains(mpipool_last_error(pool), "over 16 items");
    assert_int_equal(k->delivered, 0);
    sink_free(k);

    k = sink_new(0);
    assert_rc(pool, run(rimap_task, q, 1, SIZE_MAX, k), MPIPOOL_ETASK);
    sink_free(k);
    char q2[256];
    jpath(q2, sizeof q2, "imap2");
    copy_file(q, q2);
    mo.journal = q2;
    assert_rc(pool, mpipool_map(pool, rimap_task, in, sizeof *in, out, MPIPOOL_VARIABLE, 16, &mo), MPIPOOL_EJOURNAL);
    assert_contains(mpipool_last_error(pool), "over a stream (mpipool_imap)");
    take_execs(execs);
    unlink(p);
    unlink(p2);
    unlink(q);
    unlink(q2);
}

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    log_id = (long)getpid();
    MPI_Bcast(&log_id, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_resume_imap");
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_resume_ordered),
            cmocka_unit_test(test_resume_unordered),
            cmocka_unit_test(test_foreign),
        };
        if (cmocka_run_group_tests_name("resume_imap", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish("test_resume_imap");
}
