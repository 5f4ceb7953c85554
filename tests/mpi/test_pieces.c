/*
 * test_pieces.c — messages larger than the pool's piece size are sent in
 * pieces (Open MPI 4.1 has no large-count calls, so a > 2 GiB message
 * cannot be one call).  Run with MPIPOOL_PIECE_BYTES=1000 (set by CTest),
 * so items of a few KiB exercise every split path while the test stays
 * small: fixed items and results, chunks of many small items, variable
 * sizes, imap, static mode's fallback, and mpipool_broadcast.
 *
 * The test interposes MPI_Send, MPI_Isend and MPI_Bcast (the PMPI
 * profiling interface) to record the largest message the library sends,
 * and every rank checks it never exceeds the piece size — so a pass means
 * the splitting really happened, not just that results were right.
 */
#include "harness.h"

#define PIECE 1000
#define BIG_IN 3000
#define BIG_OUT 5000

static long long largest; /* bytes, this rank */
static int largest_tag = -1, largest_dest = -1; /* of that message, for the report */

static void record(int count, MPI_Datatype dt, int dest, int tag) {
    int size = 0;
    PMPI_Type_size(dt, &size);
    long long bytes = (long long)count * size;
    if (bytes > largest) {
        largest = bytes;
        largest_tag = tag;
        largest_dest = dest;
    }
}

int MPI_Send(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm) {
    record(count, dt, dest, tag);
    return PMPI_Send(buf, count, dt, dest, tag, comm);
}

int MPI_Isend(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm,
              MPI_Request *req) {
    record(count, dt, dest, tag);
    return PMPI_Isend(buf, count, dt, dest, tag, comm, req);
}

int MPI_Bcast(void *buf, int count, MPI_Datatype dt, int root, MPI_Comm comm) {
    record(count, dt, root, -1);
    return PMPI_Bcast(buf, count, dt, root, comm);
}

typedef struct { unsigned char b[BIG_IN]; } big_in;
typedef struct { unsigned char b[BIG_OUT]; } big_out;

static unsigned char pattern(size_t item, size_t k) { return (unsigned char)(item * 31 + k * 7 + 1); }

/* Fixed big item -> fixed bigger result derived from every input byte. */
static int widen(mpipool_task *t) {
    const big_in *x = t->in;
    big_out *y = t->out;
    for (size_t k = 0; k < BIG_OUT; k++) y->b[k] = (unsigned char)(x->b[k % BIG_IN] ^ 0x5a);
    return 0;
}
MPIPOOL_TASK(widen);

static int square(mpipool_task *t) {
    int x = *(const int *)t->in;
    *(int *)t->out = x * x;
    return 0;
}
MPIPOOL_TASK(square);

/* Variable: the result is the item reversed, twice. */
static int rev2(mpipool_task *t) {
    const unsigned char *x = t->in;
    unsigned char *y = mpipool_task_output(t, 2 * t->in_size);
    if (y == NULL) return mpipool_task_fail(t, "no room");
    for (size_t k = 0; k < t->in_size; k++) y[k] = y[t->in_size + k] = x[t->in_size - 1 - k];
    return 0;
}
MPIPOOL_TASK(rev2);

static mpipool *pool;

static void test_fixed_big_items(void **state) {
    (void)state;
    enum { N = 40 };
    big_in *in = malloc(N * sizeof *in);
    big_out *out = malloc(N * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < BIG_IN; k++) in[i].b[k] = pattern(i, k);
    assert_rc(pool, mpipool_map(pool, widen, in, sizeof *in, out, sizeof *out, N, NULL), MPIPOOL_OK);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < BIG_OUT; k++)
            if (out[i].b[k] != (unsigned char)(pattern(i, k % BIG_IN) ^ 0x5a))
                fail_msg("item %zu byte %zu wrong", i, k);
    free(in);
    free(out);
}

