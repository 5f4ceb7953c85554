/*
 * fails.c — the record buffers that travel with a chunk's result: failure
 * records (item index, length, message) and captured task output
 * (capture.c).  A leaf: used by exec.c and capture.c, calls nothing of
 * ours.  No MPI.
 *
 * Invariant: a buffer never holds more than MPIPOOL__FAILS_MAX bytes of
 * failure records; past that, failures are counted without their text.
 */
#include <stdint.h>
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

int mpipool__grow(char **p, size_t *cap, size_t need, size_t first) {
    if (need <= *cap) return 0;
    if (need > SIZE_MAX / 2) return -1; /* doubling would wrap */
    size_t ncap = *cap ? *cap : first;
    while (ncap < need) ncap *= 2;
    char *q = realloc(*p, ncap);
    if (q == NULL) return -1;
    *p = q;
    *cap = ncap;
    return 0;
}

int mpipool__fails_reserve(mpipool__fails *f, size_t need) { return mpipool__grow(&f->p, &f->cap, need, 1024); }

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

