/*
 * engine.c — the master's scheduler: every job in flight, every chunk on a
 * worker, and the progress thread that moves them along.
 *
 * Invariants:
 *  - jobs are served in submission order: chunks come from the oldest job
 *    that still has unassigned items; a static job waits until no chunk is
 *    in flight, then runs its Scatterv/Gatherv alone;
 *  - a worker never has more than two chunks in flight (one once the
 *    unassigned items are few), so the end of a map is balanced;
 *  - chunks are sent straight from the caller's `in` and results received
 *    straight into the caller's `out` (an hindexed datatype of header +
 *    slice at MPI_BOTTOM), and the result receive is posted before the chunk
 *    is sent: no copies of item data on the master;
 *  - only one thread at a time makes MPI calls on the pool's communicator:
 *    whoever holds eng->lock (the progress thread, or, without one, the
 *    caller inside mpipool_wait/ready).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "engine.h"
#include "observe.h"
#include "wire.h"

/* No chunk message grows beyond this: big enough that per-message cost
 * vanishes, small enough that sending one chunk overlaps computing another. */
#define CHUNK_BYTES_CAP ((size_t)16 << 20)
/* Up to this many payload bytes a chunk is copied through the slot's own
 * buffers: building, committing and freeing a derived datatype costs more
 * than copying a few KiB.  Larger chunks move with no copy. */
#define SMALL_CHUNK_BYTES ((size_t)4096)
/* Aim for chunks that take at least this long once task times are known,
 * so that message cost stays a small fraction of the work. */
#define MIN_CHUNK_SECONDS 200e-6
/* ... and at most this long: past it a chunk buys no less message cost,
 * only a longer tail when one worker is left with it at the end (heavy-
 * tailed work).  Guided shrinking still applies below it. */
#define MAX_CHUNK_SECONDS 20e-3
/* What one chunk costs the master (or a group leader) in CPU time: about
 * 1.4 us measured here for a send, a receive and the bookkeeping (bench/,
 * "one item per message").  With F ranks to serve, chunks shorter than
 * 2 * F * this would keep it more than half busy, and past that it could
 * not keep up: the minimum chunk time grows with the fan-out. */
#define CHUNK_CPU_SECONDS 2e-6
/* Messages above this many bytes move in many shared-memory fragments (or
 * network segments), and only while both ends are inside MPI calls: while
 * one is in flight the master keeps polling instead of sleeping. */
#define BIG_MESSAGE_BYTES ((size_t)64 << 10)

typedef struct {
    int worker;               /* rank; 0 = slot free              */
    int completed;            /* result in, not yet collected     */
    uint64_t seq;             /* send order                       */
    mpipool_job *job;
    uint64_t first, count;
    MPI_Request sreq, rreq;
    mpipool__work_hdr whdr;   /* must live until sreq completes   */
    mpipool__result_hdr rhdr; /* receive target                   */
    int var_out;              /* results come as a probed VRESULT */
    char *rmsg;               /* ... received here                */
    size_t rlen;
    MPI_Request *pieces;      /* payload pieces: sends, then receives */
    int nsend_pieces, nrecv_pieces;
    char *sbuf;               /* small and variable-size chunks are copied here */
    size_t scap;
    char *rbuf;               /* small fixed-size results land here first */
    size_t rcap;
    int rsmall;
    int sbig, rbig;           /* payloads that need the master's progress */
    int units;                /* workers running it: a group's members, or 1 */
    double t_sent;            /* MPI_Wtime when the chunk was sent        */
} slot;

struct mpipool__engine {
    mpipool *pool;
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* to the thread: a job arrived, or stop */
    pthread_cond_t done;      /* to waiters: some job finished         */
    pthread_t thread;
    int thread_started, stop;
    int driver;               /* a caller is waiting and moving things itself:
                                 the progress thread stands aside             */
    int workers, nslots, busy;
    int var_busy;             /* chunks whose results come as VRESULTs */
    uint64_t seq;             /* chunks sent                           */
    slot *slots;
    int *inflight;            /* per rank                              */
    MPI_Request *rreqs;
    int *idx;
    mpipool_job *head, *tail; /* jobs not yet finished, oldest first   */
    int broken;               /* an MPI error: every job fails with it */
    char broken_msg[MPIPOOL__ERR_MAX];
};

/* ---- job bookkeeping ---------------------------------------------------- */

static void job_error(mpipool_job *j, int code, const char *fmt, ...) MPIPOOL__PRINTF(3, 4);
static void job_error(mpipool_job *j, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err, sizeof j->err, fmt, ap);
    va_end(ap);
    j->rc = code;
}

/* An MPI failure breaks the engine: the protocol state is unknown, so every
 * job still running fails with the same message. */
static void engine_break(mpipool__engine *e, int mpirc, const char *call) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(mpirc, text, &len);
    if (!e->broken)
        snprintf(e->broken_msg, sizeof e->broken_msg, "%s failed on the master: %s", call, text);
    e->broken = 1;
}

