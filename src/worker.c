/*
 * worker.c — the worker loop: receive a chunk, run its items, send the
 * results back, until the master says stop.
 *
 * Invariants:
 *  - a worker has at most two result messages in flight (the master keeps
 *    at most two chunks in flight per worker), so it never waits for the
 *    master between chunks: the next chunk is usually already here when one
 *    finishes;
 *  - while a chunk runs, the worker looks for a TAG_RECLAIM from whoever
 *    sent it between runs of items (pace.c), and if the master (or its
 *    group leader) wants the chunk's unstarted items back, it stops there
 *    (running the chunk's last item if only that is left: pace.c says
 *    why; wire.h, reclaim.c, group_back.c);
 *  - a leader answers the master's TAG_TAKE_BACK as soon as every chunk
 *    the master sent before it is here (group_back.c: which chunks it
 *    gives back depends on that).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "exec.h"
#include "group.h"
#include "internal.h"
#include "pace.h"
#include "signals.h"
#include "watchdog.h"
#include "wire.h"

/* A growable byte buffer. */
typedef struct {
    char *p;
    size_t cap;
} buf;

static int buf_reserve(buf *b, size_t n) { return mpipool__grow(&b->p, &b->cap, n, 4096); }

typedef struct {
    mpipool *pool;
    buf in;
    buf out[2];             /* results being sent, alternately        */
    MPI_Request sreq[2];
    int next;               /* which out buffer the next chunk uses   */
    mpipool__fails fails;
    mpipool__fails captured; /* tasks' output (MPIPOOL_MAP_ORDERED_OUTPUT) */
    mpipool__vout vout;
    buf sdata, sres;        /* static share and its results, kept across maps:
                               a fresh 100 MB buffer per map costs its page faults */
    int parent;             /* who sent the chunk being run: the master, or our leader */
    mpipool__group *group;  /* we lead a group (group.c), or NULL */
    uint64_t from_master;   /* CHUNK and GROUP messages the master sent us */
    uint64_t from_leader;   /* CHUNKs our group leader sent us */
    mpipool__reclaims rcl;  /* what they asked back (pace.c) */
    uint64_t back_upto;     /* the master's TAG_TAKE_BACK: among its first n chunks, */
    int back_wait;          /* ... answered once they are all here (wire.h) */
    buf pin[2];             /* the master's work messages land here, alternately, */
    int pk;                 /* ... pin[pk] from the receive posted ahead: */
    MPI_Request wreq;       /* it, or MPI_REQUEST_NULL (SimGrid; no memory) */
    const char *stash;      /* the message next_message took from it, or NULL */
    int held;               /* 1: the master's next chunk, matched by a probe while the
                               posted receive takes the one before it; 2: its turn */
    mpipool__msg held_msg;
    MPI_Status held_st;
} worker;

/* Polls a worker makes for its next chunk before it asks the wait plan
 * (waitplan.c), which says "poll" for the first WAIT_SPIN (20 us) anyway:
 * these cost no clock read (~30 ns here, as much as the poll itself when
 * the chunk is already on its way: a one-item map's common case). */
#define QUIET_POLLS 8

/* Post the receive for the master's next TAG_WORK ahead, into the pin
 * buffer the chunk being run does not use: it lands there as it arrives
 * (no probe, no unexpected-message copy: a failed probe costs ~3 posted-
 * receive tests, a found one ~400 instructions more; Open MPI).  No TAG_WORK
 * exceeds MPIPOOL__WORK_MSG_MAX (wire.h).  Not in SimGrid (next_message's
 * own wait there; SMPI 3.32 queues a receive posted before its send with
 * the eager messages, where the master's MPI_Issend of a group chunk never
 * looks: posting leaders waited for ever at 1024 ranks).  An MPI code. */
static int post_ahead(worker *wk) {
#if MPIPOOL__SIMULATED
    (void)wk;
    return MPI_SUCCESS;
#else
    if (buf_reserve(&wk->pin[wk->pk], MPIPOOL__WORK_MSG_MAX) != 0) return MPI_SUCCESS; /* probed for instead */
    return MPI_Irecv(wk->pin[wk->pk].p, (int)MPIPOOL__WORK_MSG_MAX, MPI_BYTE, 0, MPIPOOL__TAG_WORK, wk->pool->comm,
                     &wk->wreq);
#endif
}

/* *flag: the receive posted ahead has a message (st), now wk->stash; the
 * next one is posted at once.  An MPI code. */
