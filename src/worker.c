/*
 * worker.c — the worker loop: receive a chunk, run its items, send the
 * results back, until the master says stop.
 *
 * Invariant: a worker has at most two result messages in flight (the
 * master keeps at most two chunks in flight per worker), so it never waits
 * for the master between chunks: the next chunk is usually already here when
 * one finishes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "wire.h"

/* The task a function sees, plus what mpipool_task_fail() writes into. */
typedef struct {
    mpipool_task task;
    int has_msg;
    char msg[MPIPOOL__MSG_MAX];
} exec_ctx;

int mpipool_task_fail(mpipool_task *task, const char *fmt, ...) {
    if (task == NULL) return MPIPOOL_EINVAL;
    exec_ctx *ctx = (exec_ctx *)(void *)((char *)task - offsetof(exec_ctx, task));
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
        va_end(ap);
        ctx->has_msg = 1;
    }
    return MPIPOOL_ETASK;
}

void mpipool__fails_reset(mpipool__fails *f) {
    f->len = 0;
    f->nfail = 0;
    f->first_fail = 0;
}

void mpipool__fails_free(mpipool__fails *f) {
    free(f->p);
    memset(f, 0, sizeof *f);
}

static void fails_add(mpipool__fails *f, uint64_t index, const char *msg) {
    uint32_t mlen = (uint32_t)strlen(msg);
    if (f->nfail++ == 0) f->first_fail = index;
    if (f->len + 12 + mlen > MPIPOOL__FAILS_MAX) mlen = 0;
    if (f->len + 12 + mlen > MPIPOOL__FAILS_MAX) return; /* counted, not described */
    if (f->len + 12 + mlen > f->cap) {
        size_t ncap = f->cap ? f->cap : 1024;
        while (ncap < f->len + 12 + mlen) ncap *= 2;
        char *p = realloc(f->p, ncap);
        if (p == NULL) return;
        f->p = p;
        f->cap = ncap;
    }
    memcpy(f->p + f->len, &index, 8);
    memcpy(f->p + f->len + 8, &mlen, 4);
    memcpy(f->p + f->len + 12, msg, mlen);
    f->len += 12 + mlen;
}

int mpipool__fails_next(const char *p, size_t len, size_t *off, uint64_t *index,
                        const char **msg, uint32_t *mlen) {
    if (*off + 12 > len) return 0;
    memcpy(index, p + *off, 8);
    memcpy(mlen, p + *off + 8, 4);
    if (*mlen > len - *off - 12) return 0;
    *msg = p + *off + 12;
    *off += 12 + *mlen;
    return 1;
}

uint64_t mpipool__run_items(mpipool_fn fn, const char *in, size_t in_size,
                            char *out, size_t out_size, uint64_t first,
                            uint64_t count, int rank, mpipool__fails *f) {
    exec_ctx ctx;
    mpipool__fails_reset(f);
    if (count) memset(out, 0, (size_t)count * out_size);
    for (uint64_t i = 0; i < count; i++) {
        ctx.task.in = in + i * in_size;
        ctx.task.in_size = in_size;
        ctx.task.out = out + i * out_size;
        ctx.task.out_size = out_size;
        ctx.task.index = (size_t)(first + i);
        ctx.task.rank = rank;
        ctx.task.state = NULL;
        ctx.has_msg = 0;
        int trc = fn(&ctx.task);
        if (trc != 0) {
            if (!ctx.has_msg) snprintf(ctx.msg, sizeof ctx.msg, "returned %d", trc);
            fails_add(f, first + i, ctx.msg);
        }
    }
    return f->nfail;
}

/* A growable byte buffer. */
typedef struct {
    char *p;
    size_t cap;
} buf;

static int buf_reserve(buf *b, size_t n) {
    if (n <= b->cap) return 0;
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < n) ncap *= 2;
    char *p = realloc(b->p, ncap);
    if (p == NULL) return -1;
    b->p = p;
    b->cap = ncap;
    return 0;
}

typedef struct {
    mpipool *pool;
    buf in;
    buf out[2];             /* results being sent, alternately        */
    MPI_Request sreq[2];
    int next;               /* which out buffer the next chunk uses   */
    mpipool__fails fails;
} worker;

static int lookup_fn(worker *wk, const mpipool__work_hdr *h, mpipool_fn *fn) {
    *fn = mpipool__registry_fn(h->fn);
    if (*fn == NULL)
        return mpipool__error(wk->pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: the master asked for task #%u "
                              "but only %zu are registered", wk->pool->rank, h->fn, mpipool__registry_count());
    return MPIPOOL_OK;
}

