/*
 * test_work_ahead.c — workers post their receive for the master's next
 * chunk ahead, MPIPOOL__WORK_MSG_MAX bytes (worker.c), so the master sends
 * no TAG_WORK larger than that in one message: a larger chunk goes as its
 * header and then pieces (wire.h).  With the default piece size (1 GiB),
 * maps whose chunks are larger (200 KiB), and maps of chunks just under it
 * (40 KiB, which Open MPI and MPICH move by rendezvous, so the next chunk
 * can arrive while the posted receive is still taking the one before it),
 * must give every result in place.
 *
 * The test interposes MPI_Send and MPI_Isend (PMPI) to record, on rank 0,
 * the largest TAG_WORK message and the number of TAG_WPIECE messages: a
 * pass means the big chunks really went in pieces, none whole.
 */
#include "harness.h"
#include "wire.h"

static long long largest_work; /* bytes, rank 0's TAG_WORK messages */
static long wpieces;           /* rank 0's TAG_WPIECE messages */

static void record(int count, MPI_Datatype dt, int tag) {
    int size = 0;
    PMPI_Type_size(dt, &size);
    long long bytes = (long long)count * size;
    if (tag == MPIPOOL__TAG_WORK && bytes > largest_work) largest_work = bytes;
    if (tag == MPIPOOL__TAG_WPIECE) wpieces++;
}

int MPI_Send(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm) {
    record(count, dt, tag);
    return PMPI_Send(buf, count, dt, dest, tag, comm);
}

int MPI_Isend(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm,
              MPI_Request *req) {
    record(count, dt, tag);
    return PMPI_Isend(buf, count, dt, dest, tag, comm, req);
}

enum { KB_ITEM = 1024 };
typedef struct { unsigned char b[KB_ITEM]; } kb_item;

static unsigned char pattern(size_t item, size_t k) { return (unsigned char)(item * 131 + k * 7 + 3); }

/* A 1 KiB item -> a checksum of every byte and its place. */
static int checksum(mpipool_task *t) {
    const kb_item *x = t->in;
    uint64_t s = 0;
    for (size_t k = 0; k < KB_ITEM; k++) s = s * 31 + x->b[k];
    *(uint64_t *)t->out = s;
    return 0;
}
MPIPOOL_TASK(checksum);

static int square(mpipool_task *t) {
    uint64_t x = *(const uint64_t *)t->in;
    *(uint64_t *)t->out = x * x + 1;
    return 0;
}
MPIPOOL_TASK(square);

static mpipool *pool;

/* 200-item chunks of 1 KiB items: 200 KiB each, more than a worker's
 * receive posted ahead, so each goes as a header and a piece. */
static void test_chunks_over_the_bound(void **state) {
    (void)state;
    enum { N = 1500 };
    kb_item *in = malloc(N * sizeof *in);
    uint64_t *out = calloc(N, sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < KB_ITEM; k++) in[i].b[k] = pattern(i, k);
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 200;
    assert_rc(pool, mpipool_map(pool, checksum, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    for (size_t i = 0; i < N; i++) {
        mpipool_task t = {.in = &in[i], .out = &(uint64_t){0}};
        checksum(&t);
        assert_int_equal(out[i], *(uint64_t *)t.out);
    }
    free(in);
    free(out);
}

/* 40 KiB chunks (5000 8-byte items), and automatic ones: every result in
 * its place, in several maps in a row. */
static void test_chunks_under_the_bound(void **state) {
    (void)state;
    enum { N = 200000 };
    uint64_t *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    for (size_t i = 0; i < N; i++) in[i] = i * 3 + 1;
    size_t chunks[] = {5000, 0, 8000};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        memset(out, 0, N * sizeof *out);
        mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
        o.chunk_size = chunks[c];
        assert_rc(pool, mpipool_map(pool, square, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
        for (size_t i = 0; i < N; i++)
            if (out[i] != in[i] * in[i] + 1) fail_msg("chunk_size %zu: item %zu is %llu", chunks[c], i,
                                                      (unsigned long long)out[i]);
    }
    free(in);
    free(out);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = harness_world_rank(), size = harness_world_size();
    CHECK_RC(mpipool_open_comm(&pool, MPI_COMM_WORLD), MPIPOOL_OK);
    if (pool == NULL) return harness_finish("test_work_ahead");
    if (mpipool_is_master(pool)) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_chunks_over_the_bound),
            cmocka_unit_test(test_chunks_under_the_bound),
        };
        if (cmocka_run_group_tests_name("work_ahead", tests, NULL, NULL) != 0) harness_failed = 1;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    if (rank == 0) {
        printf("rank 0: largest TAG_WORK %lld bytes, %ld TAG_WPIECE messages\n", largest_work, wpieces);
        CHECK(largest_work <= (long long)MPIPOOL__WORK_MSG_MAX);
        /* With workers, the 200 KiB chunks went in pieces. */
        CHECK(size == 1 || wpieces >= 1500 / 200);
    }
    return harness_finish("test_work_ahead");
}