static void test_many_small_items(void **state) {
    (void)state;
    enum { N = 5000 };
    static int in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 700; /* 2800-byte chunks: over the piece */
    assert_rc(pool, mpipool_map(pool, square, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    for (int i = 0; i < N; i++) assert_int_equal(out[i], i * i);
    /* Static mode cannot send a share in pieces: it must fall back, still right. */
    memset(out, 0, sizeof out);
    o.schedule = MPIPOOL_SCHEDULE_STATIC;
    o.chunk_size = 0;
    assert_rc(pool, mpipool_map(pool, square, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    for (int i = 0; i < N; i++) assert_int_equal(out[i], i * i);
}

static void test_variable(void **state) {
    (void)state;
    enum { N = 60 };
    mpipool_buf in[N], out[N];
    unsigned char *store = malloc((size_t)N * 2500);
    assert_non_null(store);
    for (size_t i = 0; i < N; i++) {
        in[i].data = store + i * 2500;
        in[i].size = (i * 97) % 2500; /* 0 .. 2499 bytes */
        for (size_t k = 0; k < in[i].size; k++) store[i * 2500 + k] = pattern(i, k);
    }
    assert_rc(pool, mpipool_map(pool, rev2, in, MPIPOOL_VARIABLE, out, MPIPOOL_VARIABLE, N, NULL), MPIPOOL_OK);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(out[i].size, 2 * in[i].size);
        const unsigned char *y = out[i].data;
        for (size_t k = 0; k < in[i].size; k++) {
            assert_int_equal(y[k], pattern(i, in[i].size - 1 - k));
            assert_int_equal(y[in[i].size + k], pattern(i, in[i].size - 1 - k));
        }
        free(out[i].data);
    }
    free(store);
}

typedef struct {
    size_t n;
    unsigned char item[2000];
} src_ctx;

static int src_next(void *ctx, size_t index, mpipool_buf *item) {
    src_ctx *s = ctx;
    if (index >= s->n) return 0;
    for (size_t k = 0; k < sizeof s->item; k++) s->item[k] = pattern(index, k);
    item->data = s->item;
    item->size = sizeof s->item;
    return 1;
}

typedef struct {
    size_t next, bad;
} sink_ctx;

static int sink_put(void *ctx, size_t index, const void *result, size_t size, int status, const char *msg) {
    sink_ctx *k = ctx;
    (void)msg;
    const unsigned char *y = result;
    if (index != k->next++ || status != MPIPOOL_OK || size != 4000) {
        k->bad++;
        return 0;
    }
    for (size_t b = 0; b < 2000; b++)
        if (y[b] != pattern(index, 1999 - b)) {
            k->bad++;
            break;
        }
    return 0;
}

static void test_imap(void **state) {
    (void)state;
    src_ctx s = {50, {0}};
    sink_ctx k = {0, 0};
    mpipool_source so = {src_next, &s};
    mpipool_sink si = {sink_put, &k};
    assert_rc(pool, mpipool_imap(pool, rev2, &so, &si, NULL), MPIPOOL_OK);
    assert_int_equal(k.next, 50);
    assert_int_equal(k.bad, 0);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    const char *env = getenv("MPIPOOL_PIECE_BYTES");
    int rank = harness_world_rank();
    if (rank == 0 && (env == NULL || atoi(env) != PIECE)) {
        fprintf(stderr, "test_pieces: run with MPIPOOL_PIECE_BYTES=%d (CTest sets it)\n", PIECE);
        harness_failed = 1;
    }
    CHECK_RC(mpipool_open_comm(&pool, MPI_COMM_WORLD), MPIPOOL_OK);
    if (pool == NULL) return harness_finish("test_pieces");

    /* A broadcast of 10 kB: pieces on every rank, identical everywhere. */
    enum { B = 10000 };
    unsigned char *data = malloc(B);
    for (size_t k = 0; k < B; k++) data[k] = pattern(3, k);
    CHECK_RC(mpipool_broadcast(pool, "blob", rank == 0 ? data : NULL, rank == 0 ? B : 0), MPIPOOL_OK);
    size_t got = 0;
    const unsigned char *blob = mpipool_shared(pool, "blob", &got);
    CHECK(blob != NULL && got == B && memcmp(blob, data, B) == 0);
    free(data);

    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fixed_big_items),
            cmocka_unit_test(test_many_small_items),
            cmocka_unit_test(test_variable),
            cmocka_unit_test(test_imap),
        };
        if (cmocka_run_group_tests_name("pieces", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    /* The point of it all: nothing this rank sent was bigger than a piece. */
    if (largest > PIECE) {
        fprintf(stderr, "[rank %d] largest message %lld bytes > piece %d (tag %d to rank %d)\n", rank, largest,
                PIECE, largest_tag, largest_dest);
        harness_failed = 1;
    }
    if (rank == 0) printf("largest message on rank 0: %lld bytes\n", largest);
    return harness_finish("test_pieces");
}
