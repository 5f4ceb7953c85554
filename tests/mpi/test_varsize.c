/*
 * test_varsize.c — mpipool_map with items and/or results of any length
 * (MPIPOOL_VARIABLE): every combination of fixed and variable sizes gives
 * the results the task computes, in input order; empty items and results,
 * items of ~1 MiB; failed items leave {NULL, 0}; mpipool_map_async with
 * variable sizes; a NULL item with a size is refused; and what
 * mpipool_task_output() returns for fixed-size results.
 *
 * Every result is a function of the item's index and bytes, so the master
 * computes what each one must be without trusting the library.
 */
#include "harness.h"

static mpipool *pool;
static int world_size;

/* ---- the data, computable on any rank ----------------------------------- */

enum { MIB = 1 << 20 };

/* A fixed-size item: what the variable-size item i would hold, in 16 bytes. */
typedef struct {
    uint64_t index;
    uint32_t seed;
    uint32_t pad;
} spec;

/* A fixed-size result. */
typedef struct {
    uint64_t hash;
    uint64_t in_size;
    uint64_t index;
} summary;

/* Variable-size item i: 0..300 bytes, and ~1 MiB for i % 250 == 125. */
static size_t var_in_len(size_t i) { return i % 250 == 125 ? MIB + i : (i * 53) % 301; }
static unsigned char item_byte(size_t i, size_t j) { return (unsigned char)(i * 31 + j * 7 + 1); }

static uint64_t hash_bytes(size_t i, const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (int k = 0; k < 8; k++) h = (h ^ (unsigned char)(i >> (8 * k))) * 1099511628211ull;
    for (size_t j = 0; j < n; j++) h = (h ^ p[j]) * 1099511628211ull;
    return h;
}

/* Variable-size result of item i with an in_size-byte item: empty for
 * i % 6 == 0 (no room asked for at all when i % 12 == 0), ~1 MiB for
 * i % 97 == 50, else 0..300 bytes. */
static size_t var_out_len(size_t i, size_t in_size) {
    if (i % 6 == 0) return 0;
    if (i % 97 == 50) return MIB + i;
    return (in_size * 5 + i) % 301;
}
static unsigned char result_byte(uint64_t h, size_t j) {
    return (unsigned char)((h >> (8 * (j % 8))) + j * 13);
}

/* ---- tasks ---------------------------------------------------------------- */

static int compute(mpipool_task *t, int fail_some) {
    size_t i = t->index;
    uint64_t h = hash_bytes(i, t->in, t->in_size);
    if (t->out != NULL) {
        /* A fixed-size result: the map preset room for it. */
        if (t->out_size != sizeof(summary)) return mpipool_task_fail(t, "out_size %zu", t->out_size);
        summary *s = t->out;
        s->hash = h;
        s->in_size = t->in_size;
        s->index = i;
        if (fail_some && i % 5 == 3) return mpipool_task_fail(t, "item %zu fails", i);
        return 0;
    }
    if (t->out_size != 0) return mpipool_task_fail(t, "variable out_size preset to %zu", t->out_size);
    if (fail_some && i % 5 == 3) {
        /* Write a result, then fail: the result must not reach the caller. */
        unsigned char *o = mpipool_task_output(t, 10);
        if (o) memset(o, 0x77, 10);
        return mpipool_task_fail(t, "item %zu fails", i);
    }
    if (i % 12 == 0) return 0; /* never asks for room: an empty result */
    if (i % 7 == 1 && mpipool_task_output(t, SIZE_MAX) != NULL)
        return mpipool_task_fail(t, "room for SIZE_MAX bytes");
    size_t n = var_out_len(i, t->in_size);
    unsigned char *o = mpipool_task_output(t, n);
    if (o == NULL) return mpipool_task_fail(t, "no room for %zu bytes", n);
    for (size_t j = 0; j < n; j++) o[j] = result_byte(h, j);
    return 0;
}

static int shape(mpipool_task *t) { return compute(t, 0); }
MPIPOOL_TASK(shape);

static int shape_or_fail(mpipool_task *t) { return compute(t, 1); }
MPIPOOL_TASK(shape_or_fail);

