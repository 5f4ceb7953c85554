/*
 * pingpong.c — MPI ping-pong bandwidth between ranks 0 and 1 (run with 2
 * ranks): SIZE-byte messages there and back ITERS times; bandwidth =
 * 2 * ITERS * SIZE / time.  The yardstick for mpipool_bigitems.
 * With "stream" the messages are ITERS distinct slices of one array (the
 * memory traffic mpipool_bigitems has: every byte comes from and goes to
 * main memory); without it one SIZE buffer goes back and forth, in cache.
 *
 *     mpiexec -n 2 bench/build/peer_pingpong ITERS REPS [SIZE] [stream]
 */
#include <mpi.h>
#include "../work.h"

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long iters = bench_arg(argc, argv, 1, 256);
    int reps = (int)bench_arg(argc, argv, 2, 5);
    size_t bytes = (size_t)bench_arg(argc, argv, 3, 1 << 20);
    if (size < 2) { fprintf(stderr, "peer_pingpong: needs 2 ranks\n"); MPI_Finalize(); return 2; }
    int stream = argc > 4 && strcmp(argv[4], "stream") == 0;
    size_t total = stream ? (size_t)iters * bytes : bytes;
    char *base = malloc(total), *back = stream ? malloc(total) : base;
    if (!base || !back) { fprintf(stderr, "peer_pingpong: out of memory\n"); MPI_Abort(MPI_COMM_WORLD, 1); }
    memset(base, 1, total);
    if (back != base) memset(back, 2, total);
    for (int r = 0; r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (long i = 0; i < iters; i++) {
            char *buf = stream ? base + (size_t)i * bytes : base;
            char *ret = stream ? back + (size_t)i * bytes : base;
            if (rank == 0) {
                MPI_Send(buf, (int)bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
                MPI_Recv(ret, (int)bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else if (rank == 1) {
                MPI_Recv(buf, (int)bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Send(buf, (int)bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
            }
        }
        double t1 = MPI_Wtime();
        if (rank == 0)
            bench_result("bigitems", stream ? "pingpong-stream" : "pingpong", (size_t)iters, size, r, t1 - t0, "size=%zu MiB_per_s=%.6g", bytes,
                         2.0 * (double)iters * (double)bytes / (1 << 20) / (t1 - t0));
    }
    if (back != base) free(back);
    free(base);
    MPI_Finalize();
    return 0;
}
