/*
 * jobs.c — one job's bookkeeping, the same whoever runs it (dynamic chunks,
 * a static exchange, the one-rank master): failures noted, items marked
 * done, variable items taken from the caller or an imap source, and the
 * final verdict.  No MPI calls.
 *
 * Invariant: `finished` is set last, with a release store, after rc, err,
 * the outputs and the journal are final; readers load it with acquire
 * (mpipool__job_finished), so a thread that sees it set sees the rest.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "callback.h"
#include "jobs.h"
#include "observe.h"
#include "signals.h"
#include "usercall.h"

void mpipool__job_error(mpipool_job *j, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err, sizeof j->err, fmt, ap);
    va_end(ap);
    j->rc = code;
}

/* One failed item: its status, its message, and the job's first failure. */
static void note_one(mpipool_job *j, uint64_t index, int rank, int code, const char *msg, uint32_t mlen) {
    if (index >= j->n) return;
    if (j->status) j->status[index] = code;
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

static void count_failures(mpipool_job *j, uint64_t nfail) {
    j->nfail += nfail;
    if (j->on_error == MPIPOOL_ON_ERROR_STOP || (j->max_failures && j->nfail >= j->max_failures))
        j->cancelled = 1;
}

void mpipool__job_note_failures(mpipool_job *j, uint64_t nfail, uint64_t first_fail, int rank,
                          const char *recs, size_t len) {
    size_t off = 0;
    uint64_t index;
    const char *msg;
    uint32_t mlen;
    if (j->resume) mpipool__resume_note_failures(j, nfail, recs, len);
    if (nfail == 0) return;
    while (mpipool__fails_next(recs, len, &off, &index, &msg, &mlen)) note_one(j, index, rank, MPIPOOL_ETASK, msg, mlen);
    if (j->nfail_seen == 0 || first_fail < j->first_fail) {
        /* Failures whose text did not fit still count. */
        j->first_fail = first_fail;
        j->first_fail_rank = rank;
        snprintf(j->fail_msg, sizeof j->fail_msg, "(no message)");
        j->nfail_seen = 1;
    }
    count_failures(j, nfail);
}

void mpipool__job_fail_item(mpipool_job *j, uint64_t index, int rank, int code, const char *msg) {
    note_one(j, index, rank, code, msg, (uint32_t)strlen(msg));
    mpipool__ordered_put(j, index, 1, NULL, 0); /* no output will come for it */
    j->done++;
    count_failures(j, 1);
}

void mpipool__job_mark_ok(mpipool_job *j, uint64_t first, uint64_t count) {
    for (uint64_t i = 0; j->status && i < count; i++) j->status[first + i] = MPIPOOL_OK;
}

/* Ask an imap's source for item `at`: 1 with *item, or 0 when the stream
 * ends there (the source said so, or failed: the job is cancelled with
 * its words; items already taken still run and reach the sink). */
static int source_item(mpipool_job *j, size_t at, mpipool_buf *item) {
    int r = mpipool__user_next(j, at, item); /* without the engine's lock */
    if (r > 0) return 1;
    if (r < 0) {
        j->stream_rc = MPIPOOL_ECANCELED;
        snprintf(j->err, sizeof j->err, "%s: the source returned %d at item %zu", j->func, r, at);
        j->cancelled = 1;
    }
    j->n = at;
    return 0;
}

/* Take up to `count` items for a variable-size chunk starting at j->next
 * into buf (u64 sizes[count] then the items), from the caller's
 * mpipool_buf array or from the imap source.  Returns how many it took
 * (fewer when the source ends or fails), or -1 when out of memory. */
int64_t mpipool__job_take_items(mpipool_job *j, size_t count, char **buf, size_t *cap, size_t hdr, size_t *bytes) {
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
            if (!source_item(j, j->next + got, &item)) break;
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
        if (j->source == NULL && j->in_var && got + 1 < count && used > MPIPOOL__CHUNK_BYTES_CAP) {
            got++;
            break;
        }
    }
    /* Close the gap left by unused size slots. */
    if (got < count) memmove(*buf + hdr + got * 8, *buf + need, used - need);
    *bytes = used - (count - got) * 8;
    return (int64_t)got;
}

/* imap: `skip` journalled items at j->next: the source is still asked for
 * each (so it stays in step), their results come from the journal. */
