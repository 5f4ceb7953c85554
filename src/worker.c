/*
 * worker.c — the worker loop: receive a chunk, run its items, send the
 * results back, until the master says stop.
 *
 * Invariant: a worker has at most two result messages in flight (the
 * master keeps at most two chunks in flight per worker), so it never waits
 * for the master between chunks: the next chunk is usually already here when
 * one finishes.
 */
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "group.h"
#include "internal.h"
#include "wire.h"

/* The task a function sees, plus what mpipool_task_fail() writes into. */
typedef struct {
    mpipool_task task;
    int has_msg;
    mpipool__vout *vout;   /* variable results: this item starts at base */
    const mpipool *pool;
    size_t base;
    char msg[MPIPOOL__MSG_MAX];
} exec_ctx;

static exec_ctx *ctx_of(mpipool_task *task) {
    return (exec_ctx *)(void *)((char *)task - offsetof(exec_ctx, task));
}

const void *mpipool_task_shared(const mpipool_task *task, const char *name, size_t *size) {
    if (task == NULL) return NULL;
    return mpipool_shared(ctx_of((mpipool_task *)(uintptr_t)task)->pool, name, size);
}

void *mpipool_task_output(mpipool_task *task, size_t size) {
    if (task == NULL) return NULL;
    exec_ctx *ctx = ctx_of(task);
    if (ctx->vout == NULL) return size <= task->out_size ? task->out : NULL;
    mpipool__vout *v = ctx->vout;
    if (size > SIZE_MAX / 2 - ctx->base) return NULL;
    if (ctx->base + size + 1 > v->cap) { /* +1: never hand out NULL, even for 0 bytes */
        size_t ncap = v->cap ? v->cap : 4096;
        while (ncap < ctx->base + size + 1) ncap *= 2;
        char *p = realloc(v->p, ncap);
        if (p == NULL) return NULL;
        v->p = p;
        v->cap = ncap;
    }
    task->out = v->p + ctx->base;
    task->out_size = size;
    return task->out;
}

void mpipool__vout_free(mpipool__vout *v) {
    free(v->p);
    free(v->sizes);
    memset(v, 0, sizeof *v);
}

