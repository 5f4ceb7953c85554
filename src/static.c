/*
 * static.c — the master's side of a static map: one header to each worker,
 * one MPI_Scatterv of equal shares from the caller's `in`, one MPI_Gatherv
 * straight into `out`, then each worker's status (and failures).
 *
 * Invariant: it runs alone — the engine starts it only when no chunk is on
 * a worker — so the collectives meet every worker at the same point of its
 * message stream.
 */
#include <stdlib.h>
#include "dispatch.h"
#include "jobs.h"
#include "observe.h"
#include "transport.h"

static int static_exchange(mpipool__engine *e, mpipool_job *j, int *counts, int *displs) {
    mpipool *pool = e->pool;
    MPI_Datatype tin = MPI_DATATYPE_NULL, tout = MPI_DATATYPE_NULL;
    mpipool__work_hdr h = {MPIPOOL__KIND_STATIC, (uint32_t)j->fn_index, j->id, 0, j->n, j->in_size, j->out_size, 0, 0, 0,
                           j->task_timeout, 0, 0, 0, 0};
    for (int w = 1; w <= e->workers; w++) {
        size_t first, count;
        mpipool__plan_static(j->n, (size_t)e->workers, (size_t)w - 1, &first, &count);
        counts[w] = (int)count;
        displs[w] = (int)first;
    }
    for (int w = 1; w <= e->workers; w++)
        ENGINE_MPI(e, MPI_Send(&h, (int)sizeof h, MPI_BYTE, w, MPIPOOL__TAG_WORK, pool->comm));
    ENGINE_MPI(e, MPI_Type_contiguous((int)j->in_size, MPI_BYTE, &tin));
    ENGINE_MPI(e, MPI_Type_commit(&tin));
    ENGINE_MPI(e, MPI_Type_contiguous((int)j->out_size, MPI_BYTE, &tout));
    ENGINE_MPI(e, MPI_Type_commit(&tout));
    double obs_t0 = mpipool__obs_clock(pool);
    int rc = MPI_Scatterv(j->in, counts, displs, tin, NULL, 0, tin, 0, pool->comm);
    if (rc == MPI_SUCCESS) rc = MPI_Gatherv(NULL, 0, tout, j->out, counts, displs, tout, 0, pool->comm);
    MPI_Type_free(&tin);
    MPI_Type_free(&tout);
    ENGINE_MPI(e, rc);
    j->next = j->n;
    for (int w = 1; w <= e->workers; w++) {
        mpipool__result_hdr rh;
        ENGINE_MPI(e, MPI_Recv(&rh, (int)sizeof rh, MPI_BYTE, w, MPIPOOL__TAG_STATUS, pool->comm,
                               MPI_STATUS_IGNORE));
        mpipool__job_mark_ok(j, (uint64_t)displs[w], (uint64_t)counts[w]);
        if (rh.nfail) {
            char *recs = NULL;
            int len = 0;
            ENGINE_MPI(e, mpipool__recv_fails(e->pool->comm, w, &recs, &len));
            mpipool__job_note_failures(j, rh.nfail, rh.first_fail, w, recs, (size_t)len);
            free(recs);
        }
        if (j->resume) mpipool__resume_record(j, (uint64_t)displs[w], (uint64_t)counts[w]);
        j->done += (size_t)counts[w];
        mpipool__obs_static(pool, j, w, (uint64_t)displs[w], (uint64_t)counts[w], (size_t)counts[w] * j->in_size + sizeof h, (size_t)counts[w] * j->out_size + sizeof rh, rh.busy, obs_t0);
    }
    return 0;
}

int mpipool__static_run(mpipool__engine *e, mpipool_job *j) {
    int *counts = calloc((size_t)e->workers + 1, sizeof *counts);
    int *displs = calloc((size_t)e->workers + 1, sizeof *displs);
    int rc = 0;
    if (!counts || !displs) {
        /* Nothing was sent: fail just this job. */
        mpipool__job_error(j, MPIPOOL_ENOMEM, "%s: out of memory for %d workers", j->func, e->workers);
        j->next = j->n;
        j->cancelled = 1;
    } else {
        rc = static_exchange(e, j, counts, displs);
    }
    free(counts);
    free(displs);
    e->now = 0; /* the pass's clock is read again (dispatch.h): the exchange took a while */
    return rc;
}

