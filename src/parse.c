/*
 * parse.c — checks of bytes that come from outside this process: the
 * MPIPOOL_PIECE_BYTES environment variable, the layout of a chunk a worker
 * received, and the failure records in a result.  No MPI: each is a pure
 * function of its input, so tests/fuzz/ can throw arbitrary bytes at it.
 *
 * Invariant: none of these reads outside [p, p + len) of what it is given,
 * whatever the bytes say, and each either accepts with pointers that lie
 * inside that range or refuses.
 */
#include <string.h>
#include "pure.h"
#include "wire.h"

int mpipool__piece_parse(const char *value, size_t *piece) {
    *piece = MPIPOOL__DEFAULT_PIECE;
    if (value == NULL || *value == '\0') return MPIPOOL_OK;
    unsigned long long v = 0;
    for (const char *p = value; *p; p++) {
        if (*p < '0' || *p > '9') return MPIPOOL_EINVAL;
        /* Digits only: a number too large for us is clamped, not refused. */
        if (v <= MPIPOOL__DEFAULT_PIECE) v = v * 10 + (unsigned long long)(*p - '0');
    }
    if (v < MPIPOOL__MIN_PIECE) v = MPIPOOL__MIN_PIECE;
    if (v > MPIPOOL__DEFAULT_PIECE) v = MPIPOOL__DEFAULT_PIECE;
    *piece = (size_t)v;
    return MPIPOOL_OK;
}

int mpipool__chunk_layout(const mpipool__work_hdr *h, const char *msg, size_t got,
                          const uint64_t **sizes, const char **data) {
    size_t off = sizeof *h;
    *sizes = NULL;
    *data = NULL;
    if (got < off) return -1;
    size_t room = got - off;
    if (h->in_size == MPIPOOL__VAR) {
        if (h->count > room / 8) return -1;
        *sizes = (const uint64_t *)(const void *)(msg + off);
        off += (size_t)h->count * 8;
        room = got - off;
        uint64_t total = 0;
        for (uint64_t i = 0; i < h->count; i++) {
            if ((*sizes)[i] > room - total) return -1; /* also keeps total from wrapping */
            total += (*sizes)[i];
        }
        if (total != room) return -1;
    } else if (h->count > 0) {
        /* Divide, never multiply: count * in_size may wrap to exactly `room`. */
        if (h->in_size == 0 ? room != 0 : room % h->in_size != 0 || room / h->in_size != h->count) return -1;
    }
    *data = msg + off;
    return 0;
}

int mpipool__fails_next(const char *p, size_t len, size_t *off, uint64_t *index,
                        const char **msg, uint32_t *mlen) {
    if (p == NULL || *off > len || len - *off < 12) return 0;
    memcpy(index, p + *off, 8);
    memcpy(mlen, p + *off + 8, 4);
    if (*mlen > len - *off - 12) return 0;
    *msg = p + *off + 12;
    *off += 12 + *mlen;
    return 1;
}