int mpipool_task_fail(mpipool_task *task, const char *fmt, ...) {
    if (task == NULL) return MPIPOOL_EINVAL;
    exec_ctx *ctx = ctx_of(task);
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

/* The worker's state could not be renewed: its items fail with this. */
static int renewal_failed(exec_ctx *ctx, const mpipool__batch *b) {
    snprintf(ctx->msg, sizeof ctx->msg, "the init hook failed on rank %d when renewing the worker's "
             "state (returned %d)", b->rank, b->pool->init_rc);
    ctx->has_msg = 1;
    return MPIPOOL_EINIT;
}

int64_t mpipool__run_batch(const mpipool__batch *b, mpipool__fails *f) {
    exec_ctx ctx;
    const char *in = b->in;
    mpipool__vout *v = b->vout;
    int batch = mpipool__registry_fn_is_batch(b->fn);
    mpipool__fails_reset(f);
    if (v) {
        v->len = 0;
        if (v->nsizes < b->count) {
            uint64_t *sz = realloc(v->sizes, (size_t)(b->count ? b->count : 1) * sizeof *sz);
            if (sz == NULL) return -1;
            v->sizes = sz;
            v->nsizes = (size_t)b->count;
        }
    } else if (b->count && !batch) {
        memset(b->out, 0, (size_t)b->count * b->out_size);
    }
    /* Fields that are the same for every item are set once; the loop only
     * moves the pointers (this loop is the per-item overhead of a map). */
    ctx.task.rank = b->rank;
    ctx.task.state = b->pool ? b->pool->state : NULL;
    ctx.pool = b->pool;
    ctx.vout = v;
    ctx.has_msg = 0;
    ctx.task.count = 1;
    int renew = b->pool && b->pool->hooks.max_tasks_per_worker;
    char *out = b->out;
    if (batch && !v && !b->in_sizes) {
        /* Batch task: one call per run of items, cut only where the
         * worker's state is due for renewal. */
        size_t isz = b->in_size, osz = b->out_size;
        for (uint64_t i = 0; i < b->count;) {
            uint64_t k = b->count - i;
            int trc;
            ctx.task.in = in + i * isz;
            ctx.task.in_size = isz;
            ctx.task.out = out + i * osz;
            ctx.task.out_size = osz;
            ctx.task.index = (size_t)(b->first + i);
            ctx.has_msg = 0;
            if (renew && b->pool->init_rc != 0) {
                trc = renewal_failed(&ctx, b);
            } else {
                if (renew) {
                    size_t left = mpipool__tasks_before_renewal(b->pool);
                    if (k > left) k = left;
                }
                ctx.task.count = (size_t)k;
                trc = b->fn(&ctx.task);
                if (renew) {
                    mpipool__after_tasks(b->pool, (size_t)k);
                    ctx.task.state = b->pool->state;
                }
            }
            if (trc != 0) {
                if (!ctx.has_msg) snprintf(ctx.msg, sizeof ctx.msg, "returned %d", trc);
                /* Nothing of a failed call is trusted: its slots are zeros. */
                memset(out + i * osz, 0, (size_t)k * osz);
                for (uint64_t j = 0; j < k; j++) fails_add(f, b->first + i + j, ctx.msg);
            }
            i += k;
        }
        return (int64_t)f->nfail;
    }
    if (batch) {
        /* Refused by the map calls; a protocol slip must not run it per item. */
        snprintf(ctx.msg, sizeof ctx.msg, "a batch task needs fixed-size items and results");
        for (uint64_t i = 0; i < b->count; i++) {
            fails_add(f, b->first + i, ctx.msg);
            if (v) v->sizes[i] = 0;
        }
        if (v) v->len = 0;
        return (int64_t)f->nfail;
    }
    if (!v && !b->in_sizes && !renew) {
        /* The common case, fixed sizes and nothing to renew, kept lean: this
         * loop is the whole per-item cost of a map. */
        mpipool_fn fn = b->fn;
        size_t isz = b->in_size, osz = b->out_size;
        ctx.task.in_size = isz;
        for (uint64_t i = 0; i < b->count; i++) {
            ctx.task.in = in + i * isz;
            ctx.task.out = out + i * osz;
            ctx.task.out_size = osz;
            ctx.task.index = (size_t)(b->first + i);
            int trc = fn(&ctx.task);
            if (trc != 0) {
                if (!ctx.has_msg) snprintf(ctx.msg, sizeof ctx.msg, "returned %d", trc);
                fails_add(f, b->first + i, ctx.msg);
                ctx.has_msg = 0;
            }
        }
        return (int64_t)f->nfail;
    }
    for (uint64_t i = 0; i < b->count; i++) {
        size_t isz = b->in_sizes ? (size_t)b->in_sizes[i] : b->in_size;
        ctx.task.in = in;
        ctx.task.in_size = isz;
        in += isz;
        if (v) {
            ctx.base = v->len;
            ctx.task.out = NULL;
            ctx.task.out_size = 0;
        } else {
            ctx.task.out = out;
            ctx.task.out_size = b->out_size;
            out += b->out_size;
        }
        ctx.task.index = (size_t)(b->first + i);
        ctx.has_msg = 0;
        int trc;
        if (renew && b->pool->init_rc != 0) {
            trc = renewal_failed(&ctx, b);
        } else {
            trc = b->fn(&ctx.task);
            if (renew) {
                mpipool__after_task(b->pool);
                ctx.task.state = b->pool->state;
            }
        }
        if (trc != 0) {
            if (!ctx.has_msg) snprintf(ctx.msg, sizeof ctx.msg, "returned %d", trc);
            fails_add(f, b->first + i, ctx.msg);
        }
        if (v) {
            /* A failed item's partial result is dropped. */
            size_t osz = trc == 0 ? ctx.task.out_size : 0;
            v->sizes[i] = osz;
            v->len = ctx.base + osz;
        }
    }
    return (int64_t)f->nfail;
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
    mpipool__vout vout;
    buf sdata, sres;        /* static share and its results, kept across maps:
                               a fresh 100 MB buffer per map costs its page faults */
    int parent;             /* who sent the chunk being run: the master, or our leader */
    mpipool__group *group;  /* we lead a group (group.c), or NULL */
} worker;

static int lookup_fn(worker *wk, const mpipool__work_hdr *h, mpipool_fn *fn) {
    *fn = mpipool__registry_fn(h->fn);
    if (*fn == NULL)
        return mpipool__error(wk->pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: the master asked for task #%u "
                              "but only %zu are registered", wk->pool->rank, h->fn, mpipool__registry_count());
    return MPIPOOL_OK;
}


/* Send result buffer k (header rh + payload, `bytes` in all).  Up to a
 * piece: one nonblocking send.  Larger: the header alone, then the rest in
 * pieces with blocking sends, which complete because the master takes them
 * at once (pre-posted receives for fixed results; received right after the
 * probed header for variable ones; see wire.h).  Returns an MPI code. */
static int send_result(worker *wk, int k, mpipool__result_hdr *rh, size_t bytes, int tag, int piece_tag) {
    mpipool *pool = wk->pool;
    const char *msg = wk->out[k].p;
    size_t h = sizeof *rh;
    rh->pieces = bytes > pool->piece ? bytes - h : 0;
    memcpy(wk->out[k].p, rh, h);
    if (rh->pieces == 0) return MPI_Isend(msg, (int)bytes, MPI_BYTE, wk->parent, tag, pool->comm, &wk->sreq[k]);
    int rc = MPI_Send(msg, (int)h, MPI_BYTE, wk->parent, tag, pool->comm);
    for (size_t off = h; rc == MPI_SUCCESS && off < bytes; off += pool->piece) {
        size_t len = bytes - off < pool->piece ? bytes - off : pool->piece;
        rc = MPI_Send(msg + off, (int)len, MPI_BYTE, wk->parent, piece_tag, pool->comm);
    }
    return rc;
}

static int run_chunk(worker *wk, const mpipool__work_hdr *h, size_t got) {
    mpipool *pool = wk->pool;
    int rc = MPIPOOL_OK;
    mpipool_fn fn;
    const uint64_t *in_sizes;
    const char *data;
    if (mpipool__chunk_layout(h, wk->in.p, got, &in_sizes, &data) != 0)
        return mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: a chunk of %zu bytes does not "
                              "hold the %llu items its header announces", pool->rank, got,
                              (unsigned long long)h->count);
    if ((rc = lookup_fn(wk, h, &fn)) != MPIPOOL_OK) return rc;

    int k = wk->next;
    wk->next ^= 1;
    /* The buffer may still be on its way from two chunks ago. */
    MPIPOOL__MPI(pool, MPI_Wait(&wk->sreq[k], MPI_STATUS_IGNORE));
    int var_out = h->out_size == MPIPOOL__VAR;
    size_t bytes = sizeof(mpipool__result_hdr) + (var_out ? 0 : h->count * h->out_size);
    if (buf_reserve(&wk->out[k], bytes) != 0)
        return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for %zu bytes of results",
                              pool->rank, bytes);
    mpipool__result_hdr rh = {h->job, h->first, h->count, 0, 0, 0, 0, 0.0, 0};
    mpipool__batch b = {fn, data, var_out ? 0 : (size_t)h->in_size, in_sizes,
                        var_out ? NULL : wk->out[k].p + sizeof rh, var_out ? 0 : (size_t)h->out_size,
                        var_out ? &wk->vout : NULL, h->first, h->count, pool->rank, pool};
    if (in_sizes == NULL) b.in_size = (size_t)h->in_size;
    double t0 = MPI_Wtime();
    int64_t nfail = mpipool__run_batch(&b, &wk->fails);
    rh.busy = MPI_Wtime() - t0;
    if (nfail < 0)
        return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for results", pool->rank);
    rh.nfail = (uint64_t)nfail;
    rh.first_fail = wk->fails.first_fail;
    if (var_out) {
        /* result_hdr | sizes[count] | data | failure records, one message:
         * it is probed for, so it carries its own failures. */
        size_t nsz = (size_t)h->count * 8;
        rh.fail_bytes = wk->fails.len;
        bytes = sizeof rh + nsz + wk->vout.len + wk->fails.len;
        if (buf_reserve(&wk->out[k], bytes) != 0)
            return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for %zu bytes of results",
                                  pool->rank, bytes);
        char *p = wk->out[k].p + sizeof rh;
        if (nsz) memcpy(p, wk->vout.sizes, nsz);
        if (wk->vout.len) memcpy(p + nsz, wk->vout.p, wk->vout.len);
        if (wk->fails.len) memcpy(p + nsz + wk->vout.len, wk->fails.p, wk->fails.len);
        MPIPOOL__MPI(pool, send_result(wk, k, &rh, bytes, MPIPOOL__TAG_VRESULT, MPIPOOL__TAG_VPIECE));
        goto cleanup;
    }
    MPIPOOL__MPI(pool, send_result(wk, k, &rh, bytes, MPIPOOL__TAG_RESULT, MPIPOOL__TAG_RPIECE));
    if (rh.nfail)
        MPIPOOL__MPI(pool, MPI_Send(wk->fails.p, (int)wk->fails.len, MPI_BYTE, wk->parent, MPIPOOL__TAG_FAIL, pool->comm));