#define ENGINE_MPI(e, call)                                    \
    do {                                                       \
        int engine_mpirc_ = (call);                            \
        if (engine_mpirc_ != MPI_SUCCESS) {                    \
            engine_break((e), engine_mpirc_, #call);           \
            return -1;                                         \
        }                                                      \
    } while (0)

static void note_failures(mpipool_job *j, uint64_t nfail, uint64_t first_fail, int rank,
                          const char *recs, size_t len) {
    size_t off = 0;
    uint64_t index;
    const char *msg;
    uint32_t mlen;
    if (j->resume) mpipool__resume_note_failures(j, nfail, recs, len);
    if (nfail == 0) return;
    while (mpipool__fails_next(recs, len, &off, &index, &msg, &mlen)) {
        if (index >= j->n) continue;
        if (j->status) j->status[index] = MPIPOOL_ETASK;
        if (j->messages && j->messages[index] == NULL) {
            char *m = malloc((size_t)mlen + 1);
            if (m) {
                memcpy(m, msg, mlen);
                m[mlen] = '\0';
                j->messages[index] = m;
            }
        }
        if (j->nfail_seen == 0 || index < j->first_fail) {
            j->first_fail = index;
            j->first_fail_rank = rank;
            snprintf(j->fail_msg, sizeof j->fail_msg, "%.*s", (int)mlen, msg);
        }
        j->nfail_seen = 1;
    }
    if (j->nfail_seen == 0 || first_fail < j->first_fail) {
        /* Failures whose text did not fit still count. */
        j->first_fail = first_fail;
        j->first_fail_rank = rank;
        snprintf(j->fail_msg, sizeof j->fail_msg, "(no message)");
        j->nfail_seen = 1;
    }
    j->nfail += nfail;
    if (j->on_error == MPIPOOL_ON_ERROR_STOP || (j->max_failures && j->nfail >= j->max_failures))
        j->cancelled = 1;
}

static void mark_ok(mpipool_job *j, uint64_t first, uint64_t count) {
    for (uint64_t i = 0; j->status && i < count; i++) j->status[first + i] = MPIPOOL_OK;
}

/* All its chunks are back and no more will be sent: settle the result. */
static void job_finish(mpipool__engine *e, mpipool_job *j) {
    mpipool__pending_free(j);
    if (j->n == SIZE_MAX) j->n = j->next; /* a stream cut short */
    if (e && e->broken) {
        job_error(j, MPIPOOL_EMPI, "%s: %s", j->func, e->broken_msg);
    } else if (j->stream_rc != MPIPOOL_OK) {
        j->rc = j->stream_rc; /* its message is already in j->err */
    } else if (j->nfail) {
        size_t notrun = j->n - j->next;
        char tail[96] = "";
        if (notrun)
            snprintf(tail, sizeof tail, "; %zu items not run", notrun);
        job_error(j, MPIPOOL_ETASK, "%s: task '%s' failed on item %llu at rank %d: %s%s%s", j->func,
                  mpipool__registry_name(j->fn_index), (unsigned long long)j->first_fail,
                  j->first_fail_rank, j->fail_msg,
                  j->nfail > 1 ? " (and more items failed)" : "", tail);
    } else if (j->next < j->n) {
        job_error(j, MPIPOOL_ECANCELED, "%s: job cancelled with %zu of %zu items not run", j->func,
                  j->n - j->next, j->n);
    } else {
        j->rc = MPIPOOL_OK;
        j->err[0] = '\0';
    }
    mpipool__obs_job_done(j);
    if (j->resume) mpipool__resume_finish(j);
    j->finished = 1;
    if (e) {
        /* unlink */
        mpipool_job **pp = &e->head;
        mpipool_job *prev = NULL;
        while (*pp && *pp != j) {
            prev = *pp;
            pp = &(*pp)->next_job;
        }
        if (*pp) {
            *pp = j->next_job;
            if (e->tail == j) e->tail = prev;
        }
        j->next_job = NULL;
        pthread_cond_broadcast(&e->done);
    }
}

/* ---- one-rank pools ----------------------------------------------------- */

/* Take up to `count` items for a variable-size chunk starting at j->next
 * into buf (u64 sizes[count] then the items), from the caller's
 * mpipool_buf array or from the imap source.  Returns how many it took
 * (fewer when the source ends or fails), or -1 when out of memory. */
static int64_t take_items(mpipool_job *j, size_t count, char **buf, size_t *cap, size_t hdr, size_t *bytes) {
    size_t need = hdr + count * 8, got = 0;
    if (need > *cap) {
        char *p = realloc(*buf, need);
        if (p == NULL) return -1;
        *buf = p;
        *cap = need;
    }
    size_t used = need;
    for (; got < count; got++) {
        mpipool_buf item = {NULL, 0};
        if (j->source) {
            int r = j->source->next(j->source->ctx, j->next + got, &item);
            if (r == 0) {
                j->n = j->next + got;
                break;
            }
            if (r < 0) {
                /* Items already taken still run and reach the sink. */
                j->stream_rc = MPIPOOL_ECANCELED;
                snprintf(j->err, sizeof j->err, "%s: the source returned %d at item %zu", j->func, r,
                         j->next + got);
                j->cancelled = 1;
                j->n = j->next + got;
                break;
            }
        } else {
            item = ((const mpipool_buf *)(const void *)j->in)[j->next + got];
        }
        if ((item.data == NULL && item.size > 0) || item.size > MPIPOOL__VAR_TOTAL_MAX - used) {
            /* Only a source gets here (a map's items were checked up front):
             * refuse the item; those already taken still run. */
            j->stream_rc = item.data == NULL ? MPIPOOL_EINVAL : MPIPOOL_EOVERFLOW;
            snprintf(j->err, sizeof j->err, "%s: the source gave item %zu %s (size %zu)", j->func, j->next + got,
                     item.data == NULL ? "with data NULL" : "too large to hold", item.size);
            j->cancelled = 1;
            j->n = j->next + got;
            break;
        }
        if (used + item.size > *cap) {
            size_t ncap = *cap * 2;
            while (ncap < used + item.size) ncap *= 2;
            char *p = realloc(*buf, ncap);
            if (p == NULL) return -1;
            *buf = p;
            *cap = ncap;
        }
        uint64_t sz = item.size;
        memcpy(*buf + hdr + got * 8, &sz, 8);
        if (item.size) memcpy(*buf + used, item.data, item.size);
        used += item.size;
        if (j->source == NULL && j->in_var && got + 1 < count && used > CHUNK_BYTES_CAP) {
            got++;
            break;
        }
    }
    /* Close the gap left by unused size slots. */
    if (got < count) memmove(*buf + hdr + got * 8, *buf + need, used - need);
    *bytes = used - (count - got) * 8;
    return (int64_t)got;
}

void mpipool__job_run_inline(mpipool_job *j) {
    mpipool__fails f = {0};
    mpipool__vout v = {0};
    char *buf = NULL;
    size_t cap = 0;
    int var = j->in_var || j->out_var || j->source;
    /* In pieces, so that on_error/max_failures can stop between them. */
    size_t step = j->on_error == MPIPOOL_ON_ERROR_STOP || j->max_failures ? 1 : (var ? 64 : 1024);
    /* A batch task's call is cheap per item: give it long runs. */
    if (step == 1024 && mpipool__registry_is_batch(j->fn_index)) step = 65536;
    if (j->user_chunk && j->user_chunk < step) step = j->user_chunk;
    if (j->source && j->window && j->window < step) step = j->window; /* the window bounds a stream here too */
    while (j->next < j->n && !j->cancelled) {
        size_t count = j->n - j->next < step ? j->n - j->next : step;
        mpipool__resume_poll();
        if (j->resume && (count = mpipool__resume_clip(j, count)) == 0) break; /* the rest is in the journal */
        mpipool__batch b = {mpipool__registry_fn(j->fn_index), j->in + j->next * j->in_size, j->in_size, NULL,
                            j->out + j->next * j->out_size, j->out_size, NULL, j->next, count, 0, j->pool};
        if (j->in_var || j->source) {
            size_t bytes;
            int64_t got = take_items(j, count, &buf, &cap, 0, &bytes);
            if (got < 0) {
                job_error(j, MPIPOOL_ENOMEM, "%s: out of memory", j->func);
                j->stream_rc = MPIPOOL_ENOMEM;
                break;
            }
            if (got == 0) break;
            count = (size_t)got;
            b.count = count;
            b.in_sizes = (const uint64_t *)(const void *)buf;
            b.in = buf + count * 8;
        }
        if (j->out_var || j->source) b.vout = &v;
        double obs_t0 = mpipool__obs_clock(j->pool);
        int64_t nfail = mpipool__run_batch(&b, &f);
        if (nfail < 0) {
            job_error(j, MPIPOOL_ENOMEM, "%s: out of memory for results", j->func);
            j->stream_rc = MPIPOOL_ENOMEM;
            break;
        }
        mark_ok(j, j->next, count);
        size_t first = j->next;
        j->next += count;
        j->done += count;
        mpipool__obs_ran(j->pool, j, first, count, obs_t0);
        note_failures(j, (uint64_t)nfail, f.first_fail, 0, f.p, f.len);
        if (j->resume && j->source) mpipool__resume_record_stream(j, first, count, v.sizes, v.p);
        if (b.vout) mpipool__deliver_var(j, first, count, v.sizes, v.p, f.p, f.len, 0, NULL);
        if (j->resume) mpipool__resume_record(j, first, count);
    }
    free(buf);
    mpipool__vout_free(&v);
    mpipool__fails_free(&f);
    job_finish(NULL, j);
}

/* ---- dynamic chunks ----------------------------------------------------- */

static int slot_grow(char **p, size_t *cap, size_t need) {
    char *q = realloc(*p, need);
    if (q == NULL) return -1;
    *p = q;
    *cap = need;
    return 0;
}

/* Send worker w the next `count` items of j; with members > 0, w is a group
 * leader and the chunk is for its ranks w+1 .. w+members (kind GROUP). */
static int send_chunk(mpipool__engine *e, mpipool_job *j, slot *s, int w, size_t count, int members) {
    MPI_Comm comm = e->pool->comm;
    MPI_Datatype st = MPI_DATATYPE_NULL, rt = MPI_DATATYPE_NULL;
    MPI_Aint disp[2];
    int len[2], rc;
    size_t first = j->next, bytes = 0;
    int var_in = j->in_var || j->source != NULL;
    double obs_t0 = mpipool__obs_now(e->pool);

    if (j->resume && (count = mpipool__resume_clip(j, count)) == 0) return 0; /* the rest is in the journal */
    first = j->next;
    if (var_in) {
        /* Copy the items first: a stream may end (or fail) here. */
        int64_t got = take_items(j, count, &s->sbuf, &s->scap, sizeof s->whdr, &bytes);
        if (got < 0) {
            j->stream_rc = MPIPOOL_ENOMEM;
            snprintf(j->err, sizeof j->err, "%s: out of memory for a chunk", j->func);
            j->cancelled = 1;
            return 0;
        }
        if (got == 0) return 0;
        count = (size_t)got;
    }
    s->worker = w;
    s->completed = 0;
    s->seq = e->seq++;
    s->job = j;
    s->first = first;
    s->count = count;
    s->var_out = j->out_var || j->source != NULL;
    s->rmsg = NULL;
    size_t payload = var_in ? bytes - sizeof s->whdr : count * j->in_size;
    size_t rbytes = s->var_out ? 0 : count * j->out_size;
    size_t piece = e->pool->piece;
    int wpieced = sizeof s->whdr + payload > piece;
    int rpieced = !s->var_out && sizeof s->rhdr + rbytes > piece;
    s->whdr = (mpipool__work_hdr){members ? MPIPOOL__KIND_GROUP : MPIPOOL__KIND_CHUNK, (uint32_t)j->fn_index,
                                  j->id, first, count, var_in ? MPIPOOL__VAR : j->in_size,
                                  s->var_out ? MPIPOOL__VAR : j->out_size, wpieced ? payload : 0,
                                  members ? (uint32_t)w + 1 : 0, (uint32_t)members};
    s->units = members + 1; /* a leader runs items too */
    s->nsend_pieces = wpieced ? (int)mpipool__npieces(payload, piece) : 0;
    s->nrecv_pieces = rpieced ? (int)mpipool__npieces(rbytes, piece) : 0;
    s->pieces = NULL;
    if (s->nsend_pieces + s->nrecv_pieces > 0) {
        s->pieces = malloc((size_t)(s->nsend_pieces + s->nrecv_pieces) * sizeof *s->pieces);
        if (s->pieces == NULL) {
            /* Nothing sent yet: fail the job, not the engine. */
            j->stream_rc = MPIPOOL_ENOMEM;
            snprintf(j->err, sizeof j->err, "%s: out of memory for a chunk's pieces", j->func);
            j->cancelled = 1;
            s->worker = 0;
            return 0;
        }
    }
    s->sbig = payload > BIG_MESSAGE_BYTES;
    s->rbig = s->var_out || rbytes > BIG_MESSAGE_BYTES;
    s->t_sent = MPI_Wtime();
    int wsmall = !var_in && !wpieced && payload <= SMALL_CHUNK_BYTES;
    s->rsmall = !s->var_out && !rpieced && rbytes <= SMALL_CHUNK_BYTES;
    /* No memory for a copy: go zero-copy instead. */
    size_t sneed = sizeof s->whdr + payload, rneed = sizeof s->rhdr + rbytes;
    if (wsmall && sneed > s->scap && slot_grow(&s->sbuf, &s->scap, sneed) != 0) wsmall = 0;
    if (s->rsmall && rneed > s->rcap && slot_grow(&s->rbuf, &s->rcap, rneed) != 0) s->rsmall = 0;
    if (s->var_out) {
        s->rreq = MPI_REQUEST_NULL; /* probed for in progress_once */
    } else if (s->rsmall) {
        ENGINE_MPI(e, MPI_Irecv(s->rbuf, (int)(sizeof s->rhdr + rbytes), MPI_BYTE, w, MPIPOOL__TAG_RESULT, comm,
                                &s->rreq));
    } else if (rpieced) {
        /* The header, then each piece straight into place. */
        ENGINE_MPI(e, MPI_Irecv(&s->rhdr, (int)sizeof s->rhdr, MPI_BYTE, w, MPIPOOL__TAG_RESULT, comm, &s->rreq));
        char *dst = j->out + first * j->out_size;
        for (int k = 0; k < s->nrecv_pieces; k++) {
            size_t off = (size_t)k * piece, rlen = rbytes - off < piece ? rbytes - off : piece;
            ENGINE_MPI(e, MPI_Irecv(dst + off, (int)rlen, MPI_BYTE, w, MPIPOOL__TAG_RPIECE, comm,
                                    &s->pieces[s->nsend_pieces + k]));
        }
    } else {
        MPI_Get_address(&s->rhdr, &disp[0]);
        MPI_Get_address(j->out + first * j->out_size, &disp[1]);
        len[0] = (int)sizeof s->rhdr;
        len[1] = (int)rbytes;
        ENGINE_MPI(e, MPI_Type_create_hindexed(2, len, disp, MPI_BYTE, &rt));
        ENGINE_MPI(e, MPI_Type_commit(&rt));
        rc = MPI_Irecv(MPI_BOTTOM, 1, rt, w, MPIPOOL__TAG_RESULT, comm, &s->rreq);
        MPI_Type_free(&rt); /* does not affect the receive already posted */
        ENGINE_MPI(e, rc);
    }

    if (var_in) memcpy(s->sbuf, &s->whdr, sizeof s->whdr);
    if (wpieced) {
        /* Never block on a send: the worker may be busy for a long time. */
        const char *src = var_in ? s->sbuf + sizeof s->whdr : j->in + first * j->in_size;
        ENGINE_MPI(e, MPI_Isend(&s->whdr, (int)sizeof s->whdr, MPI_BYTE, w, MPIPOOL__TAG_WORK, comm, &s->sreq));
        for (int k = 0; k < s->nsend_pieces; k++) {
            size_t off = (size_t)k * piece, plen = payload - off < piece ? payload - off : piece;
            ENGINE_MPI(e, MPI_Isend(src + off, (int)plen, MPI_BYTE, w, MPIPOOL__TAG_WPIECE, comm, &s->pieces[k]));
        }
    } else if (var_in) {
        ENGINE_MPI(e, MPI_Isend(s->sbuf, (int)bytes, MPI_BYTE, w, MPIPOOL__TAG_WORK, comm, &s->sreq));
    } else if (wsmall) {
        memcpy(s->sbuf, &s->whdr, sizeof s->whdr);
        if (payload) memcpy(s->sbuf + sizeof s->whdr, j->in + first * j->in_size, payload);
        ENGINE_MPI(e, MPI_Isend(s->sbuf, (int)(sizeof s->whdr + payload), MPI_BYTE, w, MPIPOOL__TAG_WORK, comm,
                                &s->sreq));
    } else {
        MPI_Get_address(&s->whdr, &disp[0]);
        MPI_Get_address(j->in + first * j->in_size, &disp[1]);
        len[0] = (int)sizeof s->whdr;
        len[1] = (int)payload;
        ENGINE_MPI(e, MPI_Type_create_hindexed(2, len, disp, MPI_BYTE, &st));
        ENGINE_MPI(e, MPI_Type_commit(&st));
        rc = MPI_Isend(MPI_BOTTOM, 1, st, w, MPIPOOL__TAG_WORK, comm, &s->sreq);
        MPI_Type_free(&st);
        ENGINE_MPI(e, rc);
    }

    j->next += count;
    j->chunks_out++;
    e->inflight[w]++;
    e->busy++;
    e->var_busy += s->var_out;
    mpipool__obs_sent(e->pool, j, w, first, count, sizeof s->whdr + payload, obs_t0);
    return 0;
}

/* Items in the next chunk of j for one worker (of `workers`); `fanout` is
 * the most ranks one scheduler serves: the master's targets, or a group. */
static size_t next_chunk(mpipool_job *j, size_t workers, size_t fanout) {
    size_t min_chunk = 1, max_chunk = j->max_chunk;
    if (j->per_item > 0) {
        double least = MIN_CHUNK_SECONDS, busy = 2.0 * CHUNK_CPU_SECONDS * (double)fanout;
        if (busy > least) least = busy;
        double want = least / j->per_item;
        min_chunk = want >= (double)j->max_chunk ? j->max_chunk : (size_t)want + 1;
        double most = (least > MAX_CHUNK_SECONDS ? least : MAX_CHUNK_SECONDS) / j->per_item;
        if (most < (double)max_chunk) max_chunk = most < (double)min_chunk ? min_chunk : (size_t)most;
    } else if (j->user_chunk == 0 && !j->source) {
        /* Task time unknown (the first chunks of a map): one item each, so
         * that a map of long tasks does not start with a long chunk; the
         * first results give the time per item. */
        return 1;
    }
    if (j->source) {
        /* Unknown length: no guided shrinking; stay well inside the window. */
        size_t cap = j->unordered ? j->max_chunk : j->window / (2 * workers + 2);
        size_t c = j->user_chunk ? j->user_chunk : min_chunk;
        if (c > j->max_chunk) c = j->max_chunk;
        if (c > cap) c = cap;
        if (!j->unordered && c > j->emitted + j->window - j->next) c = j->emitted + j->window - j->next;
        return c ? c : 1;
    }
    return mpipool__plan_chunk(j->n - j->next, workers, j->user_chunk, min_chunk,
                               j->user_chunk ? j->max_chunk : max_chunk);
}

/* The oldest job that can take a chunk now, or NULL.  A static job is a
 * barrier: nothing behind it starts before it has run. */
static mpipool_job *current_job(mpipool__engine *e, size_t *unassigned) {
    mpipool_job *first = NULL;
    *unassigned = 0;
    for (mpipool_job *j = e->head; j; j = j->next_job) {
        if (j->cancelled || j->next >= j->n) continue;
        /* An ordered stream whose window is full waits for its oldest item. */
        if (j->source && !j->unordered && j->next >= j->emitted + j->window) continue;
        if (first == NULL) first = j;
        if (j->schedule == MPIPOOL_SCHEDULE_STATIC) break;
        *unassigned += j->source ? SIZE_MAX / 4 : j->n - j->next;
    }
    return first;
}

static int run_static(mpipool__engine *e, mpipool_job *j);

/* The next chunk for a target running it on `units` workers: one ordinary
 * chunk per worker, within the job's message cap. */
static size_t next_chunk_for(mpipool_job *j, size_t workers, size_t fanout, size_t units) {
    size_t c = next_chunk(j, workers, fanout);
    if (units <= 1) return c;
    size_t left = j->n - j->next, cap = j->max_chunk < left ? j->max_chunk : left;
    return c > cap / units ? cap : c * units;
}

/* Hand out chunks: first one to every worker, then a second to each.  A
 * job that uses the hierarchy goes to the group leaders only (ranks 1,
 * 1 + G, ...), each chunk sized for the leader's members. */
static int fill(mpipool__engine *e) {
    int any = 0;
    for (int round = 1; round <= 2; round++) {
        for (int w = 1; w <= e->workers; w++) {
            size_t unassigned;
            mpipool_job *j = current_job(e, &unassigned);
            if (j == NULL) return any;
            int members = 0;
            if (j->group > 1 && j->schedule != MPIPOOL_SCHEDULE_STATIC) {
                /* Leaders sit at 1 + k*G: skip to the next one. */
                int g = (int)j->group, off = (w - 1) % g;
                if (off != 0) {
                    w += g - off - 1;
                    continue;
                }
                members = e->workers - w < g - 1 ? e->workers - w : g - 1;
            }
            /* The master serves every worker, or one leader per group;
             * a leader serves its members (and runs items itself). */
            size_t fanout = (size_t)e->workers;
            if (j->group > 1) {
                size_t leaders = ((size_t)e->workers + j->group - 1) / j->group;
                fanout = leaders > j->group ? leaders : j->group;
            }
            if (j->schedule == MPIPOOL_SCHEDULE_STATIC) {
                if (e->busy > 0) return any; /* wait for the workers to drain */
                if (run_static(e, j) != 0) return -1;
                any = 1;
                w = 0; /* start over: the next job may be dynamic */
                continue;
            }
            if (e->inflight[w] >= round ||
                e->inflight[w] >= mpipool__plan_depth(unassigned, (size_t)e->workers))
                continue;
            slot *s = &e->slots[(w - 1) * 2 + (e->slots[(w - 1) * 2].worker != 0)];
            size_t count = next_chunk_for(j, (size_t)e->workers, fanout, (size_t)members + 1);
            if (send_chunk(e, j, s, w, count, members) != 0) return -1;
            any = 1;
        }
    }
    return any;
}

static int recv_fails(mpipool__engine *e, int w, char **buf, int *len) {
    MPI_Status st;
    mpipool__msg m;
    ENGINE_MPI(e, mpipool__mprobe(w, MPIPOOL__TAG_FAIL, e->pool->comm, &m, &st));
    MPI_Get_count(&st, MPI_BYTE, len);
    *buf = malloc((size_t)*len + 1);
    if (*buf == NULL) {
        char dummy;
        /* Still take the message off the wire. */
        mpipool__mrecv(&dummy, 0, MPI_BYTE, &m, MPI_STATUS_IGNORE);
        *len = 0;
        return 0;
    }
    ENGINE_MPI(e, mpipool__mrecv(*buf, *len, MPI_BYTE, &m, MPI_STATUS_IGNORE));
    return 0;
}

static int collect(mpipool__engine *e, slot *s) {
    mpipool_job *j = s->job;
    const mpipool__result_hdr *h = &s->rhdr;
    double obs_t0 = mpipool__obs_now(e->pool);
    ENGINE_MPI(e, MPI_Wait(&s->sreq, MPI_STATUS_IGNORE));
    if (s->pieces) {
        /* The worker sends its result pieces right after the header. */
        int rc = MPI_Waitall(s->nsend_pieces + s->nrecv_pieces, s->pieces, MPI_STATUSES_IGNORE);
        free(s->pieces);
        s->pieces = NULL;
        ENGINE_MPI(e, rc);
    }
    if (s->rsmall) {
        memcpy(&s->rhdr, s->rbuf, sizeof s->rhdr);
        if (s->count) memcpy(j->out + s->first * j->out_size, s->rbuf + sizeof s->rhdr, s->count * j->out_size);
    }
    if (s->var_out) {
        /* VRESULT: hdr | sizes | data | fail records, checked before use. */
        size_t len = s->rlen, nsz = (size_t)s->count * 8, total = 0;
        if (len >= sizeof *h) memcpy(&s->rhdr, s->rmsg, sizeof *h);
        int ok = len >= sizeof *h + nsz && h->fail_bytes <= len - sizeof *h - nsz;
        const uint64_t *sizes = (const uint64_t *)(const void *)(s->rmsg + sizeof *h);
        for (uint64_t i = 0; ok && i < s->count; i++) {
            total += sizes[i];
            if (total > len) ok = 0;
        }
        if (!ok || sizeof *h + nsz + total + h->fail_bytes != len) {
            engine_break(e, MPI_SUCCESS, "a result check");
            snprintf(e->broken_msg, sizeof e->broken_msg, "rank %d sent a malformed result of %zu bytes",
                     s->worker, len);
            return -1;
        }
    }
    if (h->job != j->id || h->first != s->first || h->count != s->count) {
        engine_break(e, MPI_SUCCESS, "a result check");
        snprintf(e->broken_msg, sizeof e->broken_msg,
                 "rank %d answered with items %llu+%llu of job %llu, expected %llu+%llu of job %llu",
                 s->worker, (unsigned long long)h->first, (unsigned long long)h->count,
                 (unsigned long long)h->job, (unsigned long long)s->first,
                 (unsigned long long)s->count, (unsigned long long)j->id);
        return -1;
    }
    mark_ok(j, s->first, s->count);
    if (s->var_out) {
        const char *base = s->rmsg + sizeof *h;
        size_t nsz = (size_t)s->count * 8, fail_off = s->rlen - (size_t)h->fail_bytes;
        note_failures(j, h->nfail, h->first_fail, s->worker, s->rmsg + fail_off, (size_t)h->fail_bytes);
        if (j->resume && j->source)
            mpipool__resume_record_stream(j, s->first, s->count, (const uint64_t *)(const void *)base, base + nsz);
        mpipool__deliver_var(j, s->first, s->count, (const uint64_t *)(const void *)base, base + nsz,
                             s->rmsg + fail_off, (size_t)h->fail_bytes, s->worker, s->rmsg);
        s->rmsg = NULL; /* owned by deliver now */
    } else if (h->nfail) {
        char *recs = NULL;
        int len = 0;
        /* A leader names the member that ran the first failed item. */
        int frank = h->fail_rank > 0 && h->fail_rank <= e->workers ? (int)h->fail_rank : s->worker;
        if (recv_fails(e, s->worker, &recs, &len) != 0) return -1;
        note_failures(j, h->nfail, h->first_fail, frank, recs, (size_t)len);
        free(recs);
    }
    if (j->resume) mpipool__resume_record(j, s->first, s->count);
    if (h->count > 0) {
        /* The mean over every item so far: one long or short item of a
         * heavy-tailed map must not swing the chunk size. */
        j->busy_sum += h->busy > 0 ? h->busy : 1e-9 * (double)h->count;
        j->busy_items += (double)h->count;
        j->per_item = j->busy_sum / j->busy_items;
    }
    j->done += s->count;
    j->chunks_out--;
    e->inflight[s->worker]--;
    e->busy--;
    e->var_busy -= s->var_out;
    mpipool__obs_collected(e->pool, j, s->worker, s->first, s->count, h->busy, s->var_out ? s->rlen : sizeof *h + s->count * j->out_size, obs_t0);
    s->worker = 0;
    s->job = NULL;
    s->rreq = MPI_REQUEST_NULL;
    return 0;
}

/* ---- static scatter/gather ---------------------------------------------- */

static int static_exchange(mpipool__engine *e, mpipool_job *j, int *counts, int *displs) {
    mpipool *pool = e->pool;
    MPI_Datatype tin = MPI_DATATYPE_NULL, tout = MPI_DATATYPE_NULL;
    mpipool__work_hdr h = {MPIPOOL__KIND_STATIC, (uint32_t)j->fn_index, j->id, 0, j->n, j->in_size, j->out_size, 0, 0, 0};
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
        mark_ok(j, (uint64_t)displs[w], (uint64_t)counts[w]);
        if (rh.nfail) {
            char *recs = NULL;
            int len = 0;
            if (recv_fails(e, w, &recs, &len) != 0) return -1;
            note_failures(j, rh.nfail, rh.first_fail, w, recs, (size_t)len);
            free(recs);
        }
        if (j->resume) mpipool__resume_record(j, (uint64_t)displs[w], (uint64_t)counts[w]);
        j->done += (size_t)counts[w];
        mpipool__obs_static(pool, j, w, (uint64_t)displs[w], (uint64_t)counts[w], (size_t)counts[w] * j->in_size + sizeof h, (size_t)counts[w] * j->out_size + sizeof rh, rh.busy, obs_t0);
    }
    return 0;
}

