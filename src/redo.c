/*
 * redo.c — a job's items that a dead worker took with it (recover.c),
 * waiting to be sent again.  They go out before any item never sent, in
 * the order they were queued, so an ordered imap's oldest item is never
 * left behind.  No MPI.
 *
 * Invariants:
 *  - an entry that saw a death (it has a `why`, whether the death is
 *    certain to be its doing or not) goes out one item per chunk: if that
 *    chunk's worker dies too, the item alone is to blame;
 *  - an imap's items cannot be asked of its source twice, so its entries
 *    hold their own copy of the items; a map's are read again from `in`;
 *  - j->redo_items is the sum of the entries' counts.
 */
#include <stdlib.h>
#include <string.h>
#include "jobs.h"

int mpipool__redo_add(mpipool_job *j, uint64_t first, uint64_t count, int deaths, const char *why,
                      const char *items, uint64_t chunk_first, uint64_t chunk_count) {
    if (count == 0) return 0;
    mpipool__redo *r = calloc(1, sizeof *r);
    if (r == NULL) return -1;
    *r = (mpipool__redo){first, count, deaths, NULL, NULL, 0, 0, NULL};
    if (why && (r->why = strdup(why)) == NULL) goto oom;
    if (items) {
        /* Keep only [first, first + count) of the chunk's sizes and data. */
        const uint64_t *sizes = (const uint64_t *)(const void *)items;
        const char *data = items + chunk_count * 8;
        size_t skip = 0, len = 0;
        for (uint64_t i = chunk_first; i < first; i++) skip += sizes[i - chunk_first];
        for (uint64_t i = first; i < first + count; i++) len += sizes[i - chunk_first];
        if ((r->items = malloc(count * 8 + len + 1)) == NULL) goto oom;
        memcpy(r->items, sizes + (first - chunk_first), count * 8);
        if (len) memcpy(r->items + count * 8, data + skip, len);
    }
    if (j->redo_tail) j->redo_tail->next = r;
    else j->redo = r;
    j->redo_tail = r;
    j->redo_items += count;
    return 0;
oom:
    free(r->why);
    free(r);
    return -1;
}

size_t mpipool__redo_count(const mpipool_job *j, size_t want) {
    const mpipool__redo *r = j->redo;
    if (r == NULL) return 0;
    size_t most = r->why ? 1 : (size_t)r->count;
    return want < most ? (want ? want : 1) : most;
}

int64_t mpipool__redo_items(mpipool_job *j, size_t count, char **buf, size_t *cap, size_t hdr, size_t *bytes) {
    const mpipool__redo *r = j->redo;
    size_t len = 0, norig = (size_t)(r->count + r->taken);
    const uint64_t *sizes = r->items ? (const uint64_t *)(const void *)r->items + r->taken : NULL;
    const mpipool_buf *in = (const mpipool_buf *)(const void *)j->in;
    for (size_t i = 0; i < count; i++) len += sizes ? sizes[i] : in[r->first + i].size;
    size_t need = hdr + count * 8 + len;
    if (need > *cap) {
        char *p = realloc(*buf, need);
        if (p == NULL) return -1;
        *buf = p;
        *cap = need;
    }
    char *at = *buf + hdr + count * 8;
    for (size_t i = 0; i < count; i++) {
        uint64_t sz = sizes ? sizes[i] : in[r->first + i].size;
        memcpy(*buf + hdr + i * 8, &sz, 8);
        const char *src = sizes ? r->items + norig * 8 + r->data_off + (size_t)(at - (*buf + hdr + count * 8))
                                : (const char *)in[r->first + i].data;
        if (sz) memcpy(at, src, sz);
        at += sz;
    }
    *bytes = need;
    return (int64_t)count;
}

static void redo_drop(mpipool__redo *r) {
    free(r->why);
    free(r->items);
    free(r);
}

void mpipool__redo_sent(mpipool_job *j, size_t count) {
    mpipool__redo *r = j->redo;
    if (r->items) {
        const uint64_t *sizes = (const uint64_t *)(const void *)r->items + r->taken;
        for (size_t i = 0; i < count; i++) r->data_off += sizes[i];
    }
    r->first += count;
    r->count -= count;
    r->taken += count;
    j->redo_items -= count;
    if (r->count > 0) return;
    j->redo = r->next;
    if (j->redo == NULL) j->redo_tail = NULL;
    redo_drop(r);
}

void mpipool__redo_free(mpipool_job *j) {
    while (j->redo) {
        mpipool__redo *r = j->redo;
        j->redo = r->next;
        redo_drop(r);
    }
    j->redo_tail = NULL;
    j->redo_items = 0;
}
