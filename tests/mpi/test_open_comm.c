/*
 * test_open_comm.c — a pool embedded in a program that uses MPI itself.
 * MPI_COMM_WORLD is split by rank parity; the even ranks open a pool on
 * their sub-communicator (its rank 0 is the master) while the odd ranks do
 * ordinary MPI among themselves.  Before mapping, every pool rank posts
 * sends on both the sub-communicator and MPI_COMM_WORLD with small tags a
 * pool might use; they are received only after the pool closed, with their
 * payload intact, so the pool never took the caller's messages.  After the
 * close MPI is still initialised and usable; the test finalises it.
 */
#include "harness.h"

enum { N = 1000 };

/* Small tags anyone might pick, and the range the library's own protocol
 * uses today (src/wire.h starts at 0x6d70): a pool that listened on the
 * caller's communicator would take these. */
static const int tags[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                           0x6d70, 0x6d71, 0x6d72, 0x6d73, 0x6d74, 0x6d75, 0x6d76, 0x6d77};
#define NTAGS ((int)(sizeof tags / sizeof tags[0]))

static int world_size, world_rank;

typedef struct {
    int32_t value;
    int32_t rank;
} res;

static int square(mpipool_task *t) {
    int32_t x = *(const int32_t *)t->in;
    res *o = t->out;
    o->value = x * x;
    o->rank = t->rank;
    return 0;
}
MPIPOOL_TASK(square);

/* Payload of a user message: who sent it, with which tag, on which comm. */
typedef struct {
    int src, tag, comm_id, magic;
} note;

typedef struct {
    MPI_Request *req;
    note *notes;
    int count;
} posted;

/* Post one send per tag to each of `dests` (ranks of `comm`). */
static void post_sends(posted *p, MPI_Comm comm, int comm_id, const int *dests, int ndest) {
    int me;
    MPI_Comm_rank(comm, &me);
    p->count = ndest * NTAGS;
    p->req = malloc((size_t)p->count * sizeof *p->req);
    p->notes = malloc((size_t)p->count * sizeof *p->notes);
    CHECK(p->req != NULL && p->notes != NULL);
    int k = 0;
    for (int d = 0; d < ndest; d++)
        for (int t = 0; t < NTAGS; t++, k++) {
            p->notes[k] = (note){me, tags[t], comm_id, 0x5eed};
            MPI_Isend(&p->notes[k], (int)sizeof(note), MPI_BYTE, dests[d], tags[t], comm,
                      &p->req[k]);
        }
}

/* Receive what post_sends sent to this rank from each of `srcs`. */
static void recv_and_check(MPI_Comm comm, int comm_id, const int *srcs, int nsrc) {
    for (int s = 0; s < nsrc; s++)
        for (int t = 0; t < NTAGS; t++) {
            note got;
            memset(&got, 0, sizeof got);
            MPI_Recv(&got, (int)sizeof got, MPI_BYTE, srcs[s], tags[t], comm, MPI_STATUS_IGNORE);
            CHECK(got.src == srcs[s] && got.tag == tags[t] && got.comm_id == comm_id &&
                  got.magic == 0x5eed);
        }
}

static void finish_sends(posted *p) {
    MPI_Waitall(p->count, p->req, MPI_STATUSES_IGNORE);
    free(p->req);
    free(p->notes);
}

