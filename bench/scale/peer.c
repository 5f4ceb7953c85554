/*
 * peer.c — the hand-written MPI peers of the scale benchmark, on the same
 * simulated items as scale.c (simwork.h) and the same SMPI platform.
 *
 *     smpirun -np P ... bench/build/scale/peer dynamic|static D_US uniform|pareto T_S
 *
 *   dynamic   the plain master/worker loop (what mpi4py's MPIPoolExecutor
 *             or a hand-written farm does): one item per message, two items
 *             in flight per worker, so that a worker always has the next item
 *             when it finishes one.  Workers wait in blocking MPI_Recv.
 *   static    one MPI_Scatterv of equal contiguous blocks to ranks 1..P-1
 *             (rank 0 keeps none, as in mpipool), each worker charges its
 *             block's durations with one smpi_execute(), one MPI_Gatherv.
 *
 * Arguments and the result line are scale.c's (same n, same ideal time);
 * exit 1 on a wrong result, 2 on bad arguments.
 */
#include <mpi.h>
#include <smpi/smpi.h>
#include "simwork.h"

enum { TAG_WORK = 1, TAG_RESULT = 2, TAG_STOP = 3 };

static int run_dynamic(const simwork *w, int rank, int size, uint32_t *out) {
    int workers = size - 1;
    if (rank != 0) {
        for (;;) {
            uint32_t idx, res[2];
            MPI_Status st;
            MPI_Recv(&idx, 1, MPI_UINT32_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            if (st.MPI_TAG == TAG_STOP) break;
            smpi_execute(simwork_duration(w, idx));
            res[0] = idx;
            res[1] = simwork_result(idx);
            MPI_Send(res, 2, MPI_UINT32_T, 0, TAG_RESULT, MPI_COMM_WORLD);
        }
        return 0;
    }
    /* Two send slots per worker: slot (wk-1)*2 + flip[wk].  A slot's old
     * send has completed by the time it is reused (the worker returned the
     * item it carried), so the wait is free. */
    size_t nslots = 2 * (size_t)workers;
    uint32_t *sbuf = malloc(nslots * sizeof *sbuf);
    MPI_Request *sreq = malloc(nslots * sizeof *sreq);
    unsigned char *flip = calloc((size_t)size, 1);
    if (!sbuf || !sreq || !flip) {
        fprintf(stderr, "peer: out of memory\n");
        free(sbuf); free(sreq); free(flip);
        return -1;
    }
    for (size_t i = 0; i < nslots; i++) sreq[i] = MPI_REQUEST_NULL;
    size_t next = 0, outstanding = 0;
#define SEND_TO(wk)                                                                     \
    do {                                                                                \
        size_t s_ = 2 * (size_t)((wk) - 1) + flip[wk];                                  \
        flip[wk] ^= 1;                                                                  \
        MPI_Wait(&sreq[s_], MPI_STATUS_IGNORE);                                         \
        sbuf[s_] = (uint32_t)next++;                                                    \
        MPI_Isend(&sbuf[s_], 1, MPI_UINT32_T, (wk), TAG_WORK, MPI_COMM_WORLD, &sreq[s_]); \
        outstanding++;                                                                  \
    } while (0)
    for (int round = 0; round < 2; round++)
        for (int wk = 1; wk < size && next < w->n; wk++) SEND_TO(wk);
    while (outstanding > 0) {
        uint32_t res[2];
        MPI_Status st;
        MPI_Recv(res, 2, MPI_UINT32_T, MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &st);
        if (res[0] < w->n) out[res[0]] = res[1];
        outstanding--;
        if (next < w->n) SEND_TO(st.MPI_SOURCE);
    }
#undef SEND_TO
    MPI_Waitall((int)nslots, sreq, MPI_STATUSES_IGNORE);
    for (int wk = 1; wk < size; wk++) MPI_Send(NULL, 0, MPI_UINT32_T, wk, TAG_STOP, MPI_COMM_WORLD);
    free(sbuf); free(sreq); free(flip);
    return 0;
}

static int run_static(const simwork *w, int rank, int size, const uint32_t *in, uint32_t *out) {
    int workers = size - 1;
    int *cnt = calloc((size_t)size, sizeof *cnt), *dsp = calloc((size_t)size, sizeof *dsp);
    if (!cnt || !dsp) { free(cnt); free(dsp); return -1; }
    size_t off = 0;
    for (int r = 1; r < size; r++) {
        size_t c = w->n / (size_t)workers + ((size_t)(r - 1) < w->n % (size_t)workers);
        cnt[r] = (int)c;
        dsp[r] = (int)off;
        off += c;
    }
    int rc = 0;
    if (rank == 0) {
        MPI_Scatterv(in, cnt, dsp, MPI_UINT32_T, NULL, 0, MPI_UINT32_T, 0, MPI_COMM_WORLD);
        MPI_Gatherv(NULL, 0, MPI_UINT32_T, out, cnt, dsp, MPI_UINT32_T, 0, MPI_COMM_WORLD);
    } else {
        size_t c = (size_t)cnt[rank];
        uint32_t *blk = malloc(c * sizeof *blk + 1), *res = malloc(c * sizeof *res + 1);
        if (!blk || !res) { fprintf(stderr, "peer: [rank %d] out of memory\n", rank); rc = -1; c = 0; }
        MPI_Scatterv(NULL, NULL, NULL, MPI_UINT32_T, blk, cnt[rank], MPI_UINT32_T, 0, MPI_COMM_WORLD);
        if (rc == 0) {
            double s = 0;
            for (size_t k = 0; k < c; k++) s += simwork_duration(w, blk[k]);
            smpi_execute(s);
            for (size_t k = 0; k < c; k++) res[k] = simwork_result(blk[k]);
        }
        MPI_Gatherv(res, cnt[rank], MPI_UINT32_T, NULL, NULL, NULL, MPI_UINT32_T, 0, MPI_COMM_WORLD);
        free(blk); free(res);
    }
    free(cnt); free(dsp);
    return rc;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    simwork w;
    int dynamic = argc > 1 && strcmp(argv[1], "dynamic") == 0;
    if (argc < 2 || (!dynamic && strcmp(argv[1], "static") != 0) || size < 2 ||
        simwork_parse(&w, argc, argv, 2, size - 1) != 0) {
        if (rank == 0)
            fprintf(stderr, "peer: usage: peer dynamic|static D_US uniform|pareto T_S (>= 2 ranks)\n");
        MPI_Finalize();
        return 2;
    }
    uint32_t *in = NULL, *out = NULL;
    double sum = 0, longest = 0, ideal = 0;
    int bad = 0;
    if (rank == 0) {
        in = malloc(w.n * sizeof *in);
        out = calloc(w.n, sizeof *out);
        if (!in || !out) { fprintf(stderr, "peer: out of memory for %zu items\n", w.n); bad = 1; }
        else for (size_t i = 0; i < w.n; i++) in[i] = (uint32_t)i;
        if (!bad) ideal = simwork_ideal(&w, size - 1, &sum, &longest);
    }
    MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (bad) { free(in); free(out); MPI_Finalize(); return 1; }

    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    int rc = dynamic ? run_dynamic(&w, rank, size, out) : run_static(&w, rank, size, in, out);
    double t1 = MPI_Wtime();
    if (rc != 0) bad = 1;

    if (rank == 0 && !bad) {
        for (size_t i = 0; i < w.n; i++)
            if (out[i] != simwork_result((uint32_t)i)) {
                fprintf(stderr, "peer: wrong result for item %zu: %u, expected %u\n", i, out[i],
                        simwork_result((uint32_t)i));
                bad = 1;
                break;
            }
        if (!bad && simwork_check_makespan("peer", t1 - t0, ideal) != 0) bad = 1;
        if (!bad) {
            char extra[64];
            snprintf(extra, sizeof extra, "chunks=%zu", dynamic ? w.n : (size_t)(size - 1));
            simwork_result_line(dynamic ? "peer-dynamic1" : "peer-static", &w, size, t1 - t0, ideal, sum,
                                longest, extra);
        }
    }
    int any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    free(in); free(out);
    MPI_Finalize();
    return any;
}