static int take_posted(worker *wk, MPI_Status *st, int *flag) {
    *flag = 0;
    if (wk->wreq == MPI_REQUEST_NULL) return MPI_SUCCESS;
    int rc = MPI_Test(&wk->wreq, flag, st);
    if (rc != MPI_SUCCESS || !*flag) return rc;
    wk->stash = wk->pin[wk->pk].p;
    wk->pk ^= 1;
    return post_ahead(wk);
}

/* The receive posted ahead is not needed any more (STOP, or leaving). */
static void unpost(worker *wk) {
    if (wk->wreq == MPI_REQUEST_NULL) return;
    MPI_Cancel(&wk->wreq);
    MPI_Wait(&wk->wreq, MPI_STATUS_IGNORE);
}

/* While a receive is posted ahead for the master's chunks, the probe for
 * anything else (TAG_STOP, TAG_RECLAIM, a leader's chunk) runs only every
 * this many polls, unless our last chunk came from a leader (a member
 * waits for its leader's), or we lead a busy group: a pass over the group
 * costs more than the probe, and between two probes it would hand out
 * the chunks a TAG_TAKE_BACK already waiting asks for (wire.h). */
#define PROBE_EVERY 8

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

/* Run the chunk's batch b (results of `bytes` with their header) under
 * the watch, paced for reclamation if the master may ask: rh gets the
 * items run and the time; *nfail the failures. */
static int run_items(worker *wk, const mpipool__work_hdr *h, mpipool__batch *b, size_t bytes,
                     mpipool__result_hdr *rh, int64_t *nfail) {
    mpipool *pool = wk->pool;
    /* Only a chunk of automatic size whose results go in one message may
     * stop early: a map's chunk_size is the calls a batch task sees. */
    int paced = h->reclaim && bytes <= pool->piece;
    mpipool__pacer pc = {&wk->rcl, pool->comm, wk->parent, wk->parent == 0 ? wk->from_master : wk->from_leader,
                         h->count, 0.0, 0, 0.0};
    mpipool__pace pp = {mpipool__pace_next, &pc, h->count};
    if (paced && h->job != wk->rcl.job) {
        wk->rcl.job = h->job;
        wk->rcl.items = 1;
    }
    double t0 = MPI_Wtime();
    (void)mpipool__watch_need(pool, h, pool->recover / 4);
    *nfail = mpipool__watch_batch_paced(b, &wk->fails, h->job, h->task_timeout, paced ? &pp : NULL);
    /* The items' time, not the looks': an oversubscribed rank may yield
     * its core for a whole time slice in each look's MPI_Iprobe, and
     * counted as the items' time that made the master's chunks (sized
     * by it) and so the runs ever shorter, until one item each took a
     * time slice (test_batch under load: 38,000 calls for 50,000 items). */
    rh->busy = MPI_Wtime() - t0 - pc.looked;
    if (wk->rcl.rc != MPI_SUCCESS) {
        int mrc = wk->rcl.rc;
        wk->rcl.rc = MPI_SUCCESS;
        return mpipool__mpi_error(pool, mrc, "mpipool_serve", "MPI_Iprobe/MPI_Recv of a TAG_RECLAIM");
    }
    if (*nfail < 0)
        return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for results", pool->rank);
    rh->count = pp.ran; /* the first items; the master sends the others again */
    /* Fixed-size results keep their full size, zeros for the items given
     * back: the master receives them straight into place with a datatype,
     * and under SMPI (bench/scale) a shorter message into one left even
     * its header unfilled. */
    if (b->vout == NULL && rh->count < h->count)
        memset(b->out + (size_t)rh->count * h->out_size, 0, (size_t)(h->count - rh->count) * h->out_size);
    return MPIPOOL_OK;
}