static void run_pool_side(MPI_Comm sub) {
    int sub_rank, sub_size;
    MPI_Comm_rank(sub, &sub_rank);
    MPI_Comm_size(sub, &sub_size);

    mpipool *pool = NULL;
    int rc = mpipool_open_comm(&pool, sub);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "[rank %d] open: %s\n", world_rank, mpipool_last_error(NULL));
        return;
    }
    /* The pool's ranks are those of `sub`, not of MPI_COMM_WORLD. */
    CHECK(mpipool_rank(pool) == sub_rank);
    CHECK(mpipool_is_master(pool) == (sub_rank == 0));
    CHECK(mpipool_size(pool) == (sub_size > 1 ? sub_size - 1 : 1));

    /* User traffic in flight on the parent and on the world communicator:
     * every pool member to every pool member (itself included). */
    int *subs = malloc((size_t)sub_size * sizeof *subs);
    int *worlds = malloc((size_t)sub_size * sizeof *worlds);
    CHECK(subs != NULL && worlds != NULL);
    for (int r = 0; r < sub_size; r++) {
        subs[r] = r;
        worlds[r] = 2 * r; /* sub rank r is world rank 2r */
    }
    posted on_sub, on_world;
    post_sends(&on_sub, sub, 1, subs, sub_size);
    post_sends(&on_world, MPI_COMM_WORLD, 2, worlds, sub_size);

    if (mpipool_is_master(pool)) {
        int32_t *in = malloc(N * sizeof *in);
        res *out = malloc(N * sizeof *out);
        CHECK(in != NULL && out != NULL);
        for (int sched = 0; sched < 2 && in && out; sched++) {
            for (int i = 0; i < N; i++) in[i] = i - 500;
            memset(out, 0xAB, N * sizeof *out);
            mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
            o.schedule = sched ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
            o.chunk_size = sched ? 0 : 3;
            int mrc = mpipool_map(pool, square, in, sizeof *in, out, sizeof *out, N, &o);
            CHECK_RC(mrc, MPIPOOL_OK);
            if (mrc != MPIPOOL_OK) fprintf(stderr, "map: %s\n", mpipool_last_error(pool));
            for (int i = 0; i < N; i++) {
                CHECK(out[i].value == in[i] * in[i]);
                /* task->rank is the rank in the pool's communicator. */
                CHECK(harness_worker_rank_ok(out[i].rank, sub_size));
            }
        }
        free(in);
        free(out);
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }

    /* The pool is closed; the caller's messages are all still there. */
    recv_and_check(sub, 1, subs, sub_size);
    recv_and_check(MPI_COMM_WORLD, 2, worlds, sub_size);
    finish_sends(&on_sub);
    finish_sends(&on_world);
    free(subs);
    free(worlds);
}

static void run_plain_side(MPI_Comm sub) {
    int sub_rank, sub_size;
    MPI_Comm_rank(sub, &sub_rank);
    MPI_Comm_size(sub, &sub_size);
    /* A collective and a ring exchange among the odd ranks. */
    int sum = 0;
    MPI_Allreduce(&world_rank, &sum, 1, MPI_INT, MPI_SUM, sub);
    int want = 0;
    for (int r = 1; r < world_size; r += 2) want += r;
    CHECK(sum == want);
    int next = (sub_rank + 1) % sub_size, prev = (sub_rank + sub_size - 1) % sub_size;
    int got = -1;
    MPI_Sendrecv(&world_rank, 1, MPI_INT, next, 7, &got, 1, MPI_INT, prev, 7, sub,
                 MPI_STATUS_IGNORE);
    CHECK(got == 2 * prev + 1);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);

    /* Refusals that need no communication. */
    static int sentinel;
    mpipool *bad = (mpipool *)(void *)&sentinel;
    CHECK_RC(mpipool_open_comm(&bad, MPI_COMM_NULL), MPIPOOL_EINVAL);
    CHECK(bad == NULL);
    CHECK_RC(mpipool_open_comm(NULL, MPI_COMM_WORLD), MPIPOOL_EINVAL);

    MPI_Comm sub;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank % 2, world_rank, &sub);
    if (world_rank % 2 == 0) run_pool_side(sub);
    else run_plain_side(sub);

    /* MPI is still ours: not finalised by the pool, and usable. */
    int finalized = 1;
    MPI_Finalized(&finalized);
    CHECK(finalized == 0);
    int one = 1, total = 0;
    MPI_Allreduce(&one, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(total == world_size);
    MPI_Comm_free(&sub);
    return harness_finish("test_open_comm");
}
