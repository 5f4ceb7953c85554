/*
 * fails.c — the record buffers that travel with a chunk's result: failure
 * records (item index, length, message) and captured task output
 * (capture.c).  A leaf: used by exec.c and capture.c, calls nothing of
 * ours.  No MPI.
 *
 * Invariant: a buffer never holds more than MPIPOOL__FAILS_MAX bytes of
 * failure records; past that, failures are counted without their text.
 */
#include <stdlib.h>
#include <string.h>
#include "exec.h"

void mpipool__fails_reset(mpipool__fails *f) {
    f->len = 0;
    f->nfail = 0;
    f->first_fail = 0;
}

void mpipool__fails_free(mpipool__fails *f) {
    free(f->p);
    memset(f, 0, sizeof *f);
}

int mpipool__fails_reserve(mpipool__fails *f, size_t need) {
    if (need <= f->cap) return 0;
    size_t ncap = f->cap ? f->cap : 1024;
    while (ncap < need) ncap *= 2;
    char *p = realloc(f->p, ncap);
    if (p == NULL) return -1;
    f->p = p;
    f->cap = ncap;
    return 0;
}

void mpipool__fails_add(mpipool__fails *f, uint64_t index, const char *msg) {
    uint32_t mlen = (uint32_t)strlen(msg);
    if (f->nfail++ == 0) f->first_fail = index;
    if (f->len + 12 + mlen > MPIPOOL__FAILS_MAX) mlen = 0;
    if (f->len + 12 + mlen > MPIPOOL__FAILS_MAX) return; /* counted, not described */
    if (mpipool__fails_reserve(f, f->len + 12 + mlen) != 0) return;
    memcpy(f->p + f->len, &index, 8);
    memcpy(f->p + f->len + 8, &mlen, 4);
    memcpy(f->p + f->len + 12, msg, mlen);
    f->len += 12 + mlen;
}