/* What mpipool_task_output() gives for a fixed-size result. */
enum { PROBE_BIG_NULL = 1, PROBE_EQ = 2, PROBE_ZERO = 4, PROBE_SMALL = 8, PROBE_HUGE_NULL = 16 };
static int probe_fixed(mpipool_task *t) {
    void *out = t->out;
    size_t size = t->out_size;
    uint32_t flags = 0;
    if (mpipool_task_output(t, size + 1) == NULL) flags |= PROBE_BIG_NULL;
    if (mpipool_task_output(t, SIZE_MAX) == NULL) flags |= PROBE_HUGE_NULL;
    if (mpipool_task_output(t, 0) == out) flags |= PROBE_ZERO;
    if (mpipool_task_output(t, size / 2) == out) flags |= PROBE_SMALL;
    if (mpipool_task_output(t, size) == out) flags |= PROBE_EQ;
    if (size < 8) return mpipool_task_fail(t, "out_size %zu", size);
    memcpy(out, &flags, sizeof flags);
    uint32_t idx = (uint32_t)t->index;
    memcpy((char *)out + 4, &idx, sizeof idx);
    return 0;
}
MPIPOOL_TASK(probe_fixed);

/* ---- building inputs and checking outputs -------------------------------- */

typedef struct {
    size_t n;
    spec *fixed;        /* n spec items                                     */
    mpipool_buf *var;   /* n variable items (var_in_len bytes)              */
    mpipool_buf *as16;  /* n variable items holding the spec bytes          */
    mpipool_buf *vout;  /* n variable results                               */
    summary *sout;      /* n fixed results                                  */
} data;

static void data_make(data *d, size_t n) {
    memset(d, 0, sizeof *d);
    d->n = n;
    size_t m = n ? n : 1;
    d->fixed = calloc(m, sizeof *d->fixed);
    d->var = calloc(m, sizeof *d->var);
    d->as16 = calloc(m, sizeof *d->as16);
    d->vout = calloc(m, sizeof *d->vout);
    d->sout = calloc(m, sizeof *d->sout);
    assert_true(d->fixed && d->var && d->as16 && d->vout && d->sout);
    for (size_t i = 0; i < n; i++) {
        d->fixed[i] = (spec){i, (uint32_t)(i * 2654435761u), 0};
        d->as16[i] = (mpipool_buf){&d->fixed[i], sizeof d->fixed[i]};
        size_t len = var_in_len(i);
        unsigned char *p = len ? malloc(len) : NULL;
        if (len) assert_non_null(p);
        for (size_t j = 0; j < len; j++) p[j] = item_byte(i, j);
        d->var[i] = (mpipool_buf){p, len};
    }
}

static void free_results(data *d) {
    for (size_t i = 0; i < d->n; i++) {
        free(d->vout[i].data);
        d->vout[i] = (mpipool_buf){NULL, 0};
    }
}

static void data_free(data *d) {
    free_results(d);
    for (size_t i = 0; i < d->n; i++) free(d->var[i].data);
    free(d->fixed);
    free(d->var);
    free(d->as16);
    free(d->vout);
    free(d->sout);
}

/* Garbage the map must overwrite. */
static void poison(data *d) {
    static char sentinel;
    for (size_t i = 0; i < d->n; i++) d->vout[i] = (mpipool_buf){&sentinel, 12345};
    memset(d->sout, 0xCD, (d->n ? d->n : 1) * sizeof *d->sout);
}

static const mpipool_buf *items_of(const data *d, int var_in) { return var_in ? d->var : d->as16; }

/* The result item i must have, given its bytes. */
static void check_var_result(size_t i, const mpipool_buf *item, const mpipool_buf *r, int failed) {
    if (failed) {
        if (r->data != NULL || r->size != 0)
            fail_msg("failed item %zu: result {%p, %zu}, want {NULL, 0}", i, r->data, r->size);
        return;
    }
    size_t n = var_out_len(i, item->size);
    if (r->size != n) fail_msg("item %zu: result of %zu bytes, want %zu", i, r->size, n);
    if (n == 0) {
        if (r->data != NULL) fail_msg("item %zu: empty result with data %p, want NULL", i, r->data);
        return;
    }
    if (r->data == NULL) fail_msg("item %zu: NULL data for %zu bytes", i, n);
    uint64_t h = hash_bytes(i, item->data, item->size);
    const unsigned char *p = r->data;
    for (size_t j = 0; j < n; j++)
        if (p[j] != result_byte(h, j)) fail_msg("item %zu: byte %zu of %zu wrong", i, j, n);
}

static void check_summary(size_t i, const mpipool_buf *item, const summary *s) {
    uint64_t h = hash_bytes(i, item->data, item->size);
    if (s->hash != h || s->in_size != item->size || s->index != i)
        fail_msg("item %zu: summary {hash %llx, in_size %llu, index %llu}, want {%llx, %zu, %zu}", i,
                 (unsigned long long)s->hash, (unsigned long long)s->in_size,
                 (unsigned long long)s->index, (unsigned long long)h, item->size, i);
}

