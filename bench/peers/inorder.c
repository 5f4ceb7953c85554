/*
 * inorder.c — not a peer but a yardstick for the spin workloads (Pareto):
 * the best any scheduler that hands items out in index order can do on
 * this machine.  Every rank computes the same in-order list schedule from
 * the known durations (item i goes to the worker that is free first, as a
 * dynamic master with no overhead would send it), then each worker runs
 * its own items with no message at all.  Rank 0 runs nothing and sleeps,
 * as a polite master does.  The makespan is the longest worker's time from
 * a common barrier to its last item.
 *
 * It reports both the schedule's makespan computed from the CPU durations
 * (inorder_bound: no machine at all) and the one measured here (seconds:
 * the same schedule on these cores, with their noise).  A scheduler that
 * does not know the durations in advance and keeps index order cannot beat
 * the bound on average; it beats it on one draw only by luck.
 *
 *     mpiexec -n 3 bench/build/peer_inorder REPS pareto N TOTAL_MS
 */
#include <mpi.h>
#include <time.h>
#include "kernels.h"

/* Item i's worker (0-based) in the in-order list schedule; returns the
 * schedule's makespan in seconds. */
static double plan(const double *us, size_t n, int workers, int *who) {
    double *free_at = calloc((size_t)workers, sizeof *free_at), end = 0;
    if (free_at == NULL) return -1;
    for (size_t i = 0; i < n; i++) {
        int b = 0;
        for (int k = 1; k < workers; k++)
            if (free_at[k] < free_at[b]) b = k;
        who[i] = b;
        free_at[b] += us[i] * 1e-6;
        if (free_at[b] > end) end = free_at[b];
    }
    free(free_at);
    return end;
}

/* Complete a nonblocking collective the way an idle master waits: test,
 * then sleep 100 us (a blocking one would busy-poll a core the workers
 * need). */
static void wait_politely(MPI_Request *req) {
    int done = 0;
    const struct timespec step = {0, 100000L};
    for (;;) {
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (done) return;
        nanosleep(&step, NULL);
    }
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size, bad = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int reps = (int)bench_arg(argc, argv, 1, 5);
    peer_work w;
    if (peer_work_parse(&w, argc, argv, 2) != 0 || strcmp(w.name, "square") == 0 || size < 2) {
        if (rank == 0) fprintf(stderr, "peer_inorder: usage: REPS pareto|const N MS (>= 2 ranks)\n");
        MPI_Finalize();
        return 2;
    }
    int workers = size - 1;
    double *us = malloc(w.n * sizeof *us + 1);
    int *who = malloc(w.n * sizeof *who + 1);
    if (us == NULL || who == NULL) {
        fprintf(stderr, "peer_inorder: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    peer_work_fill(&w, us);
    double bound = plan(us, w.n, workers, who), lb, longest, sum;
    if (bound < 0) {
        fprintf(stderr, "peer_inorder: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    peer_work_bound(&w, us, workers, &lb, &longest, &sum);
    for (int r = 0; r < reps && !bad; r++) {
        MPI_Request req;
        MPI_Ibarrier(MPI_COMM_WORLD, &req);
        wait_politely(&req);
        double t0 = MPI_Wtime();
        unsigned long ran = 0, total = 0;
        if (rank > 0)
            for (size_t i = 0; i < w.n; i++)
                if (who[i] == rank - 1) {
                    bench_spin(us[i]);
                    ran++;
                }
        double mine = MPI_Wtime() - t0, longest_rank = 0;
        MPI_Ireduce(&mine, &longest_rank, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD, &req);
        wait_politely(&req);
        MPI_Ireduce(&ran, &total, 1, MPI_UNSIGNED_LONG, MPI_SUM, 0, MPI_COMM_WORLD, &req);
        wait_politely(&req);
        if (rank == 0 && total != w.n) {
            fprintf(stderr, "peer_inorder: %lu items ran, not %zu\n", total, w.n);
            bad = 1;
        }
        if (rank == 0 && !bad)
            bench_result(peer_workload_name(&w), "inorder-reference", w.n, size, r, longest_rank,
                         "inorder_bound=%.6f lower_bound=%.6f longest=%.6f sum=%.6f", bound, lb, longest, sum);
        MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    }
    free(us);
    free(who);
    MPI_Finalize();
    return bad;
}
