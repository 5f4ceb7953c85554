/*
 * bigcopy.c — the hand-written dynamic master/worker for SIZE-byte items
 * whose task copies the item to its result: mpipool_bigitems' work, written
 * with as few copies as MPI allows.  Rank 0 sends each item straight from
 * the input array and receives its result straight into the output array
 * (no packing, no header: a worker answers in the order it was sent, and
 * MPI keeps that order), two items in flight per worker.  A worker receives
 * into one buffer, copies it to another (the task) and sends that back.
 * Bandwidth = 2 * N * SIZE / time, as for mpipool_bigitems and pingpong.c.
 *
 *     mpiexec -n 3 bench/build/peer_bigcopy N REPS [SIZE]
 */
#include <mpi.h>
#include "../work.h"

enum { TAG_WORK = 1, TAG_STOP = 2 };

static void worker(size_t size) {
    char *a = malloc(size), *b = malloc(size);
    if (!a || !b) { fprintf(stderr, "peer_bigcopy: out of memory\n"); MPI_Abort(MPI_COMM_WORLD, 1); }
    for (;;) {
        MPI_Status st;
        MPI_Recv(a, (int)size, MPI_BYTE, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        if (st.MPI_TAG == TAG_STOP) break;
        memcpy(b, a, size);
        MPI_Send(b, (int)size, MPI_BYTE, 0, TAG_WORK, MPI_COMM_WORLD);
    }
    free(a); free(b);
}

/* One map: item i goes to a worker with Isend from in + i * size and its
 * result comes back by an Irecv into out + i * size posted at the same time.
 * Slot 2 * (w - 1) + k holds worker w's k-th item in flight. */
static void map(const char *in, char *out, size_t n, size_t size, int workers) {
    int nslots = 2 * workers;
    MPI_Request *rreq = malloc((size_t)nslots * sizeof *rreq), *sreq = malloc((size_t)nslots * sizeof *sreq);
    for (int s = 0; s < nslots; s++) rreq[s] = sreq[s] = MPI_REQUEST_NULL;
    size_t next = 0, outstanding = 0;
    for (int k = 0; k < 2; k++)
        for (int w = 1; w <= workers && next < n; w++, next++, outstanding++) {
            int s = 2 * (w - 1) + k;
            MPI_Irecv(out + next * size, (int)size, MPI_BYTE, w, TAG_WORK, MPI_COMM_WORLD, &rreq[s]);
            MPI_Isend(in + next * size, (int)size, MPI_BYTE, w, TAG_WORK, MPI_COMM_WORLD, &sreq[s]);
        }
    while (outstanding > 0) {
        int s;
        MPI_Waitany(nslots, rreq, &s, MPI_STATUS_IGNORE);
        outstanding--;
        MPI_Wait(&sreq[s], MPI_STATUS_IGNORE); /* the worker received it before answering */
        if (next < n) {
            int w = s / 2 + 1;
            MPI_Irecv(out + next * size, (int)size, MPI_BYTE, w, TAG_WORK, MPI_COMM_WORLD, &rreq[s]);
            MPI_Isend(in + next * size, (int)size, MPI_BYTE, w, TAG_WORK, MPI_COMM_WORLD, &sreq[s]);
            next++, outstanding++;
        }
    }
    free(rreq); free(sreq);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    size_t n = (size_t)bench_arg(argc, argv, 1, 256);
    int reps = (int)bench_arg(argc, argv, 2, 5);
    size_t size = (size_t)bench_arg(argc, argv, 3, 1 << 20);
    if (ranks < 2 || size == 0 || size > (size_t)1 << 30) {
        if (rank == 0) fprintf(stderr, "peer_bigcopy: usage: N REPS [SIZE <= 1 GiB] (>= 2 ranks)\n");
        MPI_Finalize();
        return 2;
    }
    int bad = 0;
    if (rank != 0) {
        worker(size);
    } else {
        char *in = malloc(n * size + 1), *out = malloc(n * size + 1);
        if (!in || !out) { fprintf(stderr, "peer_bigcopy: out of memory\n"); MPI_Abort(MPI_COMM_WORLD, 1); }
        for (size_t i = 0; i < n * size; i++) in[i] = (char)(i * 7);
        for (int r = 0; r < reps && !bad; r++) {
            memset(out, 0, n * size);
            double t0 = MPI_Wtime();
            map(in, out, n, size, ranks - 1);
            double t1 = MPI_Wtime();
            if (memcmp(in, out, n * size) != 0) { fprintf(stderr, "peer_bigcopy: wrong results\n"); bad = 1; }
            bench_result("bigitems", "dynamic-bigcopy", n, ranks, r, t1 - t0, "size=%zu MiB_per_s=%.6g", size,
                         2.0 * (double)n * (double)size / (1 << 20) / (t1 - t0));
        }
        for (int w = 1; w < ranks; w++) MPI_Send(NULL, 0, MPI_BYTE, w, TAG_STOP, MPI_COMM_WORLD);
        free(in); free(out);
    }
    MPI_Finalize();
    return bad;
}