/* One map of `d` with in/out fixed or variable; check every result. */
static void map_and_check(data *d, int var_in, int var_out, size_t chunk, mpipool_schedule sched) {
    poison(d);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = chunk;
    o.schedule = sched;
    const void *in = var_in ? (const void *)d->var : (const void *)d->fixed;
    size_t in_size = var_in ? MPIPOOL_VARIABLE : sizeof(spec);
    void *out = var_out ? (void *)d->vout : (void *)d->sout;
    size_t out_size = var_out ? MPIPOOL_VARIABLE : sizeof(summary);
    assert_rc(pool, mpipool_map(pool, shape, in, in_size, out, out_size, d->n, &o), MPIPOOL_OK);
    const mpipool_buf *items = items_of(d, var_in);
    for (size_t i = 0; i < d->n; i++) {
        if (var_out)
            check_var_result(i, &items[i], &d->vout[i], 0);
        else
            check_summary(i, &items[i], &d->sout[i]);
    }
    if (var_out) free_results(d);
}

static void all_combinations(size_t n, size_t chunk) {
    data d;
    data_make(&d, n);
    for (int var_in = 0; var_in < 2; var_in++)
        for (int var_out = 0; var_out < 2; var_out++)
            map_and_check(&d, var_in, var_out, chunk, MPIPOOL_SCHEDULE_DYNAMIC);
    data_free(&d);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_combinations(void **state) {
    (void)state;
    all_combinations(1000, 0);
}

static void test_small_maps(void **state) {
    (void)state;
    for (size_t n = 1; n <= (size_t)world_size + 2; n++) all_combinations(n, 0);
    /* One item per chunk, with a 1 MiB item (125) and 1 MiB results (50, 147). */
    all_combinations(200, 1);
}

static void test_chunk_sizes(void **state) {
    (void)state;
    all_combinations(600, 1);
    all_combinations(600, 7);
    all_combinations(600, 1000);
}

/* Variable-size maps run dynamically whatever the schedule asked. */
static void test_static_schedule(void **state) {
    (void)state;
    data d;
    data_make(&d, 300);
    map_and_check(&d, 1, 1, 0, MPIPOOL_SCHEDULE_STATIC);
    map_and_check(&d, 1, 0, 0, MPIPOOL_SCHEDULE_STATIC);
    map_and_check(&d, 0, 1, 0, MPIPOOL_SCHEDULE_STATIC);
    data_free(&d);
}

/* The same bytes give the same results, whether items are fixed or variable. */
static void test_variable_matches_fixed(void **state) {
    (void)state;
    const size_t n = 777;
    data d;
    data_make(&d, n);
    summary *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
    mpipool_buf *va = calloc(n, sizeof *va), *vb = calloc(n, sizeof *vb);
    assert_true(a && b && va && vb);
    assert_rc(pool, mpipool_map(pool, shape, d.fixed, sizeof(spec), a, sizeof *a, n, NULL), MPIPOOL_OK);
    assert_rc(pool, mpipool_map(pool, shape, d.as16, MPIPOOL_VARIABLE, b, sizeof *b, n, NULL), MPIPOOL_OK);
    assert_memory_equal(a, b, n * sizeof *a);
    assert_rc(pool, mpipool_map(pool, shape, d.fixed, sizeof(spec), va, MPIPOOL_VARIABLE, n, NULL), MPIPOOL_OK);
    assert_rc(pool, mpipool_map(pool, shape, d.as16, MPIPOOL_VARIABLE, vb, MPIPOOL_VARIABLE, n, NULL),
              MPIPOOL_OK);
    for (size_t i = 0; i < n; i++) {
        check_summary(i, &d.as16[i], &a[i]);
        check_var_result(i, &d.as16[i], &va[i], 0);
        if (va[i].size != vb[i].size || (va[i].size && memcmp(va[i].data, vb[i].data, va[i].size) != 0))
            fail_msg("item %zu: fixed and variable items give different results", i);
        free(va[i].data);
        free(vb[i].data);
    }
    free(a);
    free(b);
    free(va);
    free(vb);
    data_free(&d);
}

static void test_empty_map(void **state) {
    (void)state;
    assert_rc(pool, mpipool_map(pool, shape, NULL, MPIPOOL_VARIABLE, NULL, MPIPOOL_VARIABLE, 0, NULL),
              MPIPOOL_OK);
    assert_rc(pool, mpipool_map(pool, shape, NULL, MPIPOOL_VARIABLE, NULL, sizeof(summary), 0, NULL),
              MPIPOOL_OK);
    assert_rc(pool, mpipool_map(pool, shape, NULL, sizeof(spec), NULL, MPIPOOL_VARIABLE, 0, NULL),
              MPIPOOL_OK);
}

/* Empty items ({NULL, 0} and {p, 0}) are items like any other. */
static void test_empty_items(void **state) {
    (void)state;
    const size_t n = 50;
    mpipool_buf in[50], out[50];
    char byte = 'x';
    for (size_t i = 0; i < n; i++) in[i] = (mpipool_buf){i % 2 ? &byte : NULL, 0};
    assert_rc(pool, mpipool_map(pool, shape, in, MPIPOOL_VARIABLE, out, MPIPOOL_VARIABLE, n, NULL), MPIPOOL_OK);
    for (size_t i = 0; i < n; i++) {
        check_var_result(i, &in[i], &out[i], 0);
        free(out[i].data);
    }
}

/* Failed items: {NULL, 0} in out, status and message; the others correct. */
static void test_failures(void **state) {
    (void)state;
    const size_t n = 400;
    data d;
    data_make(&d, n);
    int *status = malloc(n * sizeof *status);
    char **messages = malloc(n * sizeof *messages);
    assert_true(status && messages);
    for (int var_in = 0; var_in < 2; var_in++) {
        poison(&d);
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.status = status;
        o.messages = messages;
        const void *in = var_in ? (const void *)d.var : (const void *)d.fixed;
        size_t in_size = var_in ? MPIPOOL_VARIABLE : sizeof(spec);
        assert_rc(pool, mpipool_map(pool, shape_or_fail, in, in_size, d.vout, MPIPOOL_VARIABLE, n, &o),
                  MPIPOOL_ETASK);
        assert_true(harness_names_item(mpipool_last_error(pool), 3));
        const mpipool_buf *items = items_of(&d, var_in);
        for (size_t i = 0; i < n; i++) {
            int fail = i % 5 == 3;
            check_var_result(i, &items[i], &d.vout[i], fail);
            assert_int_equal(status[i], fail ? MPIPOOL_ETASK : MPIPOOL_OK);
            if (fail) {
                char want[64];
                snprintf(want, sizeof want, "item %zu fails", i);
                assert_non_null(messages[i]);
                assert_string_equal(messages[i], want);
            } else {
                assert_null(messages[i]);
            }
            free(messages[i]);
        }
        free_results(&d);
    }
    free(status);
    free(messages);
    data_free(&d);
}

/* Two variable-size jobs in flight at once, waited for in reverse order. */
static void test_map_async(void **state) {
    (void)state;
    data d1, d2;
    data_make(&d1, 500);
    data_make(&d2, 300);
    poison(&d1);
    poison(&d2);
    mpipool_job *j1 = NULL, *j2 = NULL;
    assert_rc(pool,
              mpipool_map_async(pool, shape, d1.var, MPIPOOL_VARIABLE, d1.vout, MPIPOOL_VARIABLE, d1.n, NULL, &j1),
              MPIPOOL_OK);
    assert_rc(pool,
              mpipool_map_async(pool, shape, d2.fixed, sizeof(spec), d2.vout, MPIPOOL_VARIABLE, d2.n, NULL, &j2),
              MPIPOOL_OK);
    assert_non_null(j1);
    assert_non_null(j2);
    assert_rc(pool, mpipool_wait(j2, -1.0), MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(j1, -1.0), MPIPOOL_OK);
    assert_int_equal(mpipool_ready(j1), 1);
    assert_rc(pool, mpipool_job_free(j1), MPIPOOL_OK);
    assert_rc(pool, mpipool_job_free(j2), MPIPOOL_OK);
    for (size_t i = 0; i < d1.n; i++) check_var_result(i, &d1.var[i], &d1.vout[i], 0);
    for (size_t i = 0; i < d2.n; i++) check_var_result(i, &d2.as16[i], &d2.vout[i], 0);

    /* A failing variable-size job reports ETASK and {NULL, 0} for its failures.
     * The first job's results are ours to free before d1.vout is reused. */
    free_results(&d1);
    poison(&d1);
    mpipool_job *j3 = NULL;
    assert_rc(pool,
              mpipool_map_async(pool, shape_or_fail, d1.var, MPIPOOL_VARIABLE, d1.vout, MPIPOOL_VARIABLE, d1.n,
                                NULL, &j3),
              MPIPOOL_OK);
    assert_rc(pool, mpipool_wait(j3, -1.0), MPIPOOL_ETASK);
    assert_rc(pool, mpipool_job_free(j3), MPIPOOL_OK);
    for (size_t i = 0; i < d1.n; i++) check_var_result(i, &d1.var[i], &d1.vout[i], i % 5 == 3);
    data_free(&d1);
    data_free(&d2);
}

/* An item with a size but no data is refused before anything runs. */
static void test_null_data(void **state) {
    (void)state;
    const size_t n = 20;
    data d;
    data_make(&d, n);
    for (int k = 0; k < 3; k++) {
        size_t bad = k == 0 ? 0 : k == 1 ? 7 : n - 1;
        mpipool_buf saved = d.var[bad];
        d.var[bad] = (mpipool_buf){NULL, 5};
        assert_rc(pool, mpipool_map(pool, shape, d.var, MPIPOOL_VARIABLE, d.vout, MPIPOOL_VARIABLE, n, NULL),
                  MPIPOOL_EINVAL);
        assert_rc(pool, mpipool_map(pool, shape, d.var, MPIPOOL_VARIABLE, d.sout, sizeof(summary), n, NULL),
                  MPIPOOL_EINVAL);
        mpipool_job *job = (mpipool_job *)&d; /* must come back NULL */
        assert_rc(pool,
                  mpipool_map_async(pool, shape, d.var, MPIPOOL_VARIABLE, d.vout, MPIPOOL_VARIABLE, n, NULL, &job),
                  MPIPOOL_EINVAL);
        assert_null(job);
        d.var[bad] = saved;
    }
    /* The pool is still usable. */
    map_and_check(&d, 1, 1, 0, MPIPOOL_SCHEDULE_DYNAMIC);
    data_free(&d);
}

static void check_probe(const unsigned char *out, size_t out_size, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t flags, idx;
        memcpy(&flags, out + i * out_size, 4);
        memcpy(&idx, out + i * out_size + 4, 4);
        if (idx != i || flags != (PROBE_BIG_NULL | PROBE_EQ | PROBE_ZERO | PROBE_SMALL | PROBE_HUGE_NULL))
            fail_msg("item %zu (out_size %zu): index %u, probe flags 0x%x, want 0x1f", i, out_size, idx, flags);
    }
}