cleanup:
    return rc;
}

static int run_static(worker *wk, const mpipool__work_hdr *h) {
    mpipool *pool = wk->pool;
    int rc = MPIPOOL_OK;
    MPI_Datatype tin = MPI_DATATYPE_NULL, tout = MPI_DATATYPE_NULL;
    mpipool_fn fn = NULL;
    size_t first, count;
    buf *data = &wk->sdata, *res = &wk->sres;
    mpipool__result_hdr rh = {h->job, 0, 0, 0, 0, 0, 0, 0.0, 0};
    /* Even if something is wrong locally we must enter both collectives, or
     * every other rank would hang; we report it in the status instead. */
    int bad = lookup_fn(wk, h, &fn) != MPIPOOL_OK;
    mpipool__plan_static(h->count, (size_t)pool->size - 1, (size_t)pool->rank - 1, &first, &count);
    if (buf_reserve(data, count * h->in_size + 1) || buf_reserve(res, count * h->out_size + 1)) {
        rc = mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for a static share of %zu items",
                            pool->rank, count);
        goto cleanup;
    }
    MPIPOOL__MPI(pool, MPI_Type_contiguous((int)h->in_size, MPI_BYTE, &tin));
    MPIPOOL__MPI(pool, MPI_Type_commit(&tin));
    MPIPOOL__MPI(pool, MPI_Type_contiguous((int)h->out_size, MPI_BYTE, &tout));
    MPIPOOL__MPI(pool, MPI_Type_commit(&tout));
    MPIPOOL__MPI(pool, MPI_Scatterv(NULL, NULL, NULL, tin, data->p, (int)count, tin, 0, pool->comm));
    rh.first = first;
    rh.count = count;
    if (!bad) {
        double t0 = MPI_Wtime();
        mpipool__batch b = {fn, data->p, (size_t)h->in_size, NULL, res->p, (size_t)h->out_size, NULL,
                            first, count, pool->rank, pool};
        rh.nfail = (uint64_t)mpipool__run_batch(&b, &wk->fails);
        rh.first_fail = wk->fails.first_fail;
        rh.busy = MPI_Wtime() - t0;
    } else {
        memset(res->p, 0, count * h->out_size);
        mpipool__fails_reset(&wk->fails);
        for (size_t i = 0; i < count; i++) fails_add(&wk->fails, first + i, pool->err);
        rh.nfail = wk->fails.nfail;
        rh.first_fail = wk->fails.first_fail;
    }
    MPIPOOL__MPI(pool, MPI_Gatherv(res->p, (int)count, tout, NULL, NULL, NULL, tout, 0, pool->comm));
    MPIPOOL__MPI(pool, MPI_Send(&rh, (int)sizeof rh, MPI_BYTE, 0, MPIPOOL__TAG_STATUS, pool->comm));
    if (rh.nfail)
        MPIPOOL__MPI(pool, MPI_Send(wk->fails.p, (int)wk->fails.len, MPI_BYTE, 0, MPIPOOL__TAG_FAIL, pool->comm));