static int run_chunk(worker *wk, const mpipool__work_hdr *h, const char *msg, size_t got) {
    mpipool *pool = wk->pool;
    int rc = MPIPOOL_OK;
    mpipool_fn fn;
    const uint64_t *in_sizes;
    const char *data;
    if (mpipool__chunk_layout(h, msg, got, &in_sizes, &data) != 0)
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
    mpipool__result_hdr rh = {h->job, h->first, h->count, 0, 0, 0, 0, 0.0, 0, 0, 0, 0};
    mpipool__batch b = {fn, data, var_out ? 0 : (size_t)h->in_size, in_sizes,
                        var_out ? NULL : wk->out[k].p + sizeof rh, var_out ? 0 : (size_t)h->out_size,
                        var_out ? &wk->vout : NULL, h->first, h->count, pool->rank, pool,
                        h->capture ? &wk->captured : NULL};
    if (in_sizes == NULL) b.in_size = (size_t)h->in_size;
    int64_t nfail = 0;
    if ((rc = run_items(wk, h, &b, bytes, &rh, &nfail)) != MPIPOOL_OK) return rc;
    rh.nfail = (uint64_t)nfail;
    rh.first_fail = wk->fails.first_fail;
    rh.out_bytes = b.captured ? wk->captured.len : 0;
    if (var_out) {
        /* result_hdr | sizes[count] | data | failure records, one message:
         * it is probed for, so it carries its own failures. */
        size_t nsz = (size_t)rh.count * 8;
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
    } else {
        MPIPOOL__MPI(pool, send_result(wk, k, &rh, bytes, MPIPOOL__TAG_RESULT, MPIPOOL__TAG_RPIECE));
        if (rh.nfail)
            MPIPOOL__MPI(pool, MPI_Send(wk->fails.p, (int)wk->fails.len, MPI_BYTE, wk->parent, MPIPOOL__TAG_FAIL,
                                        pool->comm));
    }
    if (rh.out_bytes)
        MPIPOOL__MPI(pool, MPI_Send(wk->captured.p, (int)wk->captured.len, MPI_BYTE, wk->parent, MPIPOOL__TAG_OUTPUT,
                                    pool->comm));
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
    mpipool__result_hdr rh = {h->job, 0, 0, 0, 0, 0, 0, 0.0, 0, 0, 0, 0};
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
                            first, count, pool->rank, pool, NULL};
        (void)mpipool__watch_need(pool, h, pool->recover / 4);
        rh.nfail = (uint64_t)mpipool__watch_batch(&b, &wk->fails, h->job, h->task_timeout);
        rh.first_fail = wk->fails.first_fail;
        rh.busy = MPI_Wtime() - t0;
    } else {
        memset(res->p, 0, count * h->out_size);
        mpipool__fails_reset(&wk->fails);
        for (size_t i = 0; i < count; i++) mpipool__fails_add(&wk->fails, first + i, pool->err);
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
            bo.due = mpipool__group_due(wk->group, &bo.pace.most_us);
            mpipool__watch_sleep(&bo);
            mpipool__backoff_wait(&bo);
            mpipool__watch_wake();
        }
    }
    return MPIPOOL_OK;
}

/* Wait for the next message from the master (or, for a member, from its
 * leader; a leader hears only the master: its members' TAG_FAILs are its
 * own), moving a group we lead along meanwhile.  MPIPOOL_OK and the
 * message matched in *msg and *st. */
static int next_message(worker *wk, mpipool__msg *msg, MPI_Status *st) {
    mpipool *pool = wk->pool;
    int rc = MPIPOOL_OK, flag = 0, quiet = 0;
    unsigned polls = 0;
    mpipool__backoff bo;
    mpipool__backoff_reset(&bo);
    if (!wk->group) bo.pace.share = MPIPOOL__WAIT_IDLE_SHARE; /* pure.h says why */
    for (;; polls++) {
        if (wk->held == 2) {
            *msg = wk->held_msg;
            *st = wk->held_st;
            wk->held = 0;
            break;
        }
        MPIPOOL__MPI(pool, take_posted(wk, st, &flag));
        if (flag) {
            wk->held *= 2; /* a held chunk follows this one */
            break;
        }
        if (!wk->held && (wk->wreq == MPI_REQUEST_NULL || wk->parent != 0 || polls % PROBE_EVERY == 0 ||
                          mpipool__group_busy(wk->group))) {
            MPIPOOL__MPI(pool, mpipool__improbe(wk->group ? 0 : MPI_ANY_SOURCE, MPI_ANY_TAG, pool->comm, &flag, msg,
                                                st));
            if (flag && st->MPI_SOURCE == 0 && st->MPI_TAG == MPIPOOL__TAG_WORK && wk->wreq != MPI_REQUEST_NULL) {
                /* The posted receive has matched the chunk before this one
                 * (else it would have matched this one), still arriving. */
                wk->held = 1;
                wk->held_msg = *msg;
                wk->held_st = *st;
                flag = 0;
            }
            if (flag) break;
        }
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
                                                  (int)pool->piece, msg, st));
            } else {
                MPIPOOL__MPI(pool, mpipool__mprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, pool->comm, msg, st));
            }
            break;
        }
