/*
 * linkcap.c — what the scale benchmark's model gives rank 0's outgoing
 * link while other ranks send to rank 0: the check behind the "link bound"
 * of bench/RESULTS.md (issue 19, item 5).  No mpipool code.
 *
 *     smpirun -np P ... bench/build/scale-linkcap/linkcap S M D U
 *
 * Rank 0 sends M rounds of one S-byte message to each of ranks 1..D with
 * MPI_Issend (as mpipool's master sends group chunks: dispatch.c), waiting
 * for each round; meanwhile ranks D+1..P-1 each send M messages of U bytes
 * to rank 0 (as leaders send results).  Prints
 *
 *     RESULT down_MBps=... seconds=... S=... M=... D=... up_ranks=... U=...
 *
 * where down_MBps is rank 0's outgoing bytes over the time its M rounds
 * took.  On a link of C bytes/s, full duplex, a physical network gives
 * close to C whatever arrives (TCP acknowledgements take a few percent).
 * Exit 2 on bad arguments.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int arg(const char *s, int *v) {
    char *end;
    long x = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || x < 0 || x > (1L << 30)) return -1;
    *v = (int)x;
    return 0;
}

/* Rank 0: the rounds down, every message up posted first, each into its
 * own U bytes of sink (receives in progress must not share a buffer). */
static int master(char *buf, char *sink, int s, int m, int d, int u, int size) {
    int ups = (size - 1 - d) * m;
    MPI_Request *q = malloc(sizeof *q * (size_t)(ups + d + 1));
    if (q == NULL) return -1;
    for (int w = d + 1, k = 0; w < size; w++)
        for (int i = 0; i < m; i++, k++)
            MPI_Irecv(sink + (size_t)k * (size_t)u, u, MPI_BYTE, w, 2, MPI_COMM_WORLD, &q[k]);
    double t0 = MPI_Wtime();
    for (int i = 0; i < m; i++) {
        for (int w = 1; w <= d; w++) MPI_Issend(buf, s, MPI_BYTE, w, 1, MPI_COMM_WORLD, &q[ups + w - 1]);
        MPI_Waitall(d, q + ups, MPI_STATUSES_IGNORE);
    }
    double t = MPI_Wtime() - t0;
    MPI_Waitall(ups, q, MPI_STATUSES_IGNORE);
    printf("RESULT down_MBps=%.1f seconds=%.6f S=%d M=%d D=%d up_ranks=%d U=%d\n",
           (double)s * m * d / t / 1e6, t, s, m, d, size - 1 - d, u);
    free(q);
    return 0;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size, s, m, d, u, rc = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 5 || arg(argv[1], &s) || arg(argv[2], &m) || arg(argv[3], &d) || arg(argv[4], &u) ||
        d < 1 || d >= size) {
        if (rank == 0) fprintf(stderr, "usage: linkcap S M D U (1 <= D < ranks)\n");
        MPI_Finalize();
        return 2;
    }
    size_t most = (size_t)(s > u ? s : u) + 1, ups = (size_t)(size - 1 - d) * (size_t)m;
    char *buf = calloc(most, 1), *sink = calloc(rank == 0 ? ups * (size_t)u + 1 : most, 1);
    rc = buf == NULL || sink == NULL;
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD); /* every rank, or none */
    if (rc == 0 && rank == 0) {
        rc = master(buf, sink, s, m, d, u, size) != 0;
    } else if (rc == 0 && rank <= d) {
        for (int i = 0; i < m; i++) MPI_Recv(sink, s, MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (rc == 0) {
        for (int i = 0; i < m; i++) MPI_Send(buf, u, MPI_BYTE, 0, 2, MPI_COMM_WORLD);
    }
    free(buf);
    free(sink);
    MPI_Finalize();
    return rc;
}