cleanup:
    if (tin != MPI_DATATYPE_NULL) MPI_Type_free(&tin);
    if (tout != MPI_DATATYPE_NULL) MPI_Type_free(&tout);
    return rc;
}

/* Finish every group chunk we lead (before the master's next message is
 * handled, so answers keep the order of the chunks). */
static int group_drain(worker *wk) {
    mpipool__backoff bo;
    mpipool__backoff_reset(&bo);
    while (mpipool__group_busy(wk->group)) {
        int moved = 0, rc = mpipool__group_progress(wk->group, &moved);
        if (rc != MPIPOOL_OK) return rc;
        if (moved) {
            mpipool__backoff_reset(&bo);
        } else {
            bo.due = mpipool__group_due(wk->group);
            mpipool__backoff_wait(&bo);
        }
    }
    return MPIPOOL_OK;
}

static int serve_loop(worker *wk) {
    mpipool *pool = wk->pool;
    int rc = MPIPOOL_OK;
    mpipool__backoff bo;
    for (;;) {
        int flag = 0, bytes = 0;
        mpipool__msg msg;
        MPI_Status st;
        mpipool__backoff_reset(&bo);
        for (;;) {
            /* Work comes from the master or, for a member, from its leader; a
             * leader hears only the master (its members' TAG_FAILs are its own). */
            MPIPOOL__MPI(pool, mpipool__improbe(wk->group ? 0 : MPI_ANY_SOURCE, MPI_ANY_TAG, pool->comm, &flag,
                                                &msg, &st));
            if (flag) break;
            if (wk->group) {
                int moved = 0;
                if ((rc = mpipool__group_progress(wk->group, &moved)) != MPIPOOL_OK) goto cleanup;
                if (moved) {
                    mpipool__backoff_reset(&bo);
                    continue;
                }
            }
            /* A large result still leaving moves only while we are inside
             * MPI: keep polling (yielding the core) until it is gone. */
            int sent = 1;
            MPIPOOL__MPI(pool, MPI_Testall(2, wk->sreq, &sent, MPI_STATUSES_IGNORE));
#if MPIPOOL__SIMULATED
            /* In SimGrid every poll of every idle rank is a simulator event:
             * at 4096 ranks that is most of the wall time.  A worker with
             * nothing to do waits in a receive instead, into wk->in with
             * room for a piece and the byte the paths below may reserve
             * (so it is not moved under the message).  It reacts at once,
             * where the real one reacts within its backoff. */
            if (sent && !wk->group) {
                if (buf_reserve(&wk->in, pool->piece + 1) == 0) {
                    MPIPOOL__MPI(pool, mpipool__mwait(MPI_ANY_SOURCE, MPI_ANY_TAG, pool->comm, wk->in.p,
                                                      (int)pool->piece, &msg, &st));
                } else {
                    MPIPOOL__MPI(pool, mpipool__mprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, pool->comm, &msg, &st));
                }
                break;
            }
#endif
            if (!sent) {
                mpipool__yield();
            } else {
                if (wk->group) bo.due = mpipool__group_due(wk->group);
                mpipool__backoff_wait(&bo);
            }
        }
        MPIPOOL__MPI(pool, MPI_Get_count(&st, MPI_BYTE, &bytes));
        wk->parent = st.MPI_SOURCE;
        if (st.MPI_TAG == MPIPOOL__TAG_STOP) {
            MPIPOOL__MPI(pool, mpipool__mrecv(NULL, 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE));
            rc = group_drain(wk); /* nothing should be left: the master drained first */
            break;
        }
        if (st.MPI_TAG != MPIPOOL__TAG_WORK || (size_t)bytes < sizeof(mpipool__work_hdr)) {
            /* Receive it anyway so nothing is left pending, then give up. */
            if (buf_reserve(&wk->in, (size_t)bytes + 1) == 0)
                mpipool__mrecv(wk->in.p, bytes, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
            rc = mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: unexpected message "
                                "(tag %d, %d bytes) from the master", pool->rank, st.MPI_TAG, bytes);
            goto cleanup;
        }
        if (buf_reserve(&wk->in, (size_t)bytes) != 0) {
            rc = mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for a %d-byte chunk",
                                pool->rank, bytes);
            goto cleanup;
        }
        MPIPOOL__MPI(pool, mpipool__mrecv(wk->in.p, bytes, MPI_BYTE, &msg, MPI_STATUS_IGNORE));
        mpipool__work_hdr h;
        memcpy(&h, wk->in.p, sizeof h);
        size_t got = (size_t)bytes;
        if (h.pieces) {
            /* The payload follows in pieces, sent right after the header. */
            if (bytes != (int)sizeof h || buf_reserve(&wk->in, sizeof h + (size_t)h.pieces) != 0) {
                rc = mpipool__error(pool, bytes != (int)sizeof h ? MPIPOOL_EPROTO : MPIPOOL_ENOMEM,
                                    "mpipool_serve: rank %d: cannot take a %llu-byte chunk in pieces",
                                    pool->rank, (unsigned long long)h.pieces);
                goto cleanup;
            }
            for (size_t off = 0; off < h.pieces; off += pool->piece) {
                size_t len = (size_t)h.pieces - off < pool->piece ? (size_t)h.pieces - off : pool->piece;
                MPIPOOL__MPI(pool, MPI_Recv(wk->in.p + sizeof h + off, (int)len, MPI_BYTE, wk->parent,
                                            MPIPOOL__TAG_WPIECE, pool->comm, MPI_STATUS_IGNORE));
            }
            got = sizeof h + (size_t)h.pieces;
        }
        if (h.kind == MPIPOOL__KIND_GROUP && wk->parent == 0) {
            rc = mpipool__group_take(pool, &wk->group, &h, wk->in.p, got);
            if (rc != MPIPOOL_OK) goto cleanup;
            continue;
        }
        /* Anything else from the master comes after the group's chunks: answer
         * those first, in order (and a static map needs every rank). */
        if (wk->parent == 0 && (rc = group_drain(wk)) != MPIPOOL_OK) goto cleanup;
        if (h.kind == MPIPOOL__KIND_CHUNK)
            rc = run_chunk(wk, &h, got);
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
    free(wk.sdata.p);
    free(wk.sres.p);
    mpipool__vout_free(&wk.vout);
    mpipool__group_free(wk.group);
    if (rc != MPIPOOL_OK) {
        /* Nobody else will hear of it: the pool is freed below. */
        fprintf(stderr, "mpipool [rank %d]: %s (%s)\n", pool->rank, pool->err, mpipool_err_name(rc));
        mpipool__error(NULL, rc, "%s", pool->err);
    }
    mpipool__teardown(pool);
    return rc;
}
