/*
 * master.c — the master's side of a map: cut the items into chunks, keep
 * every worker busy, collect the results in place, report failures.
 *
 * Invariants:
 *  - a worker never has more than two chunks in flight (and only one once
 *    the unassigned items are few), so the end of a map is balanced;
 *  - chunks are sent straight from the caller's `in` and results received
 *    straight into the caller's `out` (an hindexed datatype of header +
 *    slice at MPI_BOTTOM): no copies of item data on the master;
 *  - the result receive for a chunk is posted before the chunk is sent, so
 *    results land in place even when they come back eagerly;
 *  - arguments are checked before the first message, so a refused call
 *    leaves the pool as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "wire.h"

/* No chunk message grows beyond this: big enough that per-message cost
 * vanishes, small enough that sending one chunk overlaps computing another. */
#define CHUNK_BYTES_CAP ((size_t)16 << 20)
/* Aim for chunks that take at least this long once task times are known,
 * so that message cost stays a small fraction of the work. */
#define MIN_CHUNK_SECONDS 200e-6

typedef struct {
    int worker;            /* rank, 0 = slot free          */
    int completed;         /* result is in, not yet collected */
    uint64_t seq;          /* send order, per pool         */
    uint64_t first, count;
    MPI_Request sreq, rreq;
    mpipool__work_hdr whdr;   /* must live until sreq completes */
    mpipool__result_hdr rhdr; /* receive target                 */
} slot;

typedef struct {
    mpipool *pool;
    const char *func;
    size_t fn_index;
    const char *in;
    char *out;
    size_t in_size, out_size, n;
    size_t user_chunk, max_chunk, min_chunk;
    size_t next;            /* first unassigned item        */
    size_t done;            /* items whose results are back */
    uint64_t job;
    double per_item;        /* running estimate of seconds per item, <0 unknown */
    uint64_t seq;           /* chunks sent so far                           */
    uint64_t nfail, first_fail;
    int first_fail_rank;
    char fail_msg[MPIPOOL__MSG_MAX];
} job;

static void note_failure(job *j, uint64_t nfail, uint64_t first_fail, int rank, const char *msg) {
    if (nfail == 0) return;
    if (j->nfail == 0 || first_fail < j->first_fail) {
        j->first_fail = first_fail;
        j->first_fail_rank = rank;
        snprintf(j->fail_msg, sizeof j->fail_msg, "%s", msg);
    }
    j->nfail += nfail;
}

static int finish(job *j) {
    if (j->nfail == 0) return MPIPOOL_OK;
    return mpipool__error(j->pool, MPIPOOL_ETASK, "%s: task '%s' failed on item %llu at rank %d: %s%s",
                          j->func, mpipool__registry_name(j->fn_index),
                          (unsigned long long)j->first_fail, j->first_fail_rank, j->fail_msg,
                          j->nfail > 1 ? " (and more items failed)" : "");
}

static int run_inline(job *j) {
    char msg[MPIPOOL__MSG_MAX] = "";
    uint64_t first_fail = 0;
    uint64_t nfail = mpipool__run_items(mpipool__registry_fn(j->fn_index), j->in, j->in_size, j->out,
                                        j->out_size, 0, j->n, 0, &first_fail, msg, sizeof msg);
    note_failure(j, nfail, first_fail, 0, msg);
    return finish(j);
}