#endif
        if (!sent) {
            mpipool__yield();
        } else if (!wk->group && quiet < QUIET_POLLS) {
            quiet++; /* the wait plan would say "poll" (waitplan.c): no clock read */
        } else {
            if (wk->group) bo.due = mpipool__group_due(wk->group, &bo.pace.most_us);
            mpipool__watch_sleep(&bo);
            mpipool__backoff_wait(&bo);
            mpipool__watch_wake();
        }
    }
cleanup:
    return rc;
}

/* Receive the work message matched in *msg (`bytes` long; or taken already:
 * wk->stash) and its pieces: *data (wk->stash or wk->in) holds *got bytes
 * of header and payload. */
static int take_work(worker *wk, mpipool__msg *msg, int tag, int bytes, mpipool__work_hdr *h, const char **data,
                     size_t *got) {
    mpipool *pool = wk->pool;
    int rc = MPIPOOL_OK;
    const char *stash = wk->stash;
    wk->stash = NULL;
    if (stash && (size_t)bytes >= sizeof *h) {
        memcpy(h, stash, sizeof *h);
        *data = stash;
        *got = (size_t)bytes;
        if (h->pieces == 0) return MPIPOOL_OK;
        if (buf_reserve(&wk->in, (size_t)bytes) != 0)
            return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for a %d-byte chunk",
                                  pool->rank, bytes);
        memcpy(wk->in.p, stash, (size_t)bytes);
    } else if (stash || tag != MPIPOOL__TAG_WORK || (size_t)bytes < sizeof *h) {
        /* Receive it anyway so nothing is left pending, then give up. */
        if (!stash && buf_reserve(&wk->in, (size_t)bytes + 1) == 0)
            mpipool__mrecv(wk->in.p, bytes, MPI_BYTE, msg, MPI_STATUS_IGNORE);
        return mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: unexpected message "
                              "(tag %d, %d bytes) from the master", pool->rank, tag, bytes);
    } else {
        if (buf_reserve(&wk->in, (size_t)bytes) != 0)
            return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for a %d-byte chunk",
                                  pool->rank, bytes);
        MPIPOOL__MPI(pool, mpipool__mrecv(wk->in.p, bytes, MPI_BYTE, msg, MPI_STATUS_IGNORE));
        memcpy(h, wk->in.p, sizeof *h);
        *got = (size_t)bytes;
        if (h->pieces == 0) {
            *data = wk->in.p;
            return MPIPOOL_OK;
        }
    }
    /* The payload follows in pieces, sent right after the header. */
    if (bytes != (int)sizeof *h)
        return mpipool__error(pool, MPIPOOL_EPROTO, "mpipool_serve: rank %d: a chunk sent in pieces came with "
                              "%d bytes in its header message, not %zu", pool->rank, bytes, sizeof *h);
    if (buf_reserve(&wk->in, sizeof *h + (size_t)h->pieces) != 0)
        return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_serve: rank %d: no memory for a %llu-byte chunk",
                              pool->rank, (unsigned long long)h->pieces);
    for (size_t off = 0; off < h->pieces; off += pool->piece) {
        size_t len = (size_t)h->pieces - off < pool->piece ? (size_t)h->pieces - off : pool->piece;
        MPIPOOL__MPI(pool, MPI_Recv(wk->in.p + sizeof *h + off, (int)len, MPI_BYTE, wk->parent,
                                    MPIPOOL__TAG_WPIECE, pool->comm, MPI_STATUS_IGNORE));
    }
    *got = sizeof *h + (size_t)h->pieces;
    *data = wk->in.p;
cleanup:
    return rc;
}

