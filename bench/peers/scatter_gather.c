/*
 * scatter_gather.c — the hand-written static peer: rank 0 cuts the items
 * into equal shares for ranks 1..N-1 (rank 0 keeps none, as in mpipool, so
 * both have the same N-1 workers), one MPI_Scatterv, compute, one
 * MPI_Gatherv.  No load balancing.
 *
 *     mpiexec -n 3 bench/build/peer_scatter_gather REPS square N
 *     mpiexec -n 3 bench/build/peer_scatter_gather REPS pareto N TOTAL_MS
 */
#include <mpi.h>
#include "kernels.h"

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int reps = (int)bench_arg(argc, argv, 1, 5);
    peer_work w;
    if (peer_work_parse(&w, argc, argv, 2) != 0 || size < 2) {
        if (rank == 0) fprintf(stderr, "peer_scatter_gather: usage: REPS square|pareto N [TOTAL_MS] (>= 2 ranks)\n");
        MPI_Finalize();
        return 2;
    }
    int workers = size - 1;
    int *icnt = calloc((size_t)size, sizeof *icnt), *idsp = calloc((size_t)size, sizeof *idsp);
    int *ocnt = calloc((size_t)size, sizeof *ocnt), *odsp = calloc((size_t)size, sizeof *odsp);
    size_t off = 0;
    for (int r = 1; r < size; r++) {
        size_t c = w.n / (size_t)workers + ((size_t)(r - 1) < w.n % (size_t)workers);
        icnt[r] = (int)(c * w.in_size); idsp[r] = (int)(off * w.in_size);
        ocnt[r] = (int)(c * w.out_size); odsp[r] = (int)(off * w.out_size);
        off += c;
    }
    size_t mine_in = rank == 0 ? w.n * w.in_size : (size_t)icnt[rank];
    size_t mine_out = rank == 0 ? w.n * w.out_size : (size_t)ocnt[rank];
    char *in = malloc(mine_in + 1), *out = malloc(mine_out + 1);
    if (!in || !out) { fprintf(stderr, "peer_scatter_gather: out of memory\n"); MPI_Abort(MPI_COMM_WORLD, 1); }
    if (rank == 0) { peer_work_fill(&w, in); memset(out, 0, mine_out); }
    double lb = 0, longest = 0, sum = 0;
    if (rank == 0) peer_work_bound(&w, in, workers, &lb, &longest, &sum);
    int bad = 0;
    for (int r = 0; r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double c0 = bench_cpu_self(), t0 = MPI_Wtime();
        if (rank == 0) {
            MPI_Scatterv(in, icnt, idsp, MPI_BYTE, NULL, 0, MPI_BYTE, 0, MPI_COMM_WORLD);
            MPI_Gatherv(NULL, 0, MPI_BYTE, out, ocnt, odsp, MPI_BYTE, 0, MPI_COMM_WORLD);
        } else {
            MPI_Scatterv(NULL, NULL, NULL, MPI_BYTE, in, icnt[rank], MPI_BYTE, 0, MPI_COMM_WORLD);
            peer_work_run(&w, in, out, (size_t)icnt[rank] / w.in_size, rank);
            MPI_Gatherv(out, ocnt[rank], MPI_BYTE, NULL, NULL, NULL, MPI_BYTE, 0, MPI_COMM_WORLD);
        }
        double t1 = MPI_Wtime(), c1 = bench_cpu_self();
        if (rank == 0) {
            if (peer_work_check(&w, in, out) != 0) { fprintf(stderr, "peer_scatter_gather: wrong results\n"); bad = 1; break; }
            bench_result(peer_workload_name(&w), "scatter-gather", w.n, size, r, t1 - t0,
                         "lower_bound=%.6f longest=%.6f sum=%.6f master_cpu=%.6f", lb, longest, sum, c1 - c0);
            memset(out, 0, mine_out);
        }
    }
    MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    free(in); free(out); free(icnt); free(idsp); free(ocnt); free(odsp);
    MPI_Finalize();
    return bad;
}