/* Post the result receive, then send the chunk, for slot s. */
static int send_chunk(job *j, slot *s, int w, size_t first, size_t count) {
    mpipool *pool = j->pool;
    int rc = MPIPOOL_OK;
    MPI_Datatype st = MPI_DATATYPE_NULL, rt = MPI_DATATYPE_NULL;
    MPI_Aint disp[2];
    int len[2];

    s->worker = w;
    s->completed = 0;
    s->seq = j->seq++;
    s->first = first;
    s->count = count;
    s->whdr = (mpipool__work_hdr){MPIPOOL__KIND_CHUNK, (uint32_t)j->fn_index, j->job, first, count,
                                  j->in_size, j->out_size};
    MPIPOOL__MPI(pool, MPI_Get_address(&s->rhdr, &disp[0]));
    MPIPOOL__MPI(pool, MPI_Get_address(j->out + first * j->out_size, &disp[1]));
    len[0] = (int)sizeof s->rhdr;
    len[1] = (int)(count * j->out_size);
    MPIPOOL__MPI(pool, MPI_Type_create_hindexed(2, len, disp, MPI_BYTE, &rt));
    MPIPOOL__MPI(pool, MPI_Type_commit(&rt));
    MPIPOOL__MPI(pool, MPI_Irecv(MPI_BOTTOM, 1, rt, w, MPIPOOL__TAG_RESULT, pool->comm, &s->rreq));

    MPIPOOL__MPI(pool, MPI_Get_address(&s->whdr, &disp[0]));
    MPIPOOL__MPI(pool, MPI_Get_address(j->in + first * j->in_size, &disp[1]));
    len[0] = (int)sizeof s->whdr;
    len[1] = (int)(count * j->in_size);
    MPIPOOL__MPI(pool, MPI_Type_create_hindexed(2, len, disp, MPI_BYTE, &st));
    MPIPOOL__MPI(pool, MPI_Type_commit(&st));
    MPIPOOL__MPI(pool, MPI_Isend(MPI_BOTTOM, 1, st, w, MPIPOOL__TAG_WORK, pool->comm, &s->sreq));
cleanup:
    /* Freeing a datatype does not affect communication already using it. */
    if (st != MPI_DATATYPE_NULL) MPI_Type_free(&st);
    if (rt != MPI_DATATYPE_NULL) MPI_Type_free(&rt);
    return rc;
}

static size_t next_chunk(job *j, size_t workers) {
    size_t min_chunk = j->min_chunk;
    if (j->per_item > 0) {
        double want = MIN_CHUNK_SECONDS / j->per_item;
        min_chunk = want >= (double)j->max_chunk ? j->max_chunk : (size_t)want + 1;
    }
    return mpipool__plan_chunk(j->n - j->next, workers, j->user_chunk, min_chunk, j->max_chunk);
}

/* Give chunks to workers until each has as many in flight as the plan
 * allows: first one each, then a second each, so all start early. */
static int fill(job *j, slot *slots, int *inflight) {
    int workers = j->pool->size - 1, rc = MPIPOOL_OK;
    for (int round = 1; round <= 2; round++) {
        for (int w = 1; w <= workers && j->next < j->n; w++) {
            if (inflight[w] >= round || inflight[w] >= mpipool__plan_depth(j->n - j->next, (size_t)workers))
                continue;
            slot *s = &slots[(w - 1) * 2 + (slots[(w - 1) * 2].worker != 0)];
            size_t count = next_chunk(j, (size_t)workers);
            if ((rc = send_chunk(j, s, w, j->next, count)) != MPIPOOL_OK) return rc;
            j->next += count;
            inflight[w]++;
        }
    }
    return rc;
}

static int collect(job *j, slot *s, MPI_Request *rreqs, int idx) {
    mpipool *pool = j->pool;
    int rc = MPIPOOL_OK;
    MPIPOOL__MPI(pool, MPI_Wait(&s->sreq, MPI_STATUS_IGNORE));
    const mpipool__result_hdr *h = &s->rhdr;
    if (h->job != j->job || h->first != s->first || h->count != s->count) {
        rc = mpipool__error(pool, MPIPOOL_EPROTO, "%s: rank %d answered with items %llu+%llu of job %llu, "
                            "expected %llu+%llu of job %llu", j->func, s->worker,
                            (unsigned long long)h->first, (unsigned long long)h->count,
                            (unsigned long long)h->job, (unsigned long long)s->first,
                            (unsigned long long)s->count, (unsigned long long)j->job);
        goto cleanup;
    }
    if (h->nfail) {
        char msg[MPIPOOL__MSG_MAX];
        MPI_Status st;
        int got = 0;
        MPIPOOL__MPI(pool, MPI_Recv(msg, (int)sizeof msg, MPI_CHAR, s->worker, MPIPOOL__TAG_FAIL, pool->comm, &st));
        MPI_Get_count(&st, MPI_CHAR, &got);
        msg[got > 0 && got <= (int)sizeof msg ? got - 1 : 0] = '\0';
        note_failure(j, h->nfail, h->first_fail, s->worker, msg);
    }
    if (h->count > 0 && h->busy > 0) {
        double per = h->busy / (double)h->count;
        j->per_item = j->per_item < 0 ? per : 0.7 * j->per_item + 0.3 * per;
    }
    j->done += s->count;
    s->worker = 0;
    rreqs[idx] = MPI_REQUEST_NULL;
cleanup:
    return rc;
}