/* mpipool_task_output on a fixed-size result: task->out when it fits. */
static void test_task_output_fixed(void **state) {
    (void)state;
    const size_t sizes[] = {8, 24, 1000};
    for (size_t k = 0; k < 3; k++) {
        size_t out_size = sizes[k], n = 100;
        int32_t in[100];
        for (size_t i = 0; i < n; i++) in[i] = (int32_t)i;
        unsigned char *out = calloc(n, out_size);
        assert_non_null(out);
        assert_rc(pool, mpipool_map(pool, probe_fixed, in, sizeof *in, out, out_size, n, NULL), MPIPOOL_OK);
        check_probe(out, out_size, n);
        memset(out, 0, n * out_size);
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.schedule = MPIPOOL_SCHEDULE_STATIC;
        assert_rc(pool, mpipool_map(pool, probe_fixed, in, sizeof *in, out, out_size, n, &o), MPIPOOL_OK);
        check_probe(out, out_size, n);
        memset(out, 0, out_size);
        assert_rc(pool, mpipool_apply(pool, probe_fixed, in, sizeof *in, out, out_size), MPIPOOL_OK);
        check_probe(out, out_size, 1);
        free(out);
    }
}

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    int wrank = harness_world_rank();

    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "[rank %d] open: %s\n", wrank, mpipool_last_error(NULL));
        return harness_finish("test_varsize");
    }
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_combinations),
            cmocka_unit_test(test_small_maps),
            cmocka_unit_test(test_chunk_sizes),
            cmocka_unit_test(test_static_schedule),
            cmocka_unit_test(test_variable_matches_fixed),
            cmocka_unit_test(test_empty_map),
            cmocka_unit_test(test_empty_items),
            cmocka_unit_test(test_failures),
            cmocka_unit_test(test_map_async),
            cmocka_unit_test(test_null_data),
            cmocka_unit_test(test_task_output_fixed),
        };
        if (cmocka_run_group_tests_name("varsize", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    return harness_finish("test_varsize");
}