static int replay(mpipool_job *j, size_t skip) {
    char err[MPIPOOL__ERR_MAX - 64];
    size_t got = 0;
    for (; got < skip; got++) {
        mpipool_buf item = {NULL, 0};
        if (!source_item(j, j->next + got, &item)) break;
    }
    if (got == 0) return 0;
    char *buf;
    const uint64_t *sizes;
    const char *data;
    int rc = mpipool__resume_read(j, j->next, got, &buf, &sizes, &data, err, sizeof err);
    if (rc != MPIPOOL_OK) {
        j->stream_rc = rc;
        snprintf(j->err, sizeof j->err, "%s: replaying item %zu: %s", j->func, j->next, err);
        j->cancelled = 1;
        j->n = j->next;
        return -1;
    }
    size_t first = j->next;
    j->next += got;
    j->done += got;
    mpipool__deliver_var(j, first, got, sizes, data, NULL, 0, 0, buf);
    return 0;
}

size_t mpipool__job_clip(mpipool_job *j, size_t count) {
    for (;;) {
        size_t skip = 0;
        int killed = 0;
        size_t c = mpipool__resume_clip(j, count, &skip, &killed);
        if (skip == 0 && !killed) return c;
        if (j->source == NULL) {
            j->next += skip; /* replayed into `out` already (resume_apply) */
            j->done += skip;
            if (!killed) return c;
            /* It ended a worker in an earlier run: it fails now, unsent,
             * under the map's error policy, and the rest goes on. */
            char msg[MPIPOOL__MSG_MAX];
            int rank = 0, code = mpipool__resume_killed(j, j->next, &rank, msg, sizeof msg);
            size_t item = j->next++;
            mpipool__job_fail_item(j, item, rank, code ? code : MPIPOOL_ETASK, msg);
            if (j->cancelled) return 0;
            continue;
        }
        if (replay(j, skip) != 0) return 0;
    }
}

/* All its chunks are back and no more will be sent: settle the result
 * (`broken`: the engine's failure, or NULL), then mark it finished — the
 * release store that lets any thread read rc, err and the outputs. */
void mpipool__job_settle(mpipool_job *j, const char *broken, int broken_code) {
    mpipool__pending_free(j);
    mpipool__ordered_flush(j);
    size_t notrun = j->redo_items;
    mpipool__redo_free(j);
    if (j->n == SIZE_MAX) j->n = j->next; /* a stream cut short */
    notrun += j->n - j->next;
    if (broken) {
        mpipool__job_error(j, broken_code ? broken_code : MPIPOOL_EMPI, "%s: %s", j->func, broken);
    } else if (j->intr) {
        char saved[MPIPOOL__ERR_MAX / 2];
        mpipool__resume_describe(j, saved, sizeof saved);
        mpipool__job_error(j, MPIPOOL_EINTR, "%s: interrupted by %s: %s; run the program again%s to resume", j->func,
                           mpipool__signal_name(j->intr), saved, j->resume ? " with the same journal" : "");
    } else if (j->stream_rc != MPIPOOL_OK) {
        j->rc = j->stream_rc; /* its message is already in j->err */
    } else if (j->nfail) {
        char tail[96] = "";
        if (notrun) snprintf(tail, sizeof tail, "; %zu items not run", notrun);
        mpipool__job_error(j, MPIPOOL_ETASK, "%s: task '%s' failed on item %llu at rank %d: %s%s%s", j->func,
                           mpipool__registry_name(j->fn_index), (unsigned long long)j->first_fail,
                           j->first_fail_rank, j->fail_msg, j->nfail > 1 ? " (and more items failed)" : "", tail);
    } else if (notrun) {
        mpipool__job_error(j, MPIPOOL_ECANCELED, "%s: job cancelled with %zu of %zu items not run", j->func,
                           notrun, j->n);
    } else {
        j->rc = MPIPOOL_OK;
        j->err[0] = '\0';
    }
    mpipool__obs_job_done(j);
    if (j->resume) mpipool__resume_finish(j);
    mpipool__callback_post(j); /* its callback runs once, on the pool's callback thread */
    atomic_store_explicit(&j->finished, 1, memory_order_release);
}

int mpipool__job_finished(const mpipool_job *j) {
    return atomic_load_explicit(&j->finished, memory_order_acquire);
}