static int run_dynamic(job *j) {
    mpipool *pool = j->pool;
    int workers = pool->size - 1, rc = MPIPOOL_OK;
    int nslots = workers * 2;
    slot *slots = calloc((size_t)nslots, sizeof *slots);
    int *inflight = calloc((size_t)pool->size, sizeof *inflight);
    MPI_Request *rreqs = malloc((size_t)nslots * sizeof *rreqs);
    int *done_idx = malloc((size_t)nslots * sizeof *done_idx);
    if (!slots || !inflight || !rreqs || !done_idx) {
        rc = mpipool__error(pool, MPIPOOL_ENOMEM, "%s: out of memory for %d workers", j->func, workers);
        goto cleanup;
    }
    for (int i = 0; i < nslots; i++) slots[i].sreq = slots[i].rreq = MPI_REQUEST_NULL;
    if ((rc = fill(j, slots, inflight)) != MPIPOOL_OK) goto cleanup;

    mpipool__backoff bo;
    mpipool__backoff_reset(&bo);
    while (j->done < j->n) {
        int ndone = 0;
        for (int i = 0; i < nslots; i++) rreqs[i] = slots[i].worker ? slots[i].rreq : MPI_REQUEST_NULL;
        MPIPOOL__MPI(pool, MPI_Testsome(nslots, rreqs, &ndone, done_idx, MPI_STATUSES_IGNORE));
        if (ndone == MPI_UNDEFINED) {
            rc = mpipool__error(pool, MPIPOOL_EPROTO, "%s: %zu items outstanding but nothing in flight",
                                j->func, j->n - j->done);
            goto cleanup;
        }
        if (ndone == 0) {
            mpipool__backoff_wait(&bo);
            continue;
        }
        mpipool__backoff_reset(&bo);
        for (int k = 0; k < ndone; k++) {
            slots[done_idx[k]].rreq = MPI_REQUEST_NULL;
            slots[done_idx[k]].completed = 1;
        }
        /* Collect each worker's chunks in the order they were sent: its
         * TAG_FAIL messages follow its results in that order, so taking
         * them in any other order would pair a failure with the wrong
         * chunk. */
        for (int w = 1; w <= workers; w++) {
            for (;;) {
                slot *a = &slots[(w - 1) * 2], *b = a + 1, *oldest = NULL;
                if (a->worker) oldest = a;
                if (b->worker && (oldest == NULL || b->seq < oldest->seq)) oldest = b;
                if (oldest == NULL || !oldest->completed) break;
                if ((rc = collect(j, oldest, rreqs, (int)(oldest - slots))) != MPIPOOL_OK) goto cleanup;
                inflight[w]--;
            }
        }
        if ((rc = fill(j, slots, inflight)) != MPIPOOL_OK) goto cleanup;
    }
    rc = finish(j);
cleanup:
    free(slots);
    free(inflight);
    free(rreqs);
    free(done_idx);
    return rc;
}

static int run_static(job *j) {
    mpipool *pool = j->pool;
    int rc = MPIPOOL_OK, workers = pool->size - 1;
    int *counts = calloc((size_t)pool->size, sizeof *counts);
    int *displs = calloc((size_t)pool->size, sizeof *displs);
    MPI_Request *reqs = malloc((size_t)workers * sizeof *reqs);
    MPI_Datatype tin = MPI_DATATYPE_NULL, tout = MPI_DATATYPE_NULL;
    mpipool__work_hdr h = {MPIPOOL__KIND_STATIC, (uint32_t)j->fn_index, j->job, 0, j->n, j->in_size, j->out_size};
    if (!counts || !displs || !reqs) {
        rc = mpipool__error(pool, MPIPOOL_ENOMEM, "%s: out of memory for %d workers", j->func, workers);
        goto cleanup;
    }
    for (int w = 1; w <= workers; w++) {
        size_t first, count;
        mpipool__plan_static(j->n, (size_t)workers, (size_t)w - 1, &first, &count);
        counts[w] = (int)count;
        displs[w] = (int)first;
    }
    for (int w = 1; w <= workers; w++)
        MPIPOOL__MPI(pool, MPI_Isend(&h, (int)sizeof h, MPI_BYTE, w, MPIPOOL__TAG_WORK, pool->comm, &reqs[w - 1]));
    MPIPOOL__MPI(pool, MPI_Waitall(workers, reqs, MPI_STATUSES_IGNORE));
    MPIPOOL__MPI(pool, MPI_Type_contiguous((int)j->in_size, MPI_BYTE, &tin));
    MPIPOOL__MPI(pool, MPI_Type_commit(&tin));
    MPIPOOL__MPI(pool, MPI_Type_contiguous((int)j->out_size, MPI_BYTE, &tout));
    MPIPOOL__MPI(pool, MPI_Type_commit(&tout));
    MPIPOOL__MPI(pool, MPI_Scatterv(j->in, counts, displs, tin, NULL, 0, tin, 0, pool->comm));
    MPIPOOL__MPI(pool, MPI_Gatherv(NULL, 0, tout, j->out, counts, displs, tout, 0, pool->comm));
    for (int w = 1; w <= workers; w++) {
        mpipool__result_hdr rh;
        MPIPOOL__MPI(pool, MPI_Recv(&rh, (int)sizeof rh, MPI_BYTE, w, MPIPOOL__TAG_STATUS, pool->comm,
                                    MPI_STATUS_IGNORE));
        if (rh.nfail) {
            char msg[MPIPOOL__MSG_MAX];
            MPI_Status st;
            int got = 0;
            MPIPOOL__MPI(pool, MPI_Recv(msg, (int)sizeof msg, MPI_CHAR, w, MPIPOOL__TAG_FAIL, pool->comm, &st));
            MPI_Get_count(&st, MPI_CHAR, &got);
            msg[got > 0 && got <= (int)sizeof msg ? got - 1 : 0] = '\0';
            note_failure(j, rh.nfail, rh.first_fail, w, msg);
        }
    }
    rc = finish(j);
cleanup:
    if (tin != MPI_DATATYPE_NULL) MPI_Type_free(&tin);
    if (tout != MPI_DATATYPE_NULL) MPI_Type_free(&tout);
    free(counts);
    free(displs);
    free(reqs);
    return rc;
}

