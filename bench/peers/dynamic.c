/*
 * dynamic.c — the hand-written minimal dynamic master/worker peer.  Rank 0
 * hands out chunks of CHUNK items (CHUNK = 1: one item per message) and
 * keeps two chunks in flight per worker: when a result comes back, the next
 * chunk goes to that worker, so it never waits for the master.  A chunk is
 * one message (header + items packed); a result is one message.  The master
 * waits in plain blocking MPI calls (what such programs do), so with Open
 * MPI it busy-polls.
 *
 *     mpiexec -n 3 bench/build/peer_dynamic REPS CHUNK square N
 *     mpiexec -n 3 bench/build/peer_dynamic REPS CHUNK pareto N TOTAL_MS
 *     mpiexec -n 3 bench/build/peer_dynamic REPS CHUNK const N MS
 *
 * With BENCH_GAP_MS=G in the environment, rank 0 sleeps G ms before each
 * repetition (outside the timed map) while the workers wait in MPI_Recv:
 * the "short maps" rows (workload shortmaps), a map after the master's own
 * work, as an iterative program has it.
 */
#include <mpi.h>
#include "kernels.h"

enum { TAG_WORK = 1, TAG_RESULT = 2, TAG_STOP = 3 };
typedef struct { uint64_t first, count; } hdr;

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int reps = (int)bench_arg(argc, argv, 1, 5);
    size_t chunk = (size_t)bench_arg(argc, argv, 2, 1);
    peer_work w;
    if (chunk == 0 || peer_work_parse(&w, argc, argv, 3) != 0 || size < 2) {
        if (rank == 0) fprintf(stderr, "peer_dynamic: usage: REPS CHUNK square|pareto|const N [MS] (>= 2 ranks)\n");
        MPI_Finalize();
        return 2;
    }
    int workers = size - 1, bad = 0;
    size_t wmax = sizeof(hdr) + chunk * w.in_size, rmax = sizeof(hdr) + chunk * w.out_size;
    if (rank != 0) {
        char *wb = malloc(wmax), *rb = malloc(rmax);
        for (;;) {
            MPI_Status st;
            MPI_Recv(wb, (int)wmax, MPI_BYTE, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            if (st.MPI_TAG == TAG_STOP) break;
            hdr h; memcpy(&h, wb, sizeof h);
            memcpy(rb, &h, sizeof h);
            peer_work_run(&w, wb + sizeof h, rb + sizeof h, (size_t)h.count, rank);
            MPI_Send(rb, (int)(sizeof h + h.count * w.out_size), MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
        }
        free(wb); free(rb);
    } else {
        char *in = malloc(w.n * w.in_size + 1), *out = malloc(w.n * w.out_size + 1);
        int nslots = 2 * workers;
        char *sbuf = malloc((size_t)nslots * wmax), *rb = malloc(rmax);
        MPI_Request *sreq = malloc((size_t)nslots * sizeof *sreq);
        int *slot_of = malloc((size_t)size * 2 * sizeof *slot_of); /* two send slots per worker */
        peer_work_fill(&w, in);
        double lb, longest, sum;
        peer_work_bound(&w, in, workers, &lb, &longest, &sum);
        for (int i = 0; i < nslots; i++) sreq[i] = MPI_REQUEST_NULL;
        const char *gap_env = getenv("BENCH_GAP_MS");
        double gap = gap_env ? atof(gap_env) : 0;
        for (int r = 0; r < reps; r++) {
            memset(out, 0, w.n * w.out_size);
            if (gap > 0) bench_pause(gap);
            double c0 = bench_cpu_self(), t0 = MPI_Wtime();
            size_t next = 0, outstanding = 0;
            int *flip = slot_of; /* flip[wk]: which of its two slots to use next */
            for (int i = 0; i < size; i++) flip[i] = 0;
            /* send: pack into the worker's free slot (its older send is done:
             * the worker received it before returning that chunk's result) */
#define SEND_TO(wk)                                                                   \
            do {                                                                      \
                int s_ = 2 * ((wk) - 1) + flip[wk];                                   \
                flip[wk] ^= 1;                                                        \
                MPI_Wait(&sreq[s_], MPI_STATUS_IGNORE);                               \
                size_t c_ = w.n - next < chunk ? w.n - next : chunk;                  \
                hdr h_ = {next, c_};                                                  \
                char *b_ = sbuf + (size_t)s_ * wmax;                                  \
                memcpy(b_, &h_, sizeof h_);                                           \
                memcpy(b_ + sizeof h_, in + next * w.in_size, c_ * w.in_size);        \
                MPI_Isend(b_, (int)(sizeof h_ + c_ * w.in_size), MPI_BYTE, (wk),      \
                          TAG_WORK, MPI_COMM_WORLD, &sreq[s_]);                       \
                next += c_;                                                           \
                outstanding++;                                                        \
            } while (0)
            for (int round = 0; round < 2; round++)
                for (int wk = 1; wk < size && next < w.n; wk++) SEND_TO(wk);
            while (outstanding > 0) {
                MPI_Status st;
                MPI_Recv(rb, (int)rmax, MPI_BYTE, MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &st);
                hdr h; memcpy(&h, rb, sizeof h);
                memcpy(out + h.first * w.out_size, rb + sizeof h, h.count * w.out_size);
                outstanding--;
                if (next < w.n) SEND_TO(st.MPI_SOURCE);
            }
            double t1 = MPI_Wtime(), c1 = bench_cpu_self();
            if (peer_work_check(&w, in, out) != 0) { fprintf(stderr, "peer_dynamic: wrong results\n"); bad = 1; break; }
            char impl[64]; snprintf(impl, sizeof impl, "dynamic-chunk%zu", chunk);
            const char *wl = gap > 0 ? "shortmaps" : strcmp(w.name, "square") == 0 ? "roundtrip" : peer_workload_name(&w);
            bench_result(wl, impl, w.n, size, r, t1 - t0,
                         "chunk=%zu lower_bound=%.6f longest=%.6f sum=%.6f master_cpu=%.6f cpu_frac=%.6f gap_ms=%g",
                         chunk, lb, longest, sum, c1 - c0, (c1 - c0) / (t1 - t0), gap);
        }
        MPI_Waitall(nslots, sreq, MPI_STATUSES_IGNORE);
        for (int wk = 1; wk < size; wk++) MPI_Send(NULL, 0, MPI_BYTE, wk, TAG_STOP, MPI_COMM_WORLD);
        free(in); free(out); free(sbuf); free(rb); free(sreq); free(slot_of);
    }
    MPI_Finalize();
    return bad;
}
