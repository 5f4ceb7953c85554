/*
 * stream.c — where variable-size results go: into the caller's
 * mpipool_buf array (mpipool_map with MPIPOOL_VARIABLE), or to an imap
 * sink, in input order through a reorder list or as they come.
 *
 * Invariant (ordered imap): `delivered` items have reached the sink, in
 * order (and `emitted`, the window's base, follows it, except for a pull
 * imap, whose reader moves it: imap_pull.c); a chunk that arrives early waits in `pending` (sorted by first
 * item) holding its own receive buffer, and the engine never takes an item
 * from the source more than `window` items past `emitted`, so the pending
 * list is bounded by the window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "usercall.h"

struct mpipool__pending {
    uint64_t first, count;
    const uint64_t *sizes;
    const char *data, *fails;
    size_t fail_bytes;
    int rank;
    char *owner;
    struct mpipool__pending *next;
};

static void put_items(mpipool_job *j, uint64_t first, uint64_t count, const uint64_t *sizes,
                      const char *data, const char *fails, size_t fail_bytes) {
    size_t off = 0;
    uint64_t fidx = UINT64_MAX;
    const char *fmsg = NULL;
    uint32_t flen = 0;
    if (!mpipool__fails_next(fails, fail_bytes, &off, &fidx, &fmsg, &flen)) fidx = UINT64_MAX;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t idx = first + i;
        size_t size = (size_t)sizes[i];
        int status = MPIPOOL_OK;
        char msg[MPIPOOL__MSG_MAX];
        /* Records come in item order; skip any for earlier items. */
        while (fidx < idx && mpipool__fails_next(fails, fail_bytes, &off, &fidx, &fmsg, &flen)) {}
        if (fidx < idx) fidx = UINT64_MAX;
        if (fidx == idx) {
            status = MPIPOOL_ETASK;
            snprintf(msg, sizeof msg, "%.*s", (int)flen, fmsg);
        }
        if (j->sink) {
            if (!j->sink_stopped &&
                mpipool__user_put(j, (size_t)idx, data, size, status, status ? msg : NULL) != 0) {
                j->sink_stopped = 1;
                j->stream_rc = MPIPOOL_ECANCELED;
                snprintf(j->err, sizeof j->err, "%s: the sink asked to stop at item %llu", j->func,
                         (unsigned long long)idx);
                j->cancelled = 1;
            }
        } else if (j->out_var) {
            mpipool_buf *o = (mpipool_buf *)(void *)j->out + idx;
            o->data = NULL;
            o->size = 0;
            if (size > 0 && (o->data = malloc(size)) != NULL) {
                memcpy(o->data, data, size);
                o->size = size;
            } else if (size > 0 && j->stream_rc == MPIPOOL_OK) {
                j->stream_rc = MPIPOOL_ENOMEM;
                snprintf(j->err, sizeof j->err, "%s: out of memory for the %zu-byte result of item %llu",
                         j->func, size, (unsigned long long)idx);
            }
        }
        data += size;
    }
}

void mpipool__deliver_var(mpipool_job *j, uint64_t first, uint64_t count, const uint64_t *sizes,
                          const char *data, const char *fails, size_t fail_bytes, int rank,
                          char *owner) {
    /* A pull imap "as completed" is an ordered stream to the engine (its
     * window), but its results go to the reader as they come. */
    int in_order = j->sink && !j->unordered && j->pull != 2;
    if (in_order && first != j->delivered) {
        struct mpipool__pending *p = malloc(sizeof *p), **pp = &j->pending;
        if (p == NULL) {
            /* Cannot hold it for later, and delivering it out of order would
             * break the promise of order (and never advance `emitted`, so the
             * window would stay shut): the stream stops with ENOMEM.  Its
             * results are journalled already (record_stream comes first), so
             * a resumed run loses none of them. */
            if (j->stream_rc == MPIPOOL_OK) {
                j->stream_rc = MPIPOOL_ENOMEM;
                snprintf(j->err, sizeof j->err, "%s: out of memory holding the results of items %llu+%llu until "
                         "item %zu arrives; the stream stops", j->func, (unsigned long long)first,
                         (unsigned long long)count, j->delivered);
            }
            j->cancelled = 1;
            free(owner);
            return;
        }
        *p = (struct mpipool__pending){first, count, sizes, data, fails, fail_bytes, rank, owner, NULL};
        while (*pp && (*pp)->first < first) pp = &(*pp)->next;
        p->next = *pp;
        *pp = p;
        return;
    }
    put_items(j, first, count, sizes, data, fails, fail_bytes);
    free(owner);
    if (in_order) {
        j->delivered += count;
        while (j->pending && j->pending->first == j->delivered) {
            struct mpipool__pending *p = j->pending;
            j->pending = p->next;
            put_items(j, p->first, p->count, p->sizes, p->data, p->fails, p->fail_bytes);
            j->delivered += p->count;
            free(p->owner);
            free(p);
        }
        if (!j->pull) j->emitted = j->delivered;
    }
}

void mpipool__pending_free(mpipool_job *j) {
    while (j->pending) {
        struct mpipool__pending *p = j->pending;
        j->pending = p->next;
        free(p->owner);
        free(p);
    }
}