static int do_map(const char *func, mpipool *pool, mpipool_fn fn, const void *in, size_t in_size,
                  void *out, size_t out_size, size_t n, const mpipool_map_options *options) {
    char msg[MPIPOOL__MSG_MAX];
    if (pool == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: pool is NULL", func);
    if (!mpipool__live_has(pool))
        return mpipool__error(NULL, MPIPOOL_ECLOSED, "%s: the pool is closed (or was never opened)", func);
    pool->err[0] = '\0';
    if (pool->rank != 0)
        return mpipool__error(pool, MPIPOOL_ENOTMASTER, "%s: called on rank %d; only the master (rank 0) maps",
                              func, pool->rank);
    if (fn == NULL) return mpipool__error(pool, MPIPOOL_EINVAL, "%s: fn is NULL", func);
    int rc = mpipool__check_map_args(in, in_size, out, out_size, n, options, msg, sizeof msg);
    if (rc != MPIPOOL_OK) return mpipool__error(pool, rc, "%s: %s", func, msg);
    size_t index;
    if (mpipool__registry_find_fn(fn, &index) != MPIPOOL_OK)
        return mpipool__error(pool, MPIPOOL_ENOTREG, "%s: the task function at %p is not registered "
                              "(add MPIPOOL_TASK(fn) at file scope, or mpipool_register(\"fn\", fn) "
                              "on every rank before mpipool_open)", func, (void *)(size_t)fn);
    if (n == 0) return MPIPOOL_OK;

    job j;
    memset(&j, 0, sizeof j);
    j.pool = pool;
    j.func = func;
    j.fn_index = index;
    j.in = in;
    j.out = out;
    j.in_size = in_size;
    j.out_size = out_size;
    j.n = n;
    j.user_chunk = options ? options->chunk_size : 0;
    j.max_chunk = mpipool__plan_max_items(in_size, out_size, sizeof(mpipool__work_hdr), CHUNK_BYTES_CAP);
    j.min_chunk = 1;
    j.per_item = -1.0;
    j.job = pool->next_job++;

    if (pool->size == 1) return run_inline(&j);
    /* Scatterv counts and displacements are ints (in items). */
    if (options && options->schedule == MPIPOOL_SCHEDULE_STATIC && n <= (size_t)0x7fffffff)
        return run_static(&j);
    return run_dynamic(&j);
}

int mpipool_map(mpipool *pool, mpipool_fn fn, const void *in, size_t in_size, void *out,
                size_t out_size, size_t n, const mpipool_map_options *options) {
    return do_map("mpipool_map", pool, fn, in, in_size, out, out_size, n, options);
}

int mpipool_apply(mpipool *pool, mpipool_fn fn, const void *in, size_t in_size, void *out,
                  size_t out_size) {
    return do_map("mpipool_apply", pool, fn, in, in_size, out, out_size, 1, NULL);
}