static int run_chunk(worker *wk, const mpipool__work_hdr *h, size_t got) {
    mpipool *pool = wk->pool;
    int rc = MPIPOOL_OK;
    mpipool_fn fn;
    if (got != sizeof *h + h->count * h->in_size)
        return mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: chunk of %zu bytes, "
                              "expected %llu", pool->rank, got,
                              (unsigned long long)(sizeof *h + h->count * h->in_size));
    if ((rc = lookup_fn(wk, h, &fn)) != MPIPOOL_OK) return rc;

    int k = wk->next;
    wk->next ^= 1;
    /* The buffer may still be on its way from two chunks ago. */
    MPIPOOL__MPI(pool, MPI_Wait(&wk->sreq[k], MPI_STATUS_IGNORE));
    size_t bytes = sizeof(mpipool__result_hdr) + h->count * h->out_size;
    if (buf_reserve(&wk->out[k], bytes) != 0)
        return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for %zu bytes of results",
                              pool->rank, bytes);
    mpipool__result_hdr rh = {h->job, h->first, h->count, 0, 0, 0.0};
    double t0 = MPI_Wtime();
    rh.nfail = mpipool__run_items(fn, wk->in.p + sizeof *h, h->in_size,
                                  wk->out[k].p + sizeof rh, h->out_size, h->first,
                                  h->count, pool->rank, &wk->fails);
    rh.first_fail = wk->fails.first_fail;
    rh.busy = MPI_Wtime() - t0;
    memcpy(wk->out[k].p, &rh, sizeof rh);
    MPIPOOL__MPI(pool, MPI_Isend(wk->out[k].p, (int)bytes, MPI_BYTE, 0, MPIPOOL__TAG_RESULT, pool->comm, &wk->sreq[k]));
    if (rh.nfail)
        MPIPOOL__MPI(pool, MPI_Send(wk->fails.p, (int)wk->fails.len, MPI_BYTE, 0, MPIPOOL__TAG_FAIL, pool->comm));
cleanup:
    return rc;
}

static int run_static(worker *wk, const mpipool__work_hdr *h) {
    mpipool *pool = wk->pool;
    int rc = MPIPOOL_OK;
    MPI_Datatype tin = MPI_DATATYPE_NULL, tout = MPI_DATATYPE_NULL;
    mpipool_fn fn = NULL;
    size_t first, count;
    buf data = {NULL, 0}, res = {NULL, 0};
    mpipool__result_hdr rh = {h->job, 0, 0, 0, 0, 0.0};
    /* Even if something is wrong locally we must enter both collectives, or
     * every other rank would hang; we report it in the status instead. */
    int bad = lookup_fn(wk, h, &fn) != MPIPOOL_OK;
    mpipool__plan_static(h->count, (size_t)pool->size - 1, (size_t)pool->rank - 1, &first, &count);
    if (buf_reserve(&data, count * h->in_size + 1) || buf_reserve(&res, count * h->out_size + 1)) {
        rc = mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for a static share of %zu items",
                            pool->rank, count);
        goto cleanup;
    }
    MPIPOOL__MPI(pool, MPI_Type_contiguous((int)h->in_size, MPI_BYTE, &tin));
    MPIPOOL__MPI(pool, MPI_Type_commit(&tin));
    MPIPOOL__MPI(pool, MPI_Type_contiguous((int)h->out_size, MPI_BYTE, &tout));
    MPIPOOL__MPI(pool, MPI_Type_commit(&tout));
    MPIPOOL__MPI(pool, MPI_Scatterv(NULL, NULL, NULL, tin, data.p, (int)count, tin, 0, pool->comm));
    rh.first = first;
    rh.count = count;
    if (!bad) {
        double t0 = MPI_Wtime();
        rh.nfail = mpipool__run_items(fn, data.p, h->in_size, res.p, h->out_size, first, count,
                                      pool->rank, &wk->fails);
        rh.first_fail = wk->fails.first_fail;
        rh.busy = MPI_Wtime() - t0;
    } else {
        memset(res.p, 0, count * h->out_size);
        mpipool__fails_reset(&wk->fails);
        for (size_t i = 0; i < count; i++) fails_add(&wk->fails, first + i, pool->err);
        rh.nfail = wk->fails.nfail;
        rh.first_fail = wk->fails.first_fail;
    }
    MPIPOOL__MPI(pool, MPI_Gatherv(res.p, (int)count, tout, NULL, NULL, NULL, tout, 0, pool->comm));
    MPIPOOL__MPI(pool, MPI_Send(&rh, (int)sizeof rh, MPI_BYTE, 0, MPIPOOL__TAG_STATUS, pool->comm));
    if (rh.nfail)
        MPIPOOL__MPI(pool, MPI_Send(wk->fails.p, (int)wk->fails.len, MPI_BYTE, 0, MPIPOOL__TAG_FAIL, pool->comm));