static int run_static(mpipool__engine *e, mpipool_job *j) {
    int *counts = calloc((size_t)e->workers + 1, sizeof *counts);
    int *displs = calloc((size_t)e->workers + 1, sizeof *displs);
    int rc = 0;
    if (!counts || !displs) {
        /* Nothing was sent: fail just this job. */
        job_error(j, MPIPOOL_ENOMEM, "%s: out of memory for %d workers", j->func, e->workers);
        j->next = j->n;
        j->cancelled = 1;
    } else {
        rc = static_exchange(e, j, counts, displs);
    }
    free(counts);
    free(displs);
    return rc;
}

/* ---- progress ----------------------------------------------------------- */

/* One pass: collect finished chunks, hand out new ones, settle finished
 * jobs.  Returns 1 if anything happened.  Called with e->lock held. */
static int progress_once(mpipool__engine *e) {
    int any = 0;
    mpipool__resume_poll(); /* timed journal sync; SIGTERM/SIGINT exit */
    while (!e->broken && e->var_busy > 0) {
        /* Variable-size results: take each one that has arrived and hand it
         * to its worker's oldest chunk still waiting for one. */
        int flag = 0;
        mpipool__msg m;
        MPI_Status st;
        int rc = mpipool__improbe(MPI_ANY_SOURCE, MPIPOOL__TAG_VRESULT, e->pool->comm, &flag, &m, &st);
        if (rc != MPI_SUCCESS) {
            engine_break(e, rc, "MPI_Improbe");
            break;
        }
        if (!flag) break;
        int w = st.MPI_SOURCE, len = 0;
        MPI_Get_count(&st, MPI_BYTE, &len);
        slot *a = &e->slots[(w - 1) * 2], *b = a + 1, *target = NULL;
        if (w >= 1 && w <= e->workers) {
            if (a->worker && a->var_out && !a->rmsg) target = a;
            if (b->worker && b->var_out && !b->rmsg && (target == NULL || b->seq < target->seq)) target = b;
        }
        mpipool__result_hdr ph;
        size_t total = (size_t)len;
        char *buf = target ? malloc((size_t)len + 1) : NULL;
        if (buf == NULL) {
            char dummy;
            mpipool__mrecv(&dummy, 0, MPI_BYTE, &m, MPI_STATUS_IGNORE);
            engine_break(e, MPI_SUCCESS, "a result");
            snprintf(e->broken_msg, sizeof e->broken_msg, target ? "out of memory for a %d-byte result from rank %d"
                     : "unexpected %d-byte result from rank %d", len, w);
            break;
        }
        rc = mpipool__mrecv(buf, len, MPI_BYTE, &m, MPI_STATUS_IGNORE);
        if (rc == MPI_SUCCESS && (size_t)len == sizeof ph && (memcpy(&ph, buf, sizeof ph), ph.pieces > 0)) {
            /* A header alone: the rest follows in pieces, being sent now. */
            total = sizeof ph + (size_t)ph.pieces;
            char *big = realloc(buf, total);
            if (big == NULL) {
                free(buf);
                engine_break(e, MPI_SUCCESS, "a result");
                snprintf(e->broken_msg, sizeof e->broken_msg, "out of memory for a %zu-byte result from rank %d",
                         total, w);
                break;
            }
            buf = big;
            for (size_t off = sizeof ph; rc == MPI_SUCCESS && off < total; off += e->pool->piece) {
                size_t plen = total - off < e->pool->piece ? total - off : e->pool->piece;
                rc = MPI_Recv(buf + off, (int)plen, MPI_BYTE, w, MPIPOOL__TAG_VPIECE, e->pool->comm,
                              MPI_STATUS_IGNORE);
            }
        }
        if (rc != MPI_SUCCESS) {
            free(buf);
            engine_break(e, rc, "MPI_Mrecv");
            break;
        }
        target->rmsg = buf;
        target->rlen = total;
        target->completed = 1;
        any = 1;
    }
    if (!e->broken && e->busy > 0) {
        int ndone = 0;
        for (int i = 0; i < e->nslots; i++) e->rreqs[i] = e->slots[i].worker ? e->slots[i].rreq : MPI_REQUEST_NULL;
        int rc = MPI_Testsome(e->nslots, e->rreqs, &ndone, e->idx, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) {
            engine_break(e, rc, "MPI_Testsome");
        } else {
            for (int k = 0; k < ndone && ndone != MPI_UNDEFINED; k++) {
                e->slots[e->idx[k]].rreq = MPI_REQUEST_NULL;
                e->slots[e->idx[k]].completed = 1;
                any = 1;
            }
            /* Collect each worker's chunks in the order they were sent:
             * its TAG_FAIL messages follow its results in that order, so
             * any other order would pair a failure with the wrong chunk. */
            for (int w = 1; (any || ndone > 0) && w <= e->workers && !e->broken; w++) {
                for (;;) {
                    slot *a = &e->slots[(w - 1) * 2], *b = a + 1, *oldest = NULL;
                    if (a->worker) oldest = a;
                    if (b->worker && (oldest == NULL || b->seq < oldest->seq)) oldest = b;
                    if (oldest == NULL || !oldest->completed || collect(e, oldest) != 0) break;
                }
            }
        }
    }
    if (!e->broken && fill(e) != 0) any = 1;
    for (mpipool_job *j = e->head, *next; j; j = next) {
        next = j->next_job;
        if (e->broken || (j->chunks_out == 0 && (j->cancelled || j->next >= j->n))) {
            if (e->broken && j->chunks_out) continue; /* cannot drain a broken engine: finish below */
            job_finish(e, j);
            any = 1;
        }
    }
    if (e->broken) {
        /* Chunks still out will never be collected: fail their jobs now. */
        for (mpipool_job *j = e->head, *next; j; j = next) {
            next = j->next_job;
            job_finish(e, j);
        }
    }
    return any;
}