/* Serve until TAG_STOP. */
static int serve_loop(worker *wk) {
    mpipool *pool = wk->pool;
    int rc = MPIPOOL_OK;
    for (;;) {
        int bytes = 0;
        mpipool__msg msg;
        MPI_Status st;
        /* The master's TAG_TAKE_BACK, once every chunk it sent before it is
         * here (one may still be arriving in the receive posted ahead). */
        if (wk->back_wait && wk->from_master >= wk->back_upto) {
            wk->back_wait = 0;
            if ((rc = mpipool__group_give_up(pool, wk->group, wk->back_upto)) != MPIPOOL_OK) goto cleanup;
        }
        if ((rc = next_message(wk, &msg, &st)) != MPIPOOL_OK) goto cleanup;
        MPIPOOL__MPI(pool, MPI_Get_count(&st, MPI_BYTE, &bytes));
        if (st.MPI_TAG == MPIPOOL__TAG_RECLAIM) {
            /* Between chunks: it concerns those still to come, if any. */
            uint64_t upto = 0;
            MPIPOOL__MPI(pool, mpipool__mrecv(&upto, bytes >= 8 ? 8 : 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE));
            mpipool__reclaims_note(&wk->rcl, st.MPI_SOURCE, upto);
            continue;
        }
        if (st.MPI_TAG == MPIPOOL__TAG_TAKE_BACK) {
            MPIPOOL__MPI(pool, mpipool__mrecv(&wk->back_upto, bytes >= 8 ? 8 : 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE));
            wk->back_wait = 1;
            continue;
        }
        wk->parent = st.MPI_SOURCE;
        if (st.MPI_TAG == MPIPOOL__TAG_STOP) {
            unpost(wk); /* the master sends no more work */
            MPIPOOL__MPI(pool, mpipool__mrecv(NULL, 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE));
            /* Our leader's last TAG_RECLAIM may come after the master's word. */
            MPIPOOL__MPI(pool, mpipool__reclaims_take(&wk->rcl, pool->comm, MPI_ANY_SOURCE));
            rc = group_drain(wk); /* nothing should be left: the master drained first */
            break;
        }
        mpipool__work_hdr h;
        size_t got = 0;
        const char *data = NULL;
        if ((rc = take_work(wk, &msg, st.MPI_TAG, bytes, &h, &data, &got)) != MPIPOOL_OK) goto cleanup;
        if (wk->parent == 0 && (h.kind == MPIPOOL__KIND_CHUNK || h.kind == MPIPOOL__KIND_GROUP)) wk->from_master++;
        if (wk->parent != 0 && h.kind == MPIPOOL__KIND_CHUNK) wk->from_leader++;
        if (h.kind == MPIPOOL__KIND_GROUP && wk->parent == 0) {
            rc = mpipool__group_take(pool, &wk->group, &h, data, got, wk->from_master);
            if (rc != MPIPOOL_OK) goto cleanup;
            continue;
        }
        /* Anything else from the master comes after the group's chunks: answer
         * those first, in order (and a static map needs every rank). */
        if (wk->parent == 0 && (rc = group_drain(wk)) != MPIPOOL_OK) goto cleanup;
        if (h.kind == MPIPOOL__KIND_CHUNK)
            rc = run_chunk(wk, &h, data, got);
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

/* A worker leaving after a local error tells the master, which would
 * otherwise wait for its chunks for ever (TAG_ABORT: i32 code, text). */
static void tell_master(mpipool *pool, int code) {
    char msg[4 + MPIPOOL__ERR_MAX];
    int32_t c = code;
    memcpy(msg, &c, 4);
    size_t len = strlen(pool->err);
    memcpy(msg + 4, pool->err, len);
    MPI_Send(msg, (int)(4 + len), MPI_BYTE, 0, MPIPOOL__TAG_ABORT, pool->comm);
}

int mpipool__worker_run(mpipool *pool) {
    worker wk;
    memset(&wk, 0, sizeof wk);
    wk.pool = pool;
    wk.sreq[0] = wk.sreq[1] = wk.wreq = MPI_REQUEST_NULL;
    int rc = post_ahead(&wk) != MPI_SUCCESS
                 ? mpipool__error(pool, MPIPOOL_EMPI, "mpipool_serve: rank %d: MPI_Irecv failed", pool->rank)
                 : serve_loop(&wk);
    unpost(&wk);
    mpipool__watch_stop();
    if (rc != MPIPOOL_OK) tell_master(pool, rc);
    MPI_Waitall(2, wk.sreq, MPI_STATUSES_IGNORE);
    free(wk.in.p);
    free(wk.pin[0].p);
    free(wk.pin[1].p);
    free(wk.out[0].p);
    free(wk.out[1].p);
    mpipool__fails_free(&wk.fails);
    mpipool__fails_free(&wk.captured);
    free(wk.sdata.p);
    free(wk.sres.p);
    mpipool__vout_free(&wk.vout);
    mpipool__group_free(wk.group);
    /* Only this rank's own signal: a worker the master stopped in order
     * served every chunk it was given, and the master's status carries
     * the interruption (see wire.h, TAG_STOP). */
    if (rc == MPIPOOL_OK && mpipool__signal_pending())
        rc = mpipool__error(pool, MPIPOOL_EINTR, "mpipool_serve: rank %d: the run was interrupted by a signal",
                            pool->rank);
    return rc;
}