cleanup:
    if (tin != MPI_DATATYPE_NULL) MPI_Type_free(&tin);
    if (tout != MPI_DATATYPE_NULL) MPI_Type_free(&tout);
    free(data.p);
    free(res.p);
    return rc;
}

static int serve_loop(worker *wk) {
    mpipool *pool = wk->pool;
    int rc = MPIPOOL_OK;
    mpipool__backoff bo;
    for (;;) {
        int flag = 0, bytes = 0;
        MPI_Message msg;
        MPI_Status st;
        mpipool__backoff_reset(&bo);
        for (;;) {
            MPIPOOL__MPI(pool, MPI_Improbe(0, MPI_ANY_TAG, pool->comm, &flag, &msg, &st));
            if (flag) break;
            mpipool__backoff_wait(&bo);
        }
        MPIPOOL__MPI(pool, MPI_Get_count(&st, MPI_BYTE, &bytes));
        if (st.MPI_TAG == MPIPOOL__TAG_STOP) {
            MPIPOOL__MPI(pool, MPI_Mrecv(NULL, 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE));
            break;
        }
        if (st.MPI_TAG != MPIPOOL__TAG_WORK || (size_t)bytes < sizeof(mpipool__work_hdr)) {
            /* Receive it anyway so nothing is left pending, then give up. */
            if (buf_reserve(&wk->in, (size_t)bytes + 1) == 0)
                MPI_Mrecv(wk->in.p, bytes, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
            rc = mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: unexpected message "
                                "(tag %d, %d bytes) from the master", pool->rank, st.MPI_TAG, bytes);
            goto cleanup;
        }
        if (buf_reserve(&wk->in, (size_t)bytes) != 0) {
            rc = mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for a %d-byte chunk",
                                pool->rank, bytes);
            goto cleanup;
        }
        MPIPOOL__MPI(pool, MPI_Mrecv(wk->in.p, bytes, MPI_BYTE, &msg, MPI_STATUS_IGNORE));
        mpipool__work_hdr h;
        memcpy(&h, wk->in.p, sizeof h);
        if (h.kind == MPIPOOL__KIND_CHUNK)
            rc = run_chunk(wk, &h, (size_t)bytes);
        else if (h.kind == MPIPOOL__KIND_STATIC)
            rc = run_static(wk, &h);
        else
            rc = mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: unknown work kind %u",
                                pool->rank, h.kind);
        if (rc != MPIPOOL_OK) goto cleanup;
    }
cleanup:
    return rc;
}

int mpipool_serve(mpipool *pool) {
    if (pool == NULL || !mpipool__live_has(pool))
        return mpipool__error(NULL, MPIPOOL_ECLOSED, "mpipool_serve: the pool is not open");
    if (pool->rank == 0)
        return mpipool__error(pool, MPIPOOL_ENOTWORKER, "mpipool_serve: called on the master (rank 0); "
                              "only workers serve (use `if (!mpipool_is_master(pool)) return mpipool_serve(pool);`)");
    worker wk;
    memset(&wk, 0, sizeof wk);
    wk.pool = pool;
    wk.sreq[0] = wk.sreq[1] = MPI_REQUEST_NULL;
    int rc = serve_loop(&wk);
    MPI_Waitall(2, wk.sreq, MPI_STATUSES_IGNORE);
    free(wk.in.p);
    free(wk.out[0].p);
    free(wk.out[1].p);
    mpipool__fails_free(&wk.fails);
    if (rc != MPIPOOL_OK) {
        /* Nobody else will hear of it: the pool is freed below. */
        fprintf(stderr, "mpipool [rank %d]: %s (%s)\n", pool->rank, pool->err, mpipool_err_name(rc));
        mpipool__error(NULL, rc, "%s", pool->err);
    }
    mpipool__teardown(pool);
    return rc;
}