/* 1 if a large message is probably moving right now, so that sleeping
 * would stall it: a big chunk not yet fully sent, or a big result whose
 * chunk should be done by now (from the measured time per item; at once
 * while that is unknown).  Otherwise the master may sleep: its workers are
 * computing and nothing moves.  Called with e->lock held. */
static int transfer_pending(mpipool__engine *e) {
    double now = -1.0;
    for (int i = 0; i < e->nslots; i++) {
        slot *s = &e->slots[i];
        if (!s->worker || s->completed) continue;
        if (s->sbig && s->sreq != MPI_REQUEST_NULL) {
            int flag = 0;
            if (MPI_Test(&s->sreq, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS || !flag) return 1;
        }
        if (s->rbig) {
            double per = s->job->per_item;
            if (per <= 0) return 1;
            if (now < 0) now = MPI_Wtime();
            if (now >= s->t_sent + per * (double)s->count / (double)s->units) return 1;
        }
    }
    return 0;
}

/* MPI_Wtime when the next result should arrive, from the time per item:
 * the earliest chunk on a worker whose results are still out; 0 if none
 * or unknown.  Called with e->lock held, only before the master sleeps. */
static double next_due(const mpipool__engine *e) {
    double due = 0, now = MPI_Wtime();
    for (int i = 0; i < e->nslots; i++) {
        const slot *s = &e->slots[i];
        if (!s->worker || s->completed || s->job->per_item <= 0) continue;
        double took = s->job->per_item * (double)s->count / (double)s->units, t = s->t_sent + took;
        /* A chunk still out long after its time is a bad estimate (a long
         * item, a busy worker): it no longer says when to wake up.  A
         * group's chunk shares its ranks with the next one: allow as much. */
        if (mpipool__overdue(now, t, took)) continue;
        if (due == 0 || t < due) due = t;
    }
    return due;
}

static void *progress_thread(void *arg) {
    mpipool__engine *e = arg;
    mpipool__backoff bo;
    mpipool__backoff_reset(&bo);
    pthread_mutex_lock(&e->lock);
    while (!e->stop) {
        if (e->head == NULL || e->driver) {
            pthread_cond_wait(&e->wake, &e->lock);
            mpipool__backoff_reset(&bo);
            continue;
        }
        if (progress_once(e)) {
            mpipool__backoff_reset(&bo);
            continue;
        }
        int moving = transfer_pending(e);
        if (!moving) bo.due = next_due(e);
        pthread_mutex_unlock(&e->lock);
        if (moving) mpipool__yield(); /* keep it moving, but let workers on this core run */
        else mpipool__backoff_wait(&bo);
        pthread_mutex_lock(&e->lock);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* ---- the engine's public face (engine.h) -------------------------------- */

int mpipool__engine_create(mpipool *pool) {
    mpipool__engine *e = calloc(1, sizeof *e);
    if (e == NULL) return MPIPOOL_ENOMEM;
    e->pool = pool;
    e->workers = pool->size - 1;
    e->nslots = 2 * e->workers;
    if (e->nslots > 0) {
        e->slots = calloc((size_t)e->nslots, sizeof *e->slots);
        e->rreqs = calloc((size_t)e->nslots, sizeof *e->rreqs);
        e->idx = calloc((size_t)e->nslots, sizeof *e->idx);
    }
    e->inflight = calloc((size_t)pool->size, sizeof *e->inflight);
    if ((e->nslots > 0 && (!e->slots || !e->rreqs || !e->idx)) || !e->inflight) {
        free(e->slots);
        free(e->rreqs);
        free(e->idx);
        free(e->inflight);
        free(e);
        return MPIPOOL_ENOMEM;
    }
    for (int i = 0; i < e->nslots; i++) e->slots[i].sreq = e->slots[i].rreq = MPI_REQUEST_NULL;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->wake, NULL);
    pthread_cond_init(&e->done, NULL);
    pool->eng = e;
    return MPIPOOL_OK;
}

int mpipool__engine_submit(mpipool *pool, mpipool_job *j) {
    mpipool__engine *e = pool->eng;
    j->max_chunk = mpipool__plan_max_items(j->in_var || j->source ? 64 : j->in_size,
                                           j->out_var || j->source ? 64 : j->out_size,
                                           sizeof(mpipool__work_hdr), CHUNK_BYTES_CAP);
    if (j->source && j->window == 0) j->window = 65536;
    if (j->in_var || j->out_var || j->source) j->schedule = MPIPOOL_SCHEDULE_DYNAMIC;
    j->per_item = -1.0;
    j->id = pool->next_job++;
    if (j->status)
        for (size_t i = 0; i < j->n; i++) j->status[i] = MPIPOOL_ECANCELED;
    if (j->messages)
        for (size_t i = 0; i < j->n; i++) j->messages[i] = NULL;
    if (j->out_var)
        for (size_t i = 0; i < j->n; i++) ((mpipool_buf *)(void *)j->out)[i] = (mpipool_buf){NULL, 0};
    if (j->resume) mpipool__resume_apply(j); /* after the resets above */
    /* Scatterv counts and displacements are ints (in items), and no rank's
     * share may be one message larger than a piece: else go dynamic. */
    if (j->schedule == MPIPOOL_SCHEDULE_STATIC && pool->size > 1) {
        size_t w = (size_t)pool->size - 1, share = j->n / w + (j->n % w != 0);
        size_t item = j->in_size > j->out_size ? j->in_size : j->out_size;
        if (j->n > (size_t)0x7fffffff || share > pool->piece / item)
            j->schedule = MPIPOOL_SCHEDULE_DYNAMIC;
    }
    /* The hierarchy carries fixed-size dynamic maps whose items fit a
     * member's message; everything else goes to every worker directly. */
    size_t big = j->in_size > j->out_size ? j->in_size : j->out_size;
    j->group = 0;
    /* A chunk_size the caller chose is the task calls' boundaries (batch
     * tasks see them): a leader's shares would move them, so such maps go flat. */
    if (!j->in_var && !j->out_var && !j->source && j->schedule == MPIPOOL_SCHEDULE_DYNAMIC && j->user_chunk == 0 &&
        !(j->flags & MPIPOOL_MAP_FLAT) && big + sizeof(mpipool__result_hdr) + sizeof(mpipool__work_hdr) <= pool->piece &&
        mpipool__plan_hier_use((j->flags & MPIPOOL_MAP_HIERARCHY) ? MPIPOOL__HIER_ON : pool->hier, (size_t)pool->size - 1))
        j->group = pool->group;
    if (pool->size == 1 || j->n == 0) {
        mpipool__job_run_inline(j);
        return MPIPOOL_OK;
    }
    pthread_mutex_lock(&e->lock);
    if (e->broken) {
        job_error(j, MPIPOOL_EMPI, "%s: %s", j->func, e->broken_msg);
        j->finished = 1;
        pthread_mutex_unlock(&e->lock);
        return MPIPOOL_OK;
    }
    if (e->tail) e->tail->next_job = j;
    else e->head = j;
    e->tail = j;
    int rc = MPIPOOL_OK;
    if (pool->threaded && !e->thread_started) {
        if (pthread_create(&e->thread, NULL, progress_thread, e) == 0)
            e->thread_started = 1;
        /* else: progress happens in mpipool_wait/ready, as without threads */
    }
    if (e->thread_started) {
        pthread_cond_signal(&e->wake);
    } else {
        /* Start the job now, so the workers are busy before anyone waits. */
        progress_once(e);
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

int mpipool__engine_wait(mpipool_job *j, double timeout) {
    mpipool__engine *e = j->pool->eng;
    double t0 = MPI_Wtime();
    if (e == NULL || j->finished) return j->finished ? j->rc : MPIPOOL_EINVAL;
    pthread_mutex_lock(&e->lock);
    if (e->thread_started && timeout == 0) {
        /* Just look: the progress thread keeps moving things. */
    } else {
        /* Whoever waits moves the jobs itself, and the progress thread
         * stands aside meanwhile: handing every message over between two
         * threads would cost a wake-up each time. */
        mpipool__backoff bo;
        mpipool__backoff_reset(&bo);
        e->driver++;
        while (!j->finished) {
            int moved = progress_once(e);
            if (moved) mpipool__backoff_reset(&bo);
            if (j->finished || (timeout >= 0 && MPI_Wtime() - t0 >= timeout)) break;
            if (moved) continue;
            int moving = transfer_pending(e);
            if (!moving) bo.due = next_due(e);
            pthread_mutex_unlock(&e->lock);
            if (moving) mpipool__yield();
            else mpipool__backoff_wait(&bo);
            pthread_mutex_lock(&e->lock);
        }
        e->driver--;
        if (e->thread_started) pthread_cond_signal(&e->wake);
    }
    int rc = j->finished ? j->rc : MPIPOOL_ETIMEDOUT;
    pthread_mutex_unlock(&e->lock);
    return rc;
}

void mpipool__engine_cancel(mpipool_job *j) {
    mpipool__engine *e = j->pool->eng;
    if (e == NULL) {
        j->cancelled = 1;
        return;
    }
    pthread_mutex_lock(&e->lock);
    j->cancelled = 1;
    if (e->thread_started) pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
}

int mpipool__engine_finished(mpipool_job *j) {
    mpipool__engine *e = j->pool->eng;
    if (e == NULL) return j->finished;
    pthread_mutex_lock(&e->lock);
    if (!e->thread_started && !j->finished) progress_once(e);
    int f = j->finished;
    pthread_mutex_unlock(&e->lock);
    return f;
}

void mpipool__engine_destroy(mpipool *pool, int cancel) {
    mpipool__engine *e = pool->eng;
    if (e == NULL) return;
    pthread_mutex_lock(&e->lock);
    for (mpipool_job *j = e->head; cancel && j; j = j->next_job) j->cancelled = 1;
    pthread_mutex_unlock(&e->lock);
    /* Drain: every job finishes (cancelled ones as soon as their chunks
     * on the workers are back). */
    for (;;) {
        pthread_mutex_lock(&e->lock);
        mpipool_job *j = e->head;
        pthread_mutex_unlock(&e->lock);
        if (j == NULL) break;
        mpipool__engine_wait(j, -1.0);
    }
    pthread_mutex_lock(&e->lock);
    e->stop = 1;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    if (e->thread_started) pthread_join(e->thread, NULL);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    pthread_cond_destroy(&e->done);
    for (int i = 0; i < e->nslots; i++) {
        free(e->slots[i].sbuf);
        free(e->slots[i].rmsg);
        free(e->slots[i].pieces);
        free(e->slots[i].rbuf);
    }
    free(e->slots);
    free(e->rreqs);
    free(e->idx);
    free(e->inflight);
    free(e);
    pool->eng = NULL;
}
