/*
 * ordered.c — the master's side of MPIPOOL_MAP_ORDERED_OUTPUT: what tasks
 * wrote (capture.c, sent back with each chunk) is printed on the master's
 * stdout and stderr in item order, as GNU parallel -k does: a chunk's text
 * waits until every item before it is back.  No MPI.
 *
 * Invariants: each item's text is printed once, after all text of the
 * items before it; what is still waiting when the job ends (items that
 * never came back) is printed then, in item order.  The list holds only
 * chunks that came back early: at most the chunks out at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jobs.h"

typedef struct mpipool__outq {
    uint64_t first, count;
    char *buf;           /* records: u64 index, u32 length, stream byte, bytes */
    size_t len;
    struct mpipool__outq *next;
} outq;

static void print_records(const char *p, size_t len) {
    size_t off = 0;
    while (len - off >= 13) {
        uint32_t n;
        memcpy(&n, p + off + 8, 4);
        if (n == 0 || n - 1 > len - off - 13) break;
        FILE *f = p[off + 12] == 2 ? stderr : stdout;
        fwrite(p + off + 13, 1, n - 1, f);
        off += 12 + n;
    }
    fflush(stdout);
    fflush(stderr);
}

static void drop(outq *q) {
    free(q->buf);
    free(q);
}

void mpipool__ordered_put(mpipool_job *j, uint64_t first, uint64_t count, char *buf, size_t len) {
    if (!j->capture) {
        free(buf);
        return;
    }
    outq *q = malloc(sizeof *q);
    if (q == NULL) {
        /* No room to wait: print now, out of order rather than lost. */
        print_records(buf, len);
        free(buf);
        return;
    }
    *q = (outq){first, count, buf, len, NULL};
    outq **at = &j->outq;
    while (*at && (*at)->first < first) at = &(*at)->next;
    q->next = *at;
    *at = q;
    while (j->outq && j->outq->first == j->printed) {
        outq *h = j->outq;
        j->outq = h->next;
        print_records(h->buf, h->len);
        j->printed += h->count;
        drop(h);
    }
}

void mpipool__ordered_flush(mpipool_job *j) {
    while (j->outq) {
        outq *h = j->outq;
        j->outq = h->next;
        print_records(h->buf, h->len);
        drop(h);
    }
}
